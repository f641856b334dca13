"""One camera's per-frame pipeline: detect -> embed -> track, with the time each stage takes.

DESIGN.md steps 2-4. Each camera owns one ``CameraPipeline`` (its tracker has its own ID space); the
detector and the embedder may be shared between cameras.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from trackers.appearance import Embedder, embed_detections
from trackers.deepsort import DeepSortTracker
from trackers.metrics import MOTBoxes
from trackers.types import Detections, Frame, Tracks

STAGES = ("decode", "detect", "embed", "track")


class Detector(Protocol):
    def detect(self, frame: Frame) -> Detections: ...


@dataclass
class StageTimes:
    """Seconds spent per stage, summed over ``frames`` frames."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    frames: int = 0

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] += seconds

    def mean_ms(self) -> dict[str, float]:
        """Milliseconds per frame of each stage."""
        n = max(self.frames, 1)
        return {stage: round(1000.0 * s / n, 2) for stage, s in self.seconds.items()}


class CameraPipeline:
    def __init__(self, detector: Detector, embedder: Embedder, tracker: DeepSortTracker) -> None:
        self.detector = detector
        self.embedder = embedder
        self.tracker = tracker
        self.times = StageTimes()

    def process(self, frame: Frame) -> tuple[Detections, Tracks]:
        """Detections (with embeddings) and confirmed tracks of one frame."""
        t0 = time.perf_counter()
        detections = self.detector.detect(frame)
        t1 = time.perf_counter()
        detections = embed_detections(self.embedder, frame, detections)
        t2 = time.perf_counter()
        tracks = self.tracker.update(detections, frame)
        t3 = time.perf_counter()
        self.times.add("detect", t1 - t0)
        self.times.add("embed", t2 - t1)
        self.times.add("track", t3 - t2)
        self.times.frames += 1
        return detections, tracks

    def run(self, frames: Iterable[Frame]) -> Iterator[tuple[Frame, Detections, Tracks]]:
        """Process a stream of frames, also timing how long each frame took to arrive (decode)."""
        source = iter(frames)
        while True:
            t0 = time.perf_counter()
            frame = next(source, None)
            if frame is None:
                return
            self.times.add("decode", time.perf_counter() - t0)
            detections, tracks = self.process(frame)
            yield frame, detections, tracks


def tracks_to_mot(history: Iterable[tuple[Detections, Tracks]], include_predicted: bool = False) -> MOTBoxes:
    """MOTChallenge rows of a camera's tracks: one per (frame, track). Predicted-only tracks (no detection this
    frame) are left out unless ``include_predicted``; a row's confidence is its detection's."""
    frames, ids, boxes, confs = [], [], [], []
    for detections, tracks in history:
        keep = np.ones(len(tracks), dtype=bool) if include_predicted else tracks.detection_index >= 0
        idx = tracks.detection_index[keep]
        frames.append(np.full(int(keep.sum()), tracks.frame_index))
        ids.append(tracks.track_id[keep])
        xyxy = tracks.xyxy[keep].astype(np.float64)
        boxes.append(np.column_stack([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]]))
        conf = np.ones(len(idx))  # a predicted-only row has no detection to take a confidence from
        conf[idx >= 0] = detections.confidence[idx[idx >= 0]]
        confs.append(conf)
    if not frames:
        return MOTBoxes.empty()
    return MOTBoxes(np.concatenate(frames), np.concatenate(ids), np.concatenate(boxes), np.concatenate(confs))
