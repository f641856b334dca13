"""Gold sets: real frames with hand-drawn vehicle boxes (``images/*.jpg`` + ``labels.csv`` with columns
``file,x1,y1,x2,y2,label``, pixels, top-left origin), and scoring a detector on them.

Gold sets are for validation only; nothing in crosscam trains on them.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from trackers.detection import DetectorConfig
from trackers.metrics.detection import DetectionScores, ImageBoxes, score_detections
from trackers.types import Detections, Frame

LABELS_FILE = "labels.csv"
LABEL_COLUMNS = ("file", "x1", "y1", "x2", "y2")
# Predictions are kept down to this confidence for AP; P / R / F1 count only those at the detector's own.
AP_CONFIDENCE_FLOOR = 0.01


class GoldSetError(ValueError):
    """A gold set that cannot be read; the message names the file and the fix."""


@dataclass(frozen=True)
class GoldSet:
    """name: the folder's name; images: the frames in file-name order; boxes: file name -> (G, 4) xyxy px."""

    name: str
    images: tuple[Path, ...]
    boxes: dict[str, np.ndarray]


@dataclass(frozen=True)
class GoldResult:
    """A detector's scores on one gold set, its mean milliseconds per frame, and its boxes per image (for
    contact sheets)."""

    scores: DetectionScores
    ms_per_frame: float
    images: tuple[ImageBoxes, ...]


def read_gold_set(folder: Path) -> GoldSet:
    """Read ``folder`` (images/ + labels.csv). GoldSetError for a missing file or a bad row."""
    folder = Path(folder)
    labels = folder / LABELS_FILE
    if not labels.is_file() or not (folder / "images").is_dir():
        raise GoldSetError(
            f"{folder} is no gold set: it needs images/ and {LABELS_FILE} (file,x1,y1,x2,y2,label)"
        )
    boxes: dict[str, list[list[float]]] = {}
    with labels.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in LABEL_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise GoldSetError(f"{labels}: columns {missing} are missing; expected file,x1,y1,x2,y2,label")
        for line, row in enumerate(reader, start=2):
            try:
                box = [float(row[c]) for c in LABEL_COLUMNS[1:]]
            except (TypeError, ValueError):
                raise GoldSetError(f"{labels} line {line}: box corners must be numbers, got {row}") from None
            boxes.setdefault(row["file"], []).append(box)
    images = tuple(sorted((folder / "images").glob("*.jpg")))
    if not images:
        raise GoldSetError(f"{folder / 'images'} holds no .jpg frame")
    return GoldSet(folder.name, images, {name: np.asarray(b, dtype=np.float64) for name, b in boxes.items()})


def score_on_gold(
    detect_frame: Callable[[Frame], Detections], gold: GoldSet, confidence: float
) -> GoldResult:
    """Run ``detect_frame(Frame) -> Detections`` (set to keep boxes down to AP_CONFIDENCE_FLOOR) on every
    frame of ``gold``; P / R / F1 at ``confidence``, AP50 over all boxes, class-agnostic, IoU 0.5."""
    per_image, seconds = [], 0.0
    for index, path in enumerate(gold.images, start=1):
        image = cv2.imread(str(path))
        if image is None:
            raise GoldSetError(f"{path} cannot be decoded as an image; replace it or remove it from the set")
        started = time.perf_counter()
        found: Detections = detect_frame(Frame(gold.name, index, 0.0, image))
        seconds += time.perf_counter() - started
        gt = gold.boxes.get(path.name, np.zeros((0, 4)))
        per_image.append(ImageBoxes(gt, found.xyxy, found.confidence))
    return GoldResult(
        score_detections(per_image, confidence), 1000 * seconds / len(gold.images), tuple(per_image)
    )


def score_detector_config(config: DetectorConfig, gold_sets: list[GoldSet]) -> dict[str, GoldResult]:
    """Scores of the detector ``config`` on each gold set: P / R /
    F1 at its own confidence, AP50 with boxes down to AP_CONFIDENCE_FLOOR."""
    from trackers.detection import YoloDetector

    detector = YoloDetector(
        config.model_copy(update={"confidence": min(config.confidence, AP_CONFIDENCE_FLOOR)})
    )
    return {gold.name: score_on_gold(detector.detect, gold, config.confidence) for gold in gold_sets}
