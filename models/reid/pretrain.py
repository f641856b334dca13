"""MAE pre-training of the Re-ID encoder (METHOD.md, stage 2), SAM-driven or with random masking.

Input: the training crops as one uint8 image bank (N, 3, H, W) and, for SAM-driven masking, the refined
vehicle patch masks (N, gh*gw) from stage 1. Output: a checkpoint with encoder + decoder, the loss curve and
a reconstruction grid as PNG, and a JSON summary.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from models.reid.augment import normalise
from models.reid.checkpoint import save_checkpoint
from models.reid.config import ReidConfig
from models.reid.mae import (
    MaskedAutoencoder,
    choose_visible,
    patchify,
    reconstruction_loss,
    unpatchify,
    visible_mask,
)
from models.reid.plots import plot_curves, plot_reconstructions

# Images shown in the reconstruction grid.
GRID_IMAGES = 8
ADAM_BETAS = (0.9, 0.95)  # MAE's choice: a shorter second-moment memory suits the noisy pixel loss


@dataclass(frozen=True)
class PretrainResult:
    checkpoint: Path
    masking: str
    epoch_losses: list[float]
    seconds: float
    n_images: int


def lr_at(step: int, total: int, warmup: int, peak: float) -> float:
    """Linear warm-up over ``warmup`` steps, then half-cosine decay to zero at ``total``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1.0 + math.cos(math.pi * progress))


def _flip(images: torch.Tensor, vehicle: torch.Tensor, grid: tuple[int, int], flip: torch.Tensor):
    """Mirror the chosen images and their patch masks together, so a mask stays on its vehicle."""
    images = torch.where(flip[:, None, None, None], images.flip(-1), images)
    grid_mask = vehicle.view(-1, *grid)
    vehicle = torch.where(flip[:, None, None], grid_mask.flip(-1), grid_mask).reshape(vehicle.shape)
    return images, vehicle


