"""Detection scores against hand-drawn boxes: precision, recall and F1 at a confidence, and AP50.

Class-agnostic (a vehicle is a vehicle, whatever type either side calls it), IoU threshold 0.5 by default.
Matching follows the COCO / VOC rule: within an image, predictions are taken in decreasing confidence and
each claims the unclaimed ground-truth box it overlaps most, if that overlap reaches the threshold.
AP is the area under the all-point interpolated precision-recall curve (VOC 2010+): precision at each
recall is the best precision at that recall or above.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from trackers.metrics.mot import iou_matrix

IOU_THRESHOLD = 0.5


@dataclass(frozen=True)
class ImageBoxes:
    """One image's boxes. gt_xyxy: (G, 4) px; pred_xyxy: (P, 4) px; pred_score: (P,) confidence in [0, 1]."""

    gt_xyxy: np.ndarray
    pred_xyxy: np.ndarray
    pred_score: np.ndarray


@dataclass(frozen=True)
class DetectionScores:
    """Scores over a set of images: precision, recall and F1 at ``confidence``; AP50 over every confidence.
    Counts are boxes."""

    precision: float
    recall: float
    f1: float
    ap50: float
    confidence: float
    true_positives: int
    false_positives: int
    gt_boxes: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "ap50": round(self.ap50, 4),
            "confidence": self.confidence,
            "tp": self.true_positives,
            "fp": self.false_positives,
            "gt": self.gt_boxes,
        }


def _xywh(xyxy: np.ndarray) -> np.ndarray:
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)


def match_image(
    gt_xyxy: np.ndarray, pred_xyxy: np.ndarray, pred_score: np.ndarray, iou_threshold: float = IOU_THRESHOLD
) -> np.ndarray:
    """(P,) bool: which predictions are true positives. Greedy in decreasing score; each ground-truth box is
    claimed at most once, by the prediction that reaches it first with the highest IoU among free boxes."""
    score = np.asarray(pred_score, dtype=np.float64).reshape(-1)
    hit = np.zeros(len(score), dtype=bool)
    if len(score) == 0 or len(np.asarray(gt_xyxy).reshape(-1, 4)) == 0:
        return hit
    iou = iou_matrix(_xywh(pred_xyxy), _xywh(gt_xyxy))  # (P, G)
    free = np.ones(iou.shape[1], dtype=bool)
    for p in np.argsort(-score, kind="stable"):
        candidates = np.where(free, iou[p], -1.0)
        g = int(np.argmax(candidates))
        if candidates[g] >= iou_threshold:
            free[g] = False
            hit[p] = True
    return hit


def average_precision(scores: np.ndarray, hits: np.ndarray, gt_boxes: int) -> float:
    """All-point interpolated AP. scores, hits: (P,) over every prediction of the set; gt_boxes: G."""
    if gt_boxes == 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    tp = np.cumsum(np.asarray(hits, dtype=np.float64)[order])
    fp = np.cumsum(1.0 - np.asarray(hits, dtype=np.float64)[order])
    recall = np.concatenate([[0.0], tp / gt_boxes, [tp[-1] / gt_boxes if len(tp) else 0.0]])
    precision = np.concatenate([[1.0], tp / np.maximum(tp + fp, 1e-12), [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # the envelope: best precision at >= recall
    return float(np.sum((recall[1:] - recall[:-1]) * precision[1:]))


def score_detections(
    images: Iterable[ImageBoxes], confidence: float, iou_threshold: float = IOU_THRESHOLD
) -> DetectionScores:
    """P / R / F1 counting predictions with score >= ``confidence``; AP50 over all given predictions (pass
    them down to a low confidence for a faithful AP)."""
    all_scores, all_hits, gt_total = [], [], 0
    for image in images:
        gt_total += len(np.asarray(image.gt_xyxy).reshape(-1, 4))
        all_scores.append(np.asarray(image.pred_score, dtype=np.float64).reshape(-1))
        all_hits.append(match_image(image.gt_xyxy, image.pred_xyxy, image.pred_score, iou_threshold))
    scores = np.concatenate(all_scores) if all_scores else np.zeros(0)
    hits = np.concatenate(all_hits) if all_hits else np.zeros(0, dtype=bool)
    kept = scores >= confidence
    tp = int(np.sum(hits & kept))
    fp = int(np.sum(~hits & kept))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / gt_total if gt_total else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return DetectionScores(
        precision=precision,
        recall=recall,
        f1=f1,
        ap50=average_precision(scores, hits, gt_total),
        confidence=confidence,
        true_positives=tp,
        false_positives=fp,
        gt_boxes=gt_total,
    )
