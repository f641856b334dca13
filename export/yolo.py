"""Running ultralytics detection weights of any format, as vehicle boxes with their type.

``YoloRuntime`` loads whatever ultralytics runs (``.pt``, ``.onnx``, ``.engine``, ``.torchscript``,
``.tflite``, OpenVINO / NCNN export folders ...), checks before loading that the format's runtime package is
installed (one error naming the pip extra otherwise) and that the model is a detection model, and picks the
vehicle classes by the model's own class *names*. A one-class model passes through whatever its class is
called.

Prediction has two steps, so that a caller that cuts a frame into tiles can fuse the tiles in between:
``raw`` (per-class NMS, vehicles and possible riders) and ``vehicles`` (riders joined to their two-wheelers,
then NMS across types: a car also called a truck is one vehicle). ``predict`` runs both.

It lives in ``export/`` because both the pipeline's detection stage (``trackers.detection``) and the
detector's distillation (``models.distill``) run it (DESIGN.md: ``trackers -> export``, ``models -> export``).
Nothing is ever downloaded or installed at run time.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from export.riders import RIDER_CLASS, TWO_WHEELER_CLASSES, merge_riders

# Riders are looked for among persons at least this confident (a person is never reported itself).
MIN_RIDER_CONFIDENCE = 0.1


class DetectorError(ValueError):
    """Weights or detector settings a user can fix."""


class Runtime(NamedTuple):
    """What runs one weights format: the module that must import, and how to install it."""

    module: str
    install: str


# ultralytics' format name (its exporter's "Argument") -> the runtime it needs. Formats missing here are
# handed to ultralytics as they are, and a missing package is reported when loading fails.
RUNTIMES: dict[str, Runtime] = {
    "pt": Runtime("torch", "pip install crosscam"),
    "torchscript": Runtime("torch", "pip install crosscam"),
    "onnx": Runtime("onnxruntime", "pip install crosscam"),
    "engine": Runtime("tensorrt", "pip install 'crosscam[gpu]' (TensorRT, on an NVIDIA GPU)"),
    "litert": Runtime("ai_edge_litert", "pip install 'crosscam[tflite]'"),
    "openvino": Runtime("openvino", "pip install 'crosscam[openvino]'"),
    "ncnn": Runtime("ncnn", "pip install 'crosscam[ncnn]'"),
}


@dataclass(frozen=True)
class Boxes:
    """N boxes of one image. xyxy: (N, 4) float32 px; confidence: (N,) float32; class_id: (N,) int64, the
    model's class; labels: (N,) str, the class names."""

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.confidence)

    def subset(self, rows: np.ndarray) -> Boxes:
        return Boxes(self.xyxy[rows], self.confidence[rows], self.class_id[rows], self.labels[rows])

    def shifted(self, dx: float, dy: float) -> Boxes:
        """The boxes moved by (dx, dy) px: from a tile's pixels to its frame's."""
        offset = np.array([dx, dy, dx, dy], dtype=np.float32)
        return Boxes(self.xyxy + offset, self.confidence, self.class_id, self.labels)

    @staticmethod
    def concat(parts: Sequence[Boxes]) -> Boxes:
        if not parts:
            return Boxes(
                np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros(0, str)
            )
        return Boxes(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("xyxy", "confidence", "class_id", "labels")
            )
        )


def weights_format(weights: Path) -> str:
    """ultralytics' name for the format of ``weights`` ("pt", "onnx", "litert", "openvino" ...), from its
    suffix or folder name; DetectorError when ultralytics runs no such format."""
    from ultralytics.nn.autobackend import AutoBackend

    try:
        fmt = AutoBackend._model_type(str(weights))
    except Exception:  # ultralytics' suffix check raises for a suffix it does not know
        fmt = None
    if fmt is None:
        raise DetectorError(
            f"detector weights {weights} are in no format ultralytics runs (.pt, .onnx, .engine, .torchscript, "
            ".tflite, or an export folder such as *_openvino_model); export them with ultralytics first"
        )
    return fmt


def check_runtime(weights: Path, fmt: str) -> None:
    """DetectorError naming the install command when the runtime of ``fmt`` is not installed."""
    runtime = RUNTIMES.get(fmt)
    if runtime is not None and importlib.util.find_spec(runtime.module) is None:
        raise DetectorError(
            f"detector weights {weights} need the {fmt} runtime (Python module {runtime.module!r}), which is "
            f"not installed; install it with: {runtime.install}"
        )


def vehicle_class_ids(names: dict[int, str], vehicle_classes: Sequence[str], weights: Path) -> list[int]:
    """The model's class ids whose names are vehicles (all of a one-class model); DetectorError listing the
    model's names when none is."""
    if len(names) == 1:
        return list(names)
    wanted = {n.lower() for n in vehicle_classes}
    ids = [i for i, name in names.items() if name.lower() in wanted]
    if not ids:
        shown = ", ".join(names[i] for i in sorted(names)[:40]) + (" ..." if len(names) > 40 else "")
        raise DetectorError(
            f"detector weights {weights} have no class named {', '.join(vehicle_classes)} (their classes: "
            f"{shown}); set vehicle_classes to the model's vehicle class names"
        )
    return ids


def cross_type_nms(boxes: Boxes, iou: float) -> np.ndarray:
    """Rows to keep, most confident first, after class-agnostic NMS at ``iou``."""
    import torch
    import torchvision

    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    kept = torchvision.ops.nms(
        torch.from_numpy(boxes.xyxy).float(), torch.from_numpy(boxes.confidence).float(), iou
    )
    return kept.numpy().astype(np.int64)


