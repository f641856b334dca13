"""Per-camera tracking scores: CLEAR-MOT and ID metrics through motmetrics, HOTA through TrackEval.

Both engines get the same IoU similarities, computed here: motmetrics' own IoU helper
(``mm.distances.iou_matrix``) calls ``np.asfarray``, which numpy 2 removed, so the distance matrices are
built here with the same semantics and fed to ``mm.MOTAccumulator``. Matching (per-frame Hungarian,
IDF1's global assignment, HOTA's alignment) stays the engines' own.

Units: boxes in pixels (left, top, width, height); MOTP here is the mean IoU of matched pairs
(MOTChallenge / TrackEval convention), i.e. 1 − motmetrics' ``motp``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass

import motmetrics as mm
import numpy as np
import pandas as pd
from trackeval.metrics import HOTA

from trackers.metrics.formats import MOTBoxes

# A prediction may match a ground-truth box when IoU >= this (MOTChallenge, AI City, TrackEval Identity).
IOU_THRESHOLD = 0.5
# motmetrics works with distances: pairs with 1 − IoU above this are "do not pair" (NaN).
MAX_IOU_DISTANCE = 1.0 - IOU_THRESHOLD
COMBINED = "COMBINED"

# motmetrics metric names read into MOTScore (its motchallenge_metrics plus the ID and box counts).
MOTMETRICS_FIELDS = (
    "idf1",
    "idp",
    "idr",
    "recall",
    "precision",
    "num_unique_objects",
    "mostly_tracked",
    "partially_tracked",
    "mostly_lost",
    "num_false_positives",
    "num_misses",
    "num_switches",
    "num_fragmentations",
    "mota",
    "motp",
    "idtp",
    "idfp",
    "idfn",
    "num_objects",
    "num_predictions",
)


def iou_matrix(gt_xywh: np.ndarray, pred_xywh: np.ndarray) -> np.ndarray:
    """IoU of every ground-truth box with every predicted box.

    gt_xywh: (G, 4), pred_xywh: (P, 4) pixels (left, top, width, height). Returns (G, P) float64 in [0, 1].
    Same arithmetic as motmetrics' ``boxiou`` and TrackEval's ``_calculate_box_ious`` (corners first).
    """
    a = np.asarray(gt_xywh, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(pred_xywh, dtype=np.float64).reshape(-1, 4)
    a_min, a_max = a[:, None, :2], a[:, None, :2] + a[:, None, 2:]
    b_min, b_max = b[None, :, :2], b[None, :, :2] + b[None, :, 2:]
    intersection = np.prod(np.maximum(np.minimum(a_max, b_max) - np.maximum(a_min, b_min), 0.0), axis=-1)
    area_a = np.prod(np.maximum(a_max - a_min, 0.0), axis=-1)
    area_b = np.prod(np.maximum(b_max - b_min, 0.0), axis=-1)
    union = area_a + area_b - intersection
    safe_union = np.where(union > 0, union, 1.0)
    return np.where(intersection > 0, intersection / safe_union, 0.0)


def iou_distance_matrix(gt_xywh: np.ndarray, pred_xywh: np.ndarray) -> np.ndarray:
    """motmetrics' IoU distance: (G, P) 1 − IoU, NaN where 1 − IoU > MAX_IOU_DISTANCE (no match allowed)."""
    distance = 1.0 - iou_matrix(gt_xywh, pred_xywh)
    return np.where(distance > MAX_IOU_DISTANCE, np.nan, distance)


def _rows_by_frame(frame_id: np.ndarray) -> dict[int, np.ndarray]:
    if len(frame_id) == 0:
        return {}
    order = np.argsort(frame_id, kind="stable")
    frames, starts = np.unique(frame_id[order], return_index=True)
    return dict(zip(frames.tolist(), np.split(order, starts[1:]), strict=True))


