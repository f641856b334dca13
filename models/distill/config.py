"""Typed configuration of the detector's distillation onto real footage (``models/distill/configs/distill.yaml``
holds the defaults and explains every key; ``smoke.yaml`` shrinks every step for tests)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from export.config import ComponentConfig, ConfigError, load_layered

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
SMOKE_FILE = CONFIG_DIR / "smoke.yaml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TeacherConfig(_Section):
    """How the teacher looks at a frame: whole, and cut into overlapping tiles."""

    vehicle_classes: list[str] = Field(
        min_length=1, description="The teacher's class names that are vehicles."
    )
    imgsz: int = Field(ge=32, le=4096, description="Teacher inference size (px).")
    tiles: int = Field(
        ge=1, le=6, description="Tiles per side besides the whole frame (1: whole frame only)."
    )
    tile_overlap: float = Field(ge=0, lt=0.9, description="Fraction of a tile shared with its neighbour.")
    min_confidence: float = Field(gt=0, lt=1, description="Teacher boxes below this are never considered.")
    iou: float = Field(gt=0, le=1, description="Non-maximum suppression IoU.")
    max_detections: int = Field(ge=1, description="At most this many boxes per frame.")
    merge_riders: bool = Field(description="A person riding a two-wheeler joins its box.")


class SamplingConfig(_Section):
    """Which frames of a clip become training images, and which the teacher also sees around them."""

    keyframe_every_s: float = Field(gt=0, description="Seconds between training images of a clip.")
    max_keyframes: int = Field(ge=1, description="Training images per clip at most.")
    min_keyframes: int = Field(ge=1, description="Training images per clip at least (closer together).")
    neighbour_offset_s: float = Field(
        gt=0, description="Seconds before and after a keyframe the teacher looks."
    )
    val_fraction: float = Field(ge=0, lt=1, description="Last fraction of each clip kept for validation.")
    repeat_threshold: float = Field(ge=0, le=1, description="Vehicle types rarer than this are repeated.")


class CleaningConfig(_Section):
    """What video gives for free: temporal support, and the fixed camera."""

    sure_confidence: float = Field(gt=0, le=1, description="A box this confident is kept on its own.")
    min_support: int = Field(ge=0, le=2, description="Neighbour frames that must confirm a less sure box.")
    link_max_shift: float = Field(
        gt=0, description="Max centre shift to a neighbour's box, in box diagonals."
    )
    link_max_scale: float = Field(ge=1, description="Max width and height ratio to a neighbour's box.")
    static_iou: float = Field(
        gt=0, le=1, description="IoU at which a box is 'the same place' in another keyframe."
    )
    static_fraction: float = Field(gt=0, le=1, description="Fraction of keyframes a static box is found in.")
    static_min_clip_s: float = Field(ge=0, description="Shortest clip (s) the static rule applies to.")
    static_confidence: float = Field(gt=0, le=1, description="Mean confidence a static box needs to be kept.")
    static_unsure_confidence: float = Field(
        gt=0, le=1, description="Static boxes above this are painted out."
    )
    min_box_px: float = Field(ge=0, description="Boxes narrower or lower than this (px) are dropped.")
    max_box_fraction: float = Field(gt=0, le=1, description="Boxes covering more of the frame are dropped.")
    max_nested_fraction: float = Field(
        gt=0, le=1, description="A box this much inside a surer one is dropped."
    )


class MotionConfig(_Section):
    """The fixed camera's other gift: what moves against the clip's background and no kept box explains."""

    enabled: bool = Field(description="Paint out unexplained moving things.")
    work_width: int = Field(ge=32, description="Width (px) the background and change are computed at.")
    threshold: float = Field(gt=0, lt=255, description="Grey-level difference that counts as change.")
    min_area_fraction: float = Field(ge=0, lt=1, description="Smaller changed blobs are noise.")
    max_changed_fraction: float = Field(gt=0, le=1, description="Beyond this a keyframe is left unpainted.")
    explained_fraction: float = Field(
        gt=0, le=1, description="A blob this much inside kept boxes is explained."
    )
    always_changing_fraction: float = Field(
        gt=0, le=1, description="Pixels changed in this fraction of keyframes are scenery (a clock)."
    )
    dilate_px: int = Field(ge=0, description="Painted regions grow by this (px at work_width).")


class TownConfig(_Section):
    """The synthetic town's exactly labelled frames mixed into training."""

    type_map: dict[str, str] = Field(min_length=1, description="Town vehicle type -> student class.")
    max_images: int = Field(ge=0, description="Town frames mixed in at most.")


class TrainConfig(_Section):
    """The student's training (ultralytics)."""

    imgsz: int = Field(ge=32, le=4096, description="Training image size (px), a multiple of 32.")
    epochs: int = Field(ge=1, description="Epochs.")
    time_hours: float | None = Field(gt=0, description="Wall-time budget (h); None = run the epochs.")
    batch: int = Field(ge=1, description="Images per batch.")
    lr0: float = Field(gt=0, description="Initial learning rate.")
    close_mosaic: int = Field(ge=0, description="Last epochs trained without mosaic augmentation.")
    workers: int = Field(ge=0, description="Data-loading processes.")


class DistillConfig(ComponentConfig):
    """The whole distillation configuration."""

    config_dir: ClassVar[Path] = CONFIG_DIR
    default_file: ClassVar[str] = "distill.yaml"

    device: str
    seed: int
    classes: list[str] = Field(min_length=1, description="The student's classes, in order.")
    teacher: TeacherConfig
    sampling: SamplingConfig
    cleaning: CleaningConfig
    motion: MotionConfig
    town: TownConfig
    train: TrainConfig

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"classes {self.classes} repeat a name; list each student class once")
        unknown = sorted(set(self.town.type_map.values()) - set(self.classes))
        if unknown:
            raise ValueError(f"town.type_map maps to {unknown}, which are not in classes {self.classes}")
        if self.cleaning.static_unsure_confidence > self.cleaning.static_confidence:
            raise ValueError("cleaning.static_unsure_confidence must not exceed cleaning.static_confidence")
        if self.sampling.min_keyframes > self.sampling.max_keyframes:
            raise ValueError("sampling.min_keyframes must not exceed sampling.max_keyframes")
        if self.train.imgsz % 32:
            raise ValueError(f"train.imgsz {self.train.imgsz} is not a multiple of 32 (the model's stride)")
        return self


def load_distill_config(
    path: str | Path | None = None, overrides: list[str] | None = None, smoke: bool = False
) -> DistillConfig:
    """The config at ``path`` (default: the shipped distill.yaml), then ``smoke.yaml`` if asked, then
    ``overrides`` (``dotted.key=value``). Raises ConfigError naming the file and the bad key."""
    return load_layered(DistillConfig, path, (SMOKE_FILE,) if smoke else (), overrides)


__all__ = ["ConfigError", "DistillConfig", "load_distill_config"]
