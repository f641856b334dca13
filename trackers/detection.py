"""Vehicle detection with ultralytics YOLO: any ultralytics detection weights (.pt, or an .onnx / .engine
exported by ultralytics, which it runs through ONNX Runtime / TensorRT), on the CPU or a GPU.

The default weights are trained in this repository on the synthetic town (``models/weights/``); users pass
their own by path. Nothing is ever downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import numpy as np
from pydantic import Field

from trackers.config import ComponentConfig
from trackers.types import Detections, Frame

REPO_ROOT = Path(__file__).resolve().parents[1]
SUPPORTED_SUFFIXES = (".pt", ".onnx", ".engine")


class DetectorError(ValueError):
    """Weights or detector settings a user can fix."""


class DetectorConfig(ComponentConfig):
    """Detector settings (``trackers/configs/detector.yaml`` holds the defaults and explains each key)."""

    default_file: ClassVar[str] = "detector.yaml"

    weights: Path = Field(
        description="Ultralytics detection weights: .pt, or an ultralytics .onnx/.engine export."
    )
    imgsz: int = Field(ge=32, le=4096, description="Inference image size (px, long side); a multiple of 32.")
    confidence: float = Field(ge=0, le=1, description="Detections below this confidence are dropped.")
    iou: float = Field(gt=0, le=1, description="IoU above which non-maximum suppression merges boxes.")
    max_detections: int = Field(ge=1, description="At most this many detections per frame.")
    device: Literal["auto", "cpu", "cuda"] = Field(description="auto = the first CUDA GPU if any, else CPU.")
    classes: list[int] | None = Field(description="Keep only these class ids (None = all).")

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
    """``detect(frame) -> Detections``: boxes in the frame's pixels, confidence, class id."""

    def __init__(self, cfg: DetectorConfig) -> None:
        from ultralytics import YOLO  # heavy: imported only when a detector is built

        weights = Path(cfg.weights)
        if not weights.is_file():
            raise DetectorError(
                f"detector weights {weights} do not exist; train them with `crosscam train detector` or pass "
                "the path of ultralytics detection weights"
            )
        if weights.suffix not in SUPPORTED_SUFFIXES:
            raise DetectorError(
                f"detector weights {weights} have suffix {weights.suffix!r}; expected one of {SUPPORTED_SUFFIXES}"
            )
        try:
            self.model = YOLO(str(weights), task="detect")
        except Exception as exc:  # ultralytics raises many kinds for a bad file; the user needs one message
            raise DetectorError(
                f"{weights} is not a readable ultralytics detection model ({type(exc).__name__}: {exc}); "
                "pass weights saved by ultralytics (crosscam train detector, or model.export)"
            ) from None
        if getattr(self.model, "task", "detect") != "detect":
            raise DetectorError(f"{weights} is a {self.model.task} model; a detection model is needed")
        self.cfg = cfg
        self.device = _device(cfg.device)
        self.names: dict[int, str] = dict(self.model.names)

    def detect(self, frame: Frame) -> Detections:
        return self.detect_batch([frame])[0]

    def detect_batch(self, frames: list[Frame]) -> list[Detections]:
        """One Detections per frame, in order. Frames may come from different cameras."""
        if not frames:
            return []
        cfg = self.cfg
        results = self.model.predict(
            [f.image for f in frames],
            imgsz=cfg.imgsz,
            conf=cfg.confidence,
            iou=cfg.iou,
            max_det=cfg.max_detections,
            classes=cfg.classes,
            device=self.device,
            verbose=False,
        )
        out = []
        for frame, result in zip(frames, results, strict=True):
            boxes = result.boxes
            out.append(
                Detections(
                    camera_id=frame.camera_id,
                    frame_index=frame.frame_index,
                    xyxy=boxes.xyxy.cpu().numpy().astype(np.float32),
                    confidence=boxes.conf.cpu().numpy().astype(np.float32),
                    class_id=boxes.cls.cpu().numpy().astype(np.int64),
                )
            )
        return out
