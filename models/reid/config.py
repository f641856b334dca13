"""Typed configuration of Re-ID training (METHOD.md), loaded from ``models/reid/configs/reid.yaml``.

Every stage (segment, pretrain, train, eval) reads one ``ReidConfig``. Scaling to a GPU and a real data set
(VeRi-776) is a matter of config alone: ``device``, ``data.image_size``, ``model.*``, batch sizes. ``--smoke``
applies ``configs/smoke.yaml`` on top, so every stage runs in seconds in tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal, Self

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from export.config import ComponentConfig, ConfigError, load_layered

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
SMOKE_FILE = CONFIG_DIR / "smoke.yaml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Section):
    """Input size, normalisation and training augmentations (comments on each key in reid.yaml)."""

    image_size: tuple[int, int] = Field(description="(height, width) px every crop is resized to")
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    flip_p: float = Field(ge=0, le=1)
    pad_px: int = Field(ge=0)
    erase_p: float = Field(ge=0, le=1)
    max_train_images: int = Field(ge=0)
    train_splits: tuple[Literal["train", "gallery"], ...] = Field(min_length=1)


class ModelConfig(_Section):
    """ViT encoder and MAE decoder sizes."""

    patch: int = Field(ge=2)
    width: int = Field(ge=8)
    depth: int = Field(ge=1)
    heads: int = Field(ge=1)
    mlp_ratio: float = Field(gt=0)
    decoder_width: int = Field(ge=8)
    decoder_depth: int = Field(ge=1)
    decoder_heads: int = Field(ge=1)
    pool: Literal["cls", "mean"]

    @model_validator(mode="after")
    def _heads_divide_width(self) -> Self:
        for width, heads, name in (
            (self.width, self.heads, ""),
            (self.decoder_width, self.decoder_heads, "decoder_"),
        ):
            if width % heads:
                raise ValueError(f"{name}width {width} is not divisible by {name}heads {heads}")
        return self


class SegmentConfig(_Section):
    """Stage 1: which segmenter gives the vehicle prior, and what the refinement compares."""

    segmenter: Literal["grabcut", "sam", "mobile_sam"]
    checkpoint: Path | None
    model_type: Literal["vit_b", "vit_l", "vit_h"]
    grabcut_iterations: int = Field(ge=1)
    prompt_shrink: float = Field(ge=0, lt=0.5)
    refine_features: Literal["pixels", "encoder"]
    encoder_checkpoint: Path | None


class PretrainConfig(_Section):
    """Stage 2: MAE pre-training."""

    masking: Literal["sam", "random"]
    visible_ratio: float = Field(gt=0, le=1)
    loss_on: Literal["all", "masked"]
    norm_pix_loss: bool
    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=2)
    lr: float = Field(gt=0)
    weight_decay: float = Field(ge=0)
    warmup_epochs: int = Field(ge=0)
    flip_p: float = Field(ge=0, le=1)


class ClusterConfig(_Section):
    """DBSCAN pseudo-labels, re-computed every epoch."""

    distance: Literal["jaccard", "cosine"]
    eps: float = Field(gt=0)
    min_samples: int = Field(ge=2)
    k1: int = Field(ge=2)
    k2: int = Field(ge=1)
    camera_centre: bool


class TrainConfig(_Section):
    """Stage 3: pseudo-label training with background-aware meta-learning."""

    meta: bool
    epochs: int = Field(ge=1)
    iters_per_epoch: int = Field(ge=1)
    p: int = Field(ge=2)
    k: int = Field(ge=2)
    lr: float = Field(gt=0)
    weight_decay: float = Field(ge=0)
    inner_lr: float = Field(gt=0)
    margin: float = Field(gt=0)
    label_smoothing: float = Field(ge=0, lt=1)
    bins: int = Field(ge=2)
    eval_every: int = Field(ge=0)
    cluster: ClusterConfig


class EvalConfig(_Section):
    batch_size: int = Field(ge=1)


class ReidConfig(ComponentConfig):
    """The whole Re-ID training configuration."""

    config_dir: ClassVar[Path] = CONFIG_DIR
    default_file: ClassVar[str] = "reid.yaml"

    device: str
    seed: int
    data: DataConfig
    model: ModelConfig
    segment: SegmentConfig
    pretrain: PretrainConfig
    train: TrainConfig
    eval: EvalConfig

    @model_validator(mode="after")
    def _patches_tile_image(self) -> Self:
        h, w = self.data.image_size
        if h % self.model.patch or w % self.model.patch:
            raise ValueError(f"data.image_size {h}x{w} is not a multiple of model.patch {self.model.patch}")
        return self

    def torch_device(self) -> torch.device:
        """``device`` as a torch device; ConfigError when it names hardware this machine does not have."""
        try:
            device = torch.device(self.device)
        except RuntimeError:
            raise ConfigError(
                f"device {self.device!r} is not a torch device; use cpu, cuda or cuda:N"
            ) from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(f"device {self.device!r} asked for, but no CUDA GPU is visible; use device=cpu")
        return device

    @property
    def grid(self) -> tuple[int, int]:
        """Patch grid (rows, columns)."""
        h, w = self.data.image_size
        return h // self.model.patch, w // self.model.patch


def load_reid_config(
    path: str | Path | None = None, overrides: list[str] | None = None, smoke: bool = False
) -> ReidConfig:
    """The config at ``path`` (default: the shipped reid.yaml), then ``smoke.yaml`` if asked, then
    ``overrides`` (``dotted.key=value``). Raises ConfigError naming the file and the bad key."""
    return load_layered(ReidConfig, path, (SMOKE_FILE,) if smoke else (), overrides)


__all__ = ["ConfigError", "ReidConfig", "load_reid_config"]
