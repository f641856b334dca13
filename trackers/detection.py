"""Vehicle detection with ultralytics YOLO: any weights ultralytics runs (``.pt``, ``.onnx``, ``.engine``,
``.torchscript``, ``.tflite``, OpenVINO / NCNN export folders ...), on the CPU or a GPU.

The pipeline's detection stage over ``export.yolo.YoloRuntime``: vehicles are chosen by the model's own class
*names* (``vehicle_classes``), so a COCO model works with no class ids typed and a one-class vehicle model
passes through; each detection keeps its class name as the vehicle type (``Detections.labels``). The default
weights are trained in this repository (``models/weights/``); users pass their own by path. Nothing is ever
downloaded or installed at run time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from pydantic import Field, field_validator

from export.yolo import DetectorError, YoloRuntime
from trackers.config import ComponentConfig
from trackers.types import Detections, Frame

REPO_ROOT = Path(__file__).resolve().parents[1]


class DetectorConfig(ComponentConfig):
    """Detector settings (``trackers/configs/detector.yaml`` holds the defaults and explains each key)."""

    default_file: ClassVar[str] = "detector.yaml"

    weights: Path = Field(
        description="Ultralytics detection weights: a file (.pt, .onnx, .engine, .torchscript, .tflite ...) "
        "or an export folder (*_openvino_model, *_ncnn_model ...)."
    )
    imgsz: int = Field(ge=32, le=4096, description="Inference image size (px, long side); a multiple of 32.")
    confidence: float = Field(ge=0, le=1, description="Detections below this confidence are dropped.")
    iou: float = Field(gt=0, le=1, description="IoU above which non-maximum suppression merges boxes.")
    max_detections: int = Field(ge=1, description="At most this many detections per frame.")
    device: Literal["auto", "cpu", "cuda"] = Field(description="auto = the first CUDA GPU if any, else CPU.")
    vehicle_classes: list[str] = Field(
        min_length=1,
        description="Class names that are vehicles; the model's other classes are ignored. A model with a "
        "single class is taken as a vehicle model whatever its class is called.",
    )
    merge_riders: bool = Field(
        description="Grow a two-wheeler's box over the person riding it (models with a 'person' class, "
        "e.g. COCO), as traffic annotations box them."
    )

    @field_validator("vehicle_classes")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        cleaned = [n.strip().lower() for n in names]
        if any(not n for n in cleaned):
            raise ValueError("vehicle_classes holds an empty name; list class names such as car, truck")
        return cleaned

    @classmethod
    def from_yaml(cls, path: str | Path | None = None, **overrides: Any) -> Self:
        cfg = super().from_yaml(path, **overrides)
        if path is None and "weights" not in overrides and not cfg.weights.is_absolute():
            # The shipped file names the shipped weights relative to the repository root.
            cfg = cfg.model_copy(update={"weights": REPO_ROOT / cfg.weights})
        return cfg


def _device(choice: str) -> str:
    import torch

    if choice == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise DetectorError("device 'cuda' was asked for but no CUDA GPU is visible; use device: auto or cpu")
    return "cuda:0" if choice == "cuda" else "cpu"


class YoloDetector:
    """``detect(frame) -> Detections``: boxes in the frame's pixels, confidence, class id, vehicle type."""

    def __init__(self, cfg: DetectorConfig) -> None:
        self.cfg = cfg
        self.device = _device(cfg.device)
        self.runtime = YoloRuntime(cfg.weights, self.device, cfg.vehicle_classes, cfg.merge_riders, cfg.imgsz)
        self.names = self.runtime.names

    def detect(self, frame: Frame) -> Detections:
        return self.detect_batch([frame])[0]

    def detect_batch(self, frames: list[Frame]) -> list[Detections]:
        """One Detections per frame, in order. Frames may come from different cameras."""
        cfg = self.cfg
        found = self.runtime.predict(
            [f.image for f in frames], cfg.imgsz, cfg.confidence, cfg.iou, cfg.max_detections
        )
        return [
            Detections(f.camera_id, f.frame_index, b.xyxy, b.confidence, b.class_id, labels=b.labels)
            for f, b in zip(frames, found, strict=True)
        ]


__all__ = ["DetectorConfig", "DetectorError", "YoloDetector"]