def per_class_nms(boxes: Boxes, iou: float) -> np.ndarray:
    """Rows to keep, most confident first, after NMS within each class (boxes of tiles that overlap)."""
    import torch
    import torchvision

    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    kept = torchvision.ops.batched_nms(
        torch.from_numpy(boxes.xyxy).float(),
        torch.from_numpy(boxes.confidence).float(),
        torch.from_numpy(boxes.class_id),
        iou,
    )
    return kept.numpy().astype(np.int64)


class YoloRuntime:
    """One ultralytics detection model, loaded and checked; ``predict(images) -> [Boxes]`` of vehicles.

    weights: file or export folder; device: "cpu" or "cuda:0"; vehicle_classes: class names that are
    vehicles; merge_riders: join persons riding two-wheelers to them (models with a "person" class).
    """

    def __init__(
        self, weights: Path, device: str, vehicle_classes: Sequence[str], merge_riders: bool, imgsz: int
    ) -> None:
        weights = Path(weights)
        if not weights.exists():
            raise DetectorError(
                f"detector weights {weights} do not exist; train them with `crosscam train detector` or pass "
                "the path of ultralytics detection weights"
            )
        self.weights = weights
        self.format = weights_format(weights)
        check_runtime(weights, self.format)
        self.device = device
        self.model = self._load(imgsz)
        self.names: dict[int, str] = {int(k): str(v) for k, v in self.model.names.items()}
        self.vehicle_ids = vehicle_class_ids(self.names, vehicle_classes, weights)
        two_wheelers = any(self.names[i].lower() in TWO_WHEELER_CLASSES for i in self.vehicle_ids)
        riders = [i for i, n in self.names.items() if n.lower() == RIDER_CLASS] if merge_riders else []
        self.rider_ids = riders if two_wheelers else []
        self._labels = np.array([self.names.get(i, "") for i in range(max(self.names) + 1)])

    def _load(self, imgsz: int) -> Any:
        """The ultralytics model with its runtime started (a first prediction on a blank image), so that a
        bad file, a missing package or a non-detection model fails here in one line, not on a frame."""
        from ultralytics import YOLO  # heavy: imported only when a detector is built

        weights = self.weights
        try:
            model = YOLO(str(weights))
            model.predict(
                np.zeros((32, 32, 3), dtype=np.uint8), imgsz=imgsz, device=self.device, verbose=False
            )
        except ImportError as exc:
            raise DetectorError(
                f"detector weights {weights} ({self.format}) need a package that is not installed ({exc}); "
                "install the runtime of that format"
            ) from None
        except Exception as exc:  # ultralytics raises many kinds for a bad file; the user needs one message
            first_line = (str(exc).strip().splitlines() or [""])[0]
            raise DetectorError(
                f"{weights} is not a readable ultralytics detection model ({type(exc).__name__}: {first_line}); "
                "pass weights saved or exported by ultralytics (crosscam train detector, or model.export)"
            ) from None
        task = getattr(model.predictor.model, "task", None) or model.task
        if task != "detect":
            raise DetectorError(
                f"{weights} is a {task} model; a detection model (ultralytics task 'detect') is needed"
            )
        return model

    def raw(
        self, images: Sequence[np.ndarray], imgsz: int, confidence: float, iou: float, max_det: int
    ) -> list[Boxes]:
        """Per image (H, W, 3) uint8 BGR: vehicle boxes at >= ``confidence`` and rider candidates (persons, at
        a lower confidence), after ultralytics' per-class NMS."""
        if not images:
            return []
        results = self.model.predict(
            list(images),
            imgsz=imgsz,
            conf=min(confidence, MIN_RIDER_CONFIDENCE) if self.rider_ids else confidence,
            iou=iou,
            max_det=2 * max_det if self.rider_ids else max_det,  # persons take slots too
            classes=self.vehicle_ids + self.rider_ids,
            device=self.device,
            verbose=False,
        )
        out = []
        for result in results:
            class_id = result.boxes.cls.cpu().numpy().astype(np.int64)
            out.append(
                Boxes(
                    result.boxes.xyxy.cpu().numpy().astype(np.float32),
                    result.boxes.conf.cpu().numpy().astype(np.float32),
                    class_id,
                    self._labels[class_id],
                )
            )
        return out

    def vehicles(self, raw: Boxes, confidence: float, iou: float, max_det: int) -> Boxes:
        """The vehicles of ``raw``: riders joined to their two-wheelers, persons dropped, boxes below
        ``confidence`` dropped, one box per vehicle across types, at most ``max_det``, most confident first."""
        boxes = raw
        if self.rider_ids:
            xyxy, not_rider = merge_riders(raw.xyxy, raw.labels)
            boxes = Boxes(xyxy, raw.confidence, raw.class_id, raw.labels)
            vehicle = np.isin(raw.class_id, self.vehicle_ids) & not_rider & (raw.confidence >= confidence)
            boxes = boxes.subset(np.flatnonzero(vehicle))
        return boxes.subset(cross_type_nms(boxes, iou)[:max_det])

    def predict(
        self, images: Sequence[np.ndarray], imgsz: int, confidence: float, iou: float, max_det: int
    ) -> list[Boxes]:
        """Vehicle boxes per image (H, W, 3) uint8 BGR, in that image's pixels."""
        return [
            self.vehicles(r, confidence, iou, max_det)
            for r in self.raw(images, imgsz, confidence, iou, max_det)
        ]