def iter_frames(gt: MOTBoxes, pred: MOTBoxes) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(frame_id, gt rows, pred rows) for every frame with a box in either, in frame order.

    Frames with no box at all are skipped, as motmetrics' ``compare_to_groundtruth`` does.
    """
    gt_rows, pred_rows = _rows_by_frame(gt.frame_id), _rows_by_frame(pred.frame_id)
    empty = np.zeros(0, dtype=np.int64)
    for frame in sorted(gt_rows.keys() | pred_rows.keys()):
        yield frame, gt_rows.get(frame, empty), pred_rows.get(frame, empty)


def accumulate(gt: MOTBoxes, pred: MOTBoxes) -> mm.MOTAccumulator:
    """motmetrics accumulator of one sequence (per-frame Hungarian on IoU distance)."""
    accumulator = mm.MOTAccumulator(auto_id=False)
    for frame, g, p in iter_frames(gt, pred):
        distances = iou_distance_matrix(gt.xywh[g], pred.xywh[p])
        accumulator.update(gt.obj_id[g], pred.obj_id[p], distances, frameid=frame)
    return accumulator


def trackeval_data(gt: MOTBoxes, pred: MOTBoxes) -> dict:
    """TrackEval's per-sequence data dict (what its metrics' ``eval_sequence`` read).

    Timesteps are the frames with any box; ids are remapped to contiguous 0..n-1 as TrackEval requires;
    similarity_scores[t] is the (G_t, P_t) IoU matrix.
    """
    gt_ids, gt_index = np.unique(gt.obj_id, return_inverse=True)
    pred_ids, pred_index = np.unique(pred.obj_id, return_inverse=True)
    data: dict = {"gt_ids": [], "tracker_ids": [], "similarity_scores": []}
    for _, g, p in iter_frames(gt, pred):
        data["gt_ids"].append(gt_index[g].astype(np.int64))
        data["tracker_ids"].append(pred_index[p].astype(np.int64))
        data["similarity_scores"].append(iou_matrix(gt.xywh[g], pred.xywh[p]))
    data.update(
        num_timesteps=len(data["gt_ids"]),
        num_gt_ids=len(gt_ids),
        num_tracker_ids=len(pred_ids),
        num_gt_dets=len(gt),
        num_tracker_dets=len(pred),
    )
    return data


@dataclass(frozen=True)
class MOTScore:
    """Scores of one sequence (or of several combined). Ratios in [0, 1]; NaN where undefined.

    motp is the mean IoU of matched pairs (1 − motmetrics' motp). hota/deta/assa/loca are TrackEval's,
    averaged over its 19 IoU thresholds 0.05..0.95.
    """

    idf1: float
    idp: float
    idr: float
    recall: float
    precision: float
    mota: float
    motp: float
    hota: float
    deta: float
    assa: float
    loca: float
    num_switches: int
    num_fragmentations: int
    num_false_positives: int
    num_misses: int
    idtp: int
    idfp: int
    idfn: int
    num_unique_objects: int
    mostly_tracked: int
    partially_tracked: int
    mostly_lost: int
    num_gt_boxes: int
    num_pred_boxes: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True)
class MOTReport:
    """Per-sequence scores and the combined score (motmetrics' OVERALL, TrackEval's COMBINED_SEQ)."""

    per_sequence: dict[str, MOTScore]
    combined: MOTScore


def _score(row: pd.Series, hota: Mapping[str, np.ndarray]) -> MOTScore:
    def count(name: str) -> int:
        return int(row[name])

    return MOTScore(
        idf1=float(row["idf1"]),
        idp=float(row["idp"]),
        idr=float(row["idr"]),
        recall=float(row["recall"]),
        precision=float(row["precision"]),
        mota=float(row["mota"]),
        motp=1.0 - float(row["motp"]),
        hota=float(np.mean(hota["HOTA"])),
        deta=float(np.mean(hota["DetA"])),
        assa=float(np.mean(hota["AssA"])),
        loca=float(np.mean(hota["LocA"])),
        num_switches=count("num_switches"),
        num_fragmentations=count("num_fragmentations"),
        num_false_positives=count("num_false_positives"),
        num_misses=count("num_misses"),
        idtp=count("idtp"),
        idfp=count("idfp"),
        idfn=count("idfn"),
        num_unique_objects=count("num_unique_objects"),
        mostly_tracked=count("mostly_tracked"),
        partially_tracked=count("partially_tracked"),
        mostly_lost=count("mostly_lost"),
        num_gt_boxes=count("num_objects"),
        num_pred_boxes=count("num_predictions"),
    )


def score_mot_many(sequences: Mapping[str, tuple[MOTBoxes, MOTBoxes]]) -> MOTReport:
    """Score several sequences (cameras), each given as (ground truth, prediction).

    The combined row is motmetrics' ``compute_many(generate_overall=True)`` (one sequence after another,
    ids kept apart) for CLEAR/ID metrics and TrackEval's ``HOTA.combine_sequences`` for HOTA.
    """
    if not sequences:
        raise ValueError("score_mot_many needs at least one sequence")
    names = list(sequences)
    accumulators = [accumulate(*sequences[name]) for name in names]
    summary = mm.metrics.create().compute_many(
        accumulators, metrics=list(MOTMETRICS_FIELDS), names=names, generate_overall=True
    )
    hota_metric = HOTA()
    hota = {name: hota_metric.eval_sequence(trackeval_data(*sequences[name])) for name in names}
    per_sequence = {name: _score(summary.loc[name], hota[name]) for name in names}
    combined = _score(summary.loc["OVERALL"], hota_metric.combine_sequences(hota))
    return MOTReport(per_sequence=per_sequence, combined=combined)


def score_mot(gt: MOTBoxes, pred: MOTBoxes) -> MOTScore:
    """Score one sequence: IDF1/MOTA/MOTP/IDSW... via motmetrics, HOTA/DetA/AssA via TrackEval."""
    summary = mm.metrics.create().compute(accumulate(gt, pred), metrics=list(MOTMETRICS_FIELDS), name="seq")
    return _score(summary.loc["seq"], HOTA().eval_sequence(trackeval_data(gt, pred)))
