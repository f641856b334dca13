"""Cleaning the teacher's boxes with what video gives for free.

- **Time**: a real vehicle is there a moment before and after. A box the teacher is sure of is kept on its
  own; a less sure one is kept only when a box of similar size lies near it in the neighbour frames (before
  and after the keyframe); a box with no such support is a one-frame flicker and dropped.
- **The fixed camera**: something found at the same place in most keyframes of a long clip never moves. It is
  a vehicle (a parked car) only when the teacher is very sure of it on average; when the teacher is unsure
  it may be either, and it is painted out of the image (``motion.paint_regions``): taught neither as vehicle
  nor as background; when the teacher hardly believes it, it is scenery (a guardrail, a sign, a shadow) and
  dropped.
- **Size**: a box covering most of the frame is the teacher mistaking a scene for a vehicle; a box a few
  pixels across cannot be learnt from; a box lying within a larger, surer kept box is a part of that vehicle
  boxed again (a pickup's cab, a car cut by a tile).

Every box gets a verdict, so the run can report what was kept and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from export.yolo import Boxes
from models.distill.config import CleaningConfig

KEPT_SURE = "sure"
KEPT_SUPPORTED = "supported"
KEPT_PARKED = "parked"
DROPPED_FLICKER = "flicker"
DROPPED_STATIC = "static"
DROPPED_SMALL = "small"
DROPPED_HUGE = "huge"
DROPPED_NESTED = "nested"
PAINTED_UNSURE_STATIC = "unsure_static"
KEPT = frozenset({KEPT_SURE, KEPT_SUPPORTED, KEPT_PARKED})


@dataclass(frozen=True)
class Verdicts:
    """One verdict per box of a keyframe: (N,) str, one of the KEPT_* / DROPPED_* names."""

    reasons: np.ndarray

    @property
    def keep(self) -> np.ndarray:
        """(N,) bool: boxes that are training labels."""
        return np.isin(self.reasons, list(KEPT))

    @property
    def paint(self) -> np.ndarray:
        """(N,) bool: boxes to paint out of the image."""
        return self.reasons == PAINTED_UNSURE_STATIC


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A, B) IoU of xyxy boxes a: (A, 4) and b: (B, 4) px."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=-1)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=-1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=-1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def has_match(boxes: np.ndarray, other: np.ndarray, max_shift: float, max_scale: float) -> np.ndarray:
    """(N,) bool: whether each box (N, 4) px has a box in ``other`` (M, 4) px of similar size (width and
    height within a factor ``max_scale``) whose centre is within ``max_shift`` box diagonals of its own."""
    if not len(boxes) or not len(other):
        return np.zeros(len(boxes), dtype=bool)
    size_a = np.maximum(boxes[:, 2:] - boxes[:, :2], 1e-6)
    size_b = np.maximum(other[:, 2:] - other[:, :2], 1e-6)
    ratio = size_a[:, None, :] / size_b[None, :, :]  # (N, M, 2)
    similar = np.all((ratio <= max_scale) & (ratio >= 1 / max_scale), axis=-1)
    centre_a = (boxes[:, :2] + boxes[:, 2:]) / 2
    centre_b = (other[:, :2] + other[:, 2:]) / 2
    shift = np.linalg.norm(centre_a[:, None, :] - centre_b[None, :, :], axis=-1)
    near = shift <= max_shift * np.linalg.norm(size_a, axis=-1)[:, None]
    return np.any(similar & near, axis=1)


def temporal_support(key: Boxes, neighbours: Sequence[Boxes], cfg: CleaningConfig) -> np.ndarray:
    """(N,) int: in how many of the neighbour frames each keyframe box has a match."""
    support = np.zeros(len(key), dtype=np.int64)
    for other in neighbours:
        support += has_match(key.xyxy, other.xyxy, cfg.link_max_shift, cfg.link_max_scale)
    return support


def static_score(keyframes: Sequence[Boxes], cfg: CleaningConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per keyframe, ((N,) fraction of the clip's keyframes with a box at the same place (IoU >= static_iou),
    (N,) mean teacher confidence over those boxes, its own included)."""
    out = []
    for key in keyframes:
        count = np.zeros(len(key))
        confidence = np.zeros(len(key))
        for other in keyframes:
            if not len(key) or not len(other):
                continue
            iou = _iou(key.xyxy, other.xyxy)
            best = np.argmax(iou, axis=1)
            same = iou[np.arange(len(key)), best] >= cfg.static_iou
            count += same
            confidence += np.where(same, other.confidence[best], 0.0)
        fraction = count / max(len(keyframes), 1)
        out.append((fraction, np.divide(confidence, count, out=np.zeros(len(key)), where=count > 0)))
    return out


def nested(boxes: Boxes, kept: np.ndarray, fraction: float) -> np.ndarray:
    """(N,) bool: kept boxes that lie, by at least ``fraction`` of their area, within a larger and more
    confident kept box. kept: (N,) bool."""
    xyxy = boxes.xyxy.astype(np.float64)
    lt = np.maximum(xyxy[:, None, :2], xyxy[None, :, :2])
    rb = np.minimum(xyxy[:, None, 2:], xyxy[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=-1)  # (N, N)
    area = np.prod(xyxy[:, 2:] - xyxy[:, :2], axis=-1)
    inside = inter >= fraction * np.maximum(area[:, None], 1e-9)
    bigger_surer = (area[None, :] > area[:, None]) & (boxes.confidence[None, :] > boxes.confidence[:, None])
    return kept & np.any(inside & bigger_surer & kept[None, :], axis=1)


def judge_clip(
    keyframes: Sequence[Boxes],
    neighbours: Sequence[Sequence[Boxes]],
    clip_seconds: float,
    frame_size: tuple[int, int],
    cfg: CleaningConfig,
) -> list[Verdicts]:
    """A verdict for every box of every keyframe of one clip. keyframes: the teacher's boxes per keyframe;
    neighbours: per keyframe, the teacher's boxes in its neighbour frames; clip_seconds: the clip's length;
    frame_size: (width, height) px."""
    static = static_score(keyframes, cfg) if clip_seconds >= cfg.static_min_clip_s else None
    verdicts = []
    for i, key in enumerate(keyframes):
        reasons = np.full(len(key), DROPPED_FLICKER, dtype=object)
        support = temporal_support(key, neighbours[i], cfg)
        reasons[support >= cfg.min_support] = KEPT_SUPPORTED
        reasons[key.confidence >= cfg.sure_confidence] = KEPT_SURE
        if static is not None:
            fraction, mean_confidence = static[i]
            is_static = fraction >= cfg.static_fraction
            confidence = mean_confidence[is_static]
            reasons[is_static] = np.select(
                [confidence >= cfg.static_confidence, confidence >= cfg.static_unsure_confidence],
                [KEPT_PARKED, PAINTED_UNSURE_STATIC],
                DROPPED_STATIC,
            )
        size = key.xyxy[:, 2:] - key.xyxy[:, :2]
        reasons[np.any(size < cfg.min_box_px, axis=1)] = DROPPED_SMALL
        reasons[np.prod(size, axis=1) > cfg.max_box_fraction * frame_size[0] * frame_size[1]] = DROPPED_HUGE
        reasons[nested(key, np.isin(reasons, list(KEPT)), cfg.max_nested_fraction)] = DROPPED_NESTED
        verdicts.append(Verdicts(reasons.astype(str)))
    return verdicts
