"""An oracle detector: ground-truth boxes served as ``Detections``, for tests and tracker-only benchmarks.

It reads a MOTChallenge ground-truth file (``frame,id,x,y,w,h,conf,...``, as the synthetic town writes
``<scene>/mot/camNN/gt/gt.txt``) and can degrade the boxes like a real detector would: Gaussian jitter of
the box edges and random misses, both seeded per frame so a frame's output never depends on which frames
were asked for before. It is NOT a detector: never use it to report detection quality.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trackers.metrics.formats import MOTBoxes, read_mot
from trackers.types import Detections, Frame

ORACLE_CONFIDENCE = 1.0
ORACLE_CLASS = 0
# A jittered box keeps at least this size (px), so x2 > x1 and y2 > y1.
MIN_BOX_PX = 1.0


class GroundTruthDetector:
    """Serves a ground-truth file's boxes per frame as Detections (confidence 1, class 0).

    gt_path: MOTChallenge gt.txt (rows with conf == 0 are ignored, as MOTChallenge does).
    camera_id: written into the Detections; default the sequence folder's name (``camNN`` of
    ``mot/camNN/gt/gt.txt``). jitter: standard deviation of the noise on each box edge, as a fraction of
    the box's width (x edges) or height (y edges). drop_rate: probability that a box is missed, in [0, 1).
    seed: the same seed gives the same boxes for a frame.
    """

    def __init__(
        self,
        gt_path: str | Path,
        camera_id: str | None = None,
        *,
        jitter: float = 0.0,
        drop_rate: float = 0.0,
        seed: int = 0,
    ) -> None:
        if jitter < 0:
            raise ValueError(f"jitter must be >= 0 (a fraction of the box size), got {jitter}")
        if not 0 <= drop_rate < 1:
            raise ValueError(f"drop_rate must be in [0, 1), got {drop_rate}")
        path = Path(gt_path)
        # A camera that saw no vehicle has an empty gt.txt: serve no boxes (read_mot rejects empty gt).
        boxes = MOTBoxes.empty() if _is_blank(path) else read_mot(path, ground_truth=True)
        order = np.lexsort((boxes.obj_id, boxes.frame_id))
        self._frame_id = boxes.frame_id[order]
        self._obj_id = boxes.obj_id[order]
        xywh = boxes.xywh[order]
        self._xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        self.camera_id = camera_id if camera_id is not None else path.resolve().parent.parent.name
        self.jitter = float(jitter)
        self.drop_rate = float(drop_rate)
        self.seed = int(seed)

    @property
    def frame_indices(self) -> np.ndarray:
        """(F,) int64 sorted 1-based frame indices that have at least one ground-truth box."""
        return np.unique(self._frame_id)

    def detect(self, frame: Frame) -> Detections:
        """The (degraded) ground-truth boxes of ``frame``'s index, labelled with ``frame``'s camera id."""
        d, _ = self.detections_with_ids(frame.frame_index)
        return Detections(frame.camera_id, frame.frame_index, d.xyxy, d.confidence, d.class_id)

    def detections(self, frame_index: int) -> Detections:
        """The (degraded) ground-truth boxes of a 1-based frame index; empty when it has none."""
        detections, _ = self.detections_with_ids(frame_index)
        return detections

    def detections_with_ids(self, frame_index: int) -> tuple[Detections, np.ndarray]:
        """(Detections of N boxes, (N,) int64 ground-truth object ids of those boxes), in id order."""
        lo, hi = np.searchsorted(self._frame_id, [frame_index, frame_index + 1])
        xyxy = self._xyxy[lo:hi].copy()
        ids = self._obj_id[lo:hi]
        if self.jitter > 0 or self.drop_rate > 0:
            rng = np.random.default_rng([self.seed, frame_index])
            size = np.tile(xyxy[:, 2:] - xyxy[:, :2], 2)
            xyxy += rng.normal(0.0, self.jitter, size=xyxy.shape) * size
            xyxy[:, 2:] = np.maximum(xyxy[:, 2:], xyxy[:, :2] + MIN_BOX_PX)
            keep = rng.random(len(ids)) >= self.drop_rate
            xyxy, ids = xyxy[keep], ids[keep]
        n = len(ids)
        detections = Detections(
            self.camera_id,
            frame_index,
            xyxy.astype(np.float32),
            np.full(n, ORACLE_CONFIDENCE, dtype=np.float32),
            np.full(n, ORACLE_CLASS, dtype=np.int64),
        )
        return detections, ids.copy()


def _is_blank(path: Path) -> bool:
    return path.is_file() and not path.read_text(encoding="utf-8", errors="replace").strip()


__all__ = ["GroundTruthDetector"]