def pretrain_mae(
    cfg: ReidConfig,
    bank: torch.Tensor,
    vehicle: torch.Tensor | None,
    out_dir: Path,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> PretrainResult:
    """Pre-train an encoder by masked reconstruction.

    bank: (N, 3, H, W) uint8 RGB crops at cfg.data.image_size; vehicle: (N, gh*gw) bool refined vehicle
    patch masks, required when cfg.pretrain.masking == 'sam'. Writes ``pretrain.pt``, ``pretrain_loss.png``,
    ``reconstructions.png`` and ``pretrain.json`` under ``out_dir``.
    """
    pc = cfg.pretrain
    if pc.masking == "sam" and vehicle is None:
        raise ValueError("SAM-driven masking needs the vehicle patch masks; run crosscam reid segment first")
    device = cfg.torch_device()
    torch.manual_seed(cfg.seed)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    n_images = bank.shape[0]
    n_patches = cfg.grid[0] * cfg.grid[1]
    if vehicle is None:
        vehicle = torch.ones(n_images, n_patches, dtype=torch.bool)
    bank, vehicle = bank.to(device), vehicle.to(device)

    model = MaskedAutoencoder(cfg.model, cfg.data.image_size).to(device)
    optim = torch.optim.AdamW(model.parameters(), lr=pc.lr, betas=ADAM_BETAS, weight_decay=pc.weight_decay)
    steps_per_epoch = math.ceil(n_images / pc.batch_size)
    total, warmup = pc.epochs * steps_per_epoch, pc.warmup_epochs * steps_per_epoch
    epoch_losses: list[float] = []
    start, step = time.perf_counter(), 0
    bar = tqdm(total=total, desc=f"pretrain ({pc.masking} masking)", disable=not progress, unit="step")
    model.train()
    for _epoch in range(pc.epochs):
        order = torch.randperm(n_images, generator=gen, device=device)
        running, seen = 0.0, 0
        for first in range(0, n_images, pc.batch_size):
            idx = order[first : first + pc.batch_size]
            flip = torch.rand(len(idx), generator=gen, device=device) < pc.flip_p
            crops, veh = _flip(bank[idx], vehicle[idx], cfg.grid, flip)
            candidates = veh if pc.masking == "sam" else torch.ones_like(veh)
            keep, keep_pad = choose_visible(candidates, pc.visible_ratio, gen)
            images = normalise(crops, cfg.data.mean, cfg.data.std)
            pred = model(images, keep, keep_pad)
            loss = reconstruction_loss(
                pred,
                patchify(images, cfg.model.patch),
                visible_mask(keep, keep_pad, n_patches),
                pc.loss_on,
                pc.norm_pix_loss,
            )
            for group in optim.param_groups:
                group["lr"] = lr_at(step, total, warmup, pc.lr)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            step += 1
            running += loss.item() * len(idx)
            seen += len(idx)
            bar.update(1)
            bar.set_postfix(loss=f"{running / seen:.4f}")
        epoch_losses.append(running / seen)
    bar.close()
    seconds = time.perf_counter() - start

    out_dir.mkdir(parents=True, exist_ok=True)
    info = {"masking": pc.masking, "epoch_losses": epoch_losses, "seconds": seconds, "n_images": n_images}
    ckpt = save_checkpoint(
        out_dir / "pretrain.pt",
        cfg,
        "pretrain",
        {"encoder": model.encoder.state_dict(), "decoder": model.decoder.state_dict()},
        {**info, "config": cfg.model_dump(mode="json")},
    )
    plot_curves(
        out_dir / "pretrain_loss.png", {"MSE": epoch_losses}, "epoch", f"MAE pre-training ({pc.masking})"
    )
    _save_grid(cfg, model, bank, vehicle, out_dir / "reconstructions.png", gen)
    result = PretrainResult(ckpt, pc.masking, epoch_losses, seconds, n_images)
    (out_dir / "pretrain.json").write_text(json.dumps(asdict(result), indent=2, default=str))
    log(
        f"pre-trained {pc.masking}-masking MAE on {n_images} crops in {seconds:.0f} s: loss {epoch_losses[-1]:.4f}"
    )
    return result


@torch.no_grad()
def _save_grid(
    cfg: ReidConfig,
    model: MaskedAutoencoder,
    bank: torch.Tensor,
    vehicle: torch.Tensor,
    path: Path,
    gen: torch.Generator,
) -> Path:
    model.eval()
    pick = torch.linspace(0, bank.shape[0] - 1, min(GRID_IMAGES, bank.shape[0])).long().to(bank.device)
    crops = bank[pick]
    unit = crops.float() / 255.0
    candidates = vehicle[pick] if cfg.pretrain.masking == "sam" else torch.ones_like(vehicle[pick])
    keep, keep_pad = choose_visible(candidates, cfg.pretrain.visible_ratio, gen)
    images = normalise(crops, cfg.data.mean, cfg.data.std)
    pred = model(images, keep, keep_pad)
    if cfg.pretrain.norm_pix_loss:
        # Predictions are in per-patch normalised units; show them with the true patch statistics.
        target = patchify(images, cfg.model.patch)
        pred = pred * (target.var(-1, keepdim=True) + 1e-6).sqrt() + target.mean(-1, keepdim=True)
    std = torch.tensor(cfg.data.std, device=unit.device).view(1, 3, 1, 1)
    mean = torch.tensor(cfg.data.mean, device=unit.device).view(1, 3, 1, 1)
    recon = unpatchify(pred, cfg.model.patch, cfg.grid) * std + mean
    visible = visible_mask(keep, keep_pad, cfg.grid[0] * cfg.grid[1])
    title = f"MAE reconstructions ({cfg.pretrain.masking} masking, {cfg.pretrain.visible_ratio:.0%} visible)"
    return plot_reconstructions(path, unit, visible, recon, cfg.model.patch, title)
