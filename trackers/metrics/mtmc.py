"""Joint multi-camera (MTMC) scoring, the AI City Challenge / CityFlow way.

The official track-3 script concatenates the cameras into one long sequence: cameras in sorted order,
each camera's frame ids shifted by the running sum of the previous cameras' max frame id (max over
ground truth and prediction of that camera), then scores that sequence with one motmetrics accumulator.
IDF1 thus rewards a vehicle keeping one identity across cameras: a vehicle split into two ids in two
cameras loses the boxes of the smaller part, whatever the per-camera quality.

One deliberate difference: the official script loops over ground-truth cameras only, silently dropping
predictions for other cameras; here they stay in the sequence and count as false positives.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import motmetrics as mm
import numpy as np
from trackeval.metrics import Identity

from trackers.metrics.formats import MOTBoxes, MTMCBoxes
from trackers.metrics.mot import IOU_THRESHOLD, accumulate, trackeval_data

_MOTMETRICS_FIELDS = (
    "idf1",
    "idp",
    "idr",
    "idtp",
    "idfp",
    "idfn",
    "mota",
    "motp",
    "num_switches",
    "precision",
    "recall",
    "num_objects",
    "num_predictions",
)


def joint_sequence(gt: MTMCBoxes, pred: MTMCBoxes) -> tuple[MOTBoxes, MOTBoxes]:
    """All cameras as one sequence: (ground truth, prediction) with frame ids offset per camera.

    Camera c (sorted over the cameras of gt and pred) gets offset = sum over earlier cameras of
    max(frame id in gt, frame id in pred). Object ids are kept: they are global identities.
    """
    cameras = np.union1d(gt.cameras(), pred.cameras())
    last_frame = np.zeros(len(cameras), dtype=np.int64)
    for boxes in (gt, pred):
        index = np.searchsorted(cameras, boxes.camera_id)
        np.maximum.at(last_frame, index, boxes.frame_id)
    offsets = np.concatenate([[0], np.cumsum(last_frame)[:-1]])

    def shifted(boxes: MTMCBoxes) -> MOTBoxes:
        frame = boxes.frame_id + offsets[np.searchsorted(cameras, boxes.camera_id)]
        return MOTBoxes(frame, boxes.obj_id, boxes.xywh, np.ones(len(boxes)))

    return shifted(gt), shifted(pred)


@dataclass(frozen=True)
class MTMCScore:
    """Joint multi-camera scores. Ratios in [0, 1] (NaN where undefined, e.g. precision of no boxes).

    motp is the mean IoU of matched pairs (MOTChallenge convention), i.e. 1 − motmetrics' motp.
    Counts are boxes (idtp/idfp/idfn, num_*_boxes) or identities (num_*_ids) over all cameras.
    """

    idf1: float
    idp: float
    idr: float
    mota: float
    motp: float
    precision: float
    recall: float
    num_switches: int
    idtp: int
    idfp: int
    idfn: int
    num_gt_boxes: int
    num_pred_boxes: int
    num_gt_ids: int
    num_pred_ids: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def score_mtmc(gt: MTMCBoxes, pred: MTMCBoxes) -> MTMCScore:
    """Score predictions of all cameras against ground truth jointly (AI City track 3).

    gt, pred: boxes of all cameras, global identities in obj_id. Matching is motmetrics' (IoU >= 0.5).
    """
    joint_gt, joint_pred = joint_sequence(gt, pred)
    row = (
        mm.metrics.create()
        .compute(accumulate(joint_gt, joint_pred), metrics=list(_MOTMETRICS_FIELDS), name="mtmc")
        .loc["mtmc"]
    )
    return MTMCScore(
        idf1=float(row["idf1"]),
        idp=float(row["idp"]),
        idr=float(row["idr"]),
        mota=float(row["mota"]),
        motp=1.0 - float(row["motp"]),
        precision=float(row["precision"]),
        recall=float(row["recall"]),
        num_switches=int(row["num_switches"]),
        idtp=int(row["idtp"]),
        idfp=int(row["idfp"]),
        idfn=int(row["idfn"]),
        num_gt_boxes=int(row["num_objects"]),
        num_pred_boxes=int(row["num_predictions"]),
        num_gt_ids=len(np.unique(gt.obj_id)),
        num_pred_ids=len(np.unique(pred.obj_id)),
    )


@dataclass(frozen=True)
class IdentityScore:
    """ID metrics (Ristani et al.): ratios in [0, 1], counts in boxes."""

    idf1: float
    idp: float
    idr: float
    idtp: int
    idfp: int
    idfn: int


def trackeval_identity(gt: MTMCBoxes, pred: MTMCBoxes) -> IdentityScore:
    """The same joint sequence as score_mtmc, scored by TrackEval's Identity metric (the cross-check)."""
    metric = Identity({"THRESHOLD": IOU_THRESHOLD, "PRINT_CONFIG": False})
    res = metric.eval_sequence(trackeval_data(*joint_sequence(gt, pred)))
    return IdentityScore(
        idf1=float(res["IDF1"]),
        idp=float(res["IDP"]),
        idr=float(res["IDR"]),
        idtp=int(res["IDTP"]),
        idfp=int(res["IDFP"]),
        idfn=int(res["IDFN"]),
    )
