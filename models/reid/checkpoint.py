"""Re-ID checkpoints: one ``.pt`` file holding the config it was trained with and the weights of each part.

Parts: ``encoder`` (always), ``neck`` (after Re-ID training), ``decoder`` (after MAE pre-training). The file
is read with ``weights_only=True``: a checkpoint is data, never code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from models.reid.config import DataConfig, ModelConfig, ReidConfig
from models.reid.vit import ReidNet

FORMAT = "crosscam-reid"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class ReidCheckpoint:
    """What a checkpoint file holds. ``states``: part name -> state dict."""

    model: ModelConfig
    data: DataConfig
    stage: str
    states: dict[str, dict[str, torch.Tensor]]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def image_size(self) -> tuple[int, int]:
        return self.data.image_size

    def build_net(self) -> ReidNet:
        """The Re-ID network with this checkpoint's encoder (and neck, when trained), in eval mode."""
        net = ReidNet(self.model, self.image_size)
        net.encoder.load_state_dict(self.states["encoder"])
        if "neck" in self.states:
            net.neck.load_state_dict(self.states["neck"])
        return net.eval()


def save_checkpoint(
    path: Path, cfg: ReidConfig, stage: str, states: dict[str, dict[str, torch.Tensor]], info: dict[str, Any]
) -> Path:
    """Write a checkpoint (tensors moved to the CPU so it loads anywhere)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "stage": stage,
        "model": cfg.model.model_dump(mode="json"),
        "data": cfg.data.model_dump(mode="json"),
        "states": {part: {k: v.detach().cpu() for k, v in sd.items()} for part, sd in states.items()},
        "info": json.loads(json.dumps(info, default=str)),
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(path: str | Path) -> ReidCheckpoint:
    """Read and validate a checkpoint; CheckpointError names the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such Re-ID checkpoint; pass the .pt written by crosscam reid")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise CheckpointError(
            f"{path}: not a readable checkpoint ({type(exc).__name__}); re-create it"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a crosscam Re-ID checkpoint (no '{FORMAT}' header)")
    if payload.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: checkpoint version {payload.get('version')}, this code reads {VERSION}"
        )
    try:
        ckpt = ReidCheckpoint(
            model=ModelConfig.model_validate(payload["model"]),
            data=DataConfig.model_validate(payload["data"]),
            stage=str(payload["stage"]),
            states=payload["states"],
            info=payload.get("info", {}),
        )
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: damaged checkpoint ({exc}); re-create it") from None
    if "encoder" not in ckpt.states:
        raise CheckpointError(f"{path}: checkpoint has no encoder weights")
    return ckpt


def check_compatible(ckpt: ReidCheckpoint, cfg: ReidConfig, path: Path) -> None:
    """The config's model and image size must be the checkpoint's, or its weights cannot be loaded."""
    if ckpt.model != cfg.model:
        diff = {
            k: (v, getattr(cfg.model, k))
            for k, v in ckpt.model.model_dump().items()
            if getattr(cfg.model, k) != v
        }
        raise CheckpointError(
            f"{path}: trained with model {diff} (checkpoint, config); set the config's model keys to match"
        )
    if ckpt.image_size != cfg.data.image_size:
        raise CheckpointError(
            f"{path}: trained at image_size {list(ckpt.image_size)}, config has {list(cfg.data.image_size)}; "
            "set data.image_size to match"
        )
