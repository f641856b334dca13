"""SAM-driven MAE (METHOD.md, stage 2): which patches stay visible, and the reconstruction loss (Eq. 3).

SAM-driven masking keeps a random ``gamma`` of each image's *vehicle* patches visible and masks every other
patch, background included; the baseline keeps a random fraction of all patches (plain MAE). Images keep
different numbers of tokens, so visible tokens are padded to the batch maximum and the padding is masked
out of attention (``keep_pad``).
"""

from __future__ import annotations

import torch
from torch import nn

from models.reid.config import ModelConfig
from models.reid.vit import MaeDecoder, VitEncoder

# Per-patch normalisation of the targets (norm_pix_loss) divides by sqrt(var + this).
NORM_PIX_EPS = 1e-6


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, 3, H, W) -> (B, N, P*P*3) in raster patch order, pixels of a patch in (row, col, channel) order."""
    b, c, h, w = images.shape
    x = images.reshape(b, c, h // patch, patch, w // patch, patch)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(b, (h // patch) * (w // patch), patch * patch * c)


def unpatchify(patches: torch.Tensor, patch: int, grid: tuple[int, int]) -> torch.Tensor:
    """(B, N, P*P*3) -> (B, 3, H, W); the inverse of ``patchify``."""
    b = patches.shape[0]
    gh, gw = grid
    x = patches.reshape(b, gh, gw, patch, patch, 3).permute(0, 5, 1, 3, 2, 4)
    return x.reshape(b, 3, gh * patch, gw * patch)


def choose_visible(
    candidates: torch.Tensor, ratio: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw the visible patches of each image among its candidates.

    candidates: (B, N) bool, True = may stay visible (vehicle patches for SAM-driven masking, all patches
    for random masking). Each image keeps max(1, round(ratio * its candidate count)) of them, uniformly at
    random. An image with no candidate (the segmenter found no vehicle) draws from all its patches instead,
    since masking everything would leave the encoder nothing to see.
    Returns keep (B, L) long patch indices and keep_pad (B, L) bool, True = padding; L = the batch maximum.
    """
    candidates = candidates.clone()
    candidates[~candidates.any(dim=1)] = True
    counts = candidates.sum(dim=1)
    n_keep = torch.clamp(torch.round(ratio * counts.float()).long(), min=1)
    noise = torch.rand(candidates.shape, generator=generator, device=candidates.device)
    # Non-candidates sort after every candidate (noise lies in [0, 1)).
    order = torch.argsort(noise + (~candidates).float() * 2.0, dim=1)
    width = int(n_keep.max())
    keep = order[:, :width]
    keep_pad = torch.arange(width, device=candidates.device)[None, :] >= n_keep[:, None]
    return keep, keep_pad


def visible_mask(keep: torch.Tensor, keep_pad: torch.Tensor, n_patches: int) -> torch.Tensor:
    """(B, L) keep indices + padding -> (B, N) bool, True = the patch was visible to the encoder."""
    visible = torch.zeros(keep.shape[0], n_patches + 1, dtype=torch.bool, device=keep.device)
    visible.scatter_(1, keep.masked_fill(keep_pad, n_patches), True)
    return visible[:, :n_patches]


def reconstruction_loss(
    pred: torch.Tensor, target: torch.Tensor, visible: torch.Tensor, loss_on: str, norm_pix: bool
) -> torch.Tensor:
    """Mean squared error per pixel (Eq. 3).

    pred, target: (B, N, P*P*3) patch pixels; visible: (B, N) bool. ``loss_on='all'`` averages over every
    pixel (Eq. 3 as written); ``'masked'`` only over masked patches (the MAE paper's choice).
    """
    if norm_pix:
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)
        target = (target - mean) / (var + NORM_PIX_EPS).sqrt()
    per_patch = ((pred - target) ** 2).mean(dim=-1)
    if loss_on == "all":
        return per_patch.mean()
    weight = (~visible).float()
    return (per_patch * weight).sum() / weight.sum().clamp(min=1.0)


class MaskedAutoencoder(nn.Module):
    """Encoder + decoder. ``forward(images (B,3,H,W), keep, keep_pad)`` -> predicted patches (B, N, P*P*3)."""

    def __init__(self, cfg: ModelConfig, image_size: tuple[int, int]) -> None:
        super().__init__()
        self.encoder = VitEncoder(cfg, image_size)
        self.decoder = MaeDecoder(cfg, image_size)

    def forward(self, images: torch.Tensor, keep: torch.Tensor, keep_pad: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(images, keep, keep_pad), keep, keep_pad)
