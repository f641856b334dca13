"""Vehicle detection with ultralytics YOLO: any ultralytics detection weights (.pt, or an .onnx / .engine
exported by ultralytics, which it runs through ONNX Runtime / TensorRT), on the CPU or a GPU.

The default weights are trained in this repository on the synthetic town (``models/weights/``); users pass
their own by path. Nothing is ever downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trackers.types import Detections, Frame

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "detector.yaml"
SUPPORTED_SUFFIXES = (".pt", ".onnx", ".engine")


class DetectorError(ValueError):
    """Weights or detector settings a user can fix."""


class DetectorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: Path = Field(
        description="Ultralytics detection weights: .pt, or an ultralytics .onnx/.engine export."
    )
    imgsz: int = Field(
        416, ge=32, le=4096, description="Inference image size (px, long side); a multiple of 32."
    )
    confidence: float = Field(0.25, ge=0, le=1, description="Detections below this confidence are dropped.")
    iou: float = Field(0.6, gt=0, le=1, description="IoU above which non-maximum suppression merges boxes.")
    max_detections: int = Field(100, ge=1, description="At most this many detections per frame.")
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="auto = the first CUDA GPU if any, else CPU."
    )
    classes: list[int] | None = Field(None, description="Keep only these class ids (None = all).")

    @classmethod
    def from_yaml(cls, path: Path | None = None, **overrides: object) -> DetectorConfig:
        """The shipped ``trackers/configs/detector.yaml`` (or ``path``), with keyword overrides."""
        source = Path(path) if path else DEFAULT_CONFIG
        data = yaml.safe_load(source.read_text()) or {}
        weights = Path(data.get("weights", ""))
        if not weights.is_absolute() and path is None:
            # The shipped config names weights relative to the repository root.
            data["weights"] = str(Path(__file__).resolve().parents[1] / weights)
        try:
            return cls.model_validate(data | overrides)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise DetectorError(f"invalid detector config ({source}): {problems}") from None


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
