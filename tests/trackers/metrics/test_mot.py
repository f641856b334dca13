"""Per-camera scoring: IoU helpers, hand-derived CLEAR/ID/HOTA values, combining sequences."""

import math

import numpy as np
import pytest
from trackeval.datasets._base_dataset import _BaseDataset

from trackers.metrics.formats import MOTBoxes
from trackers.metrics.mot import iou_distance_matrix, iou_matrix, score_mot, score_mot_many

N_HOTA_THRESHOLDS = 19  # TrackEval's alphas 0.05, 0.10, ..., 0.95


def mot(rows: list[tuple[int, int, float, float, float, float]]) -> MOTBoxes:
    """MOTBoxes from (frame, id, x, y, w, h) rows."""
    if not rows:
        return MOTBoxes.empty()
    table = np.asarray(rows, dtype=np.float64)
    return MOTBoxes(table[:, 0], table[:, 1], table[:, 2:6], np.ones(len(rows)))


def test_iou_matrix_hand_values():
    gt = np.array([[0, 0, 10, 10], [100, 100, 10, 10]], dtype=float)
    pred = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [0, 0, 10, 6.2]], dtype=float)
    expected = np.array(
        [
            [1.0, 50 / 150, 0.62],  # shifted half a box: 50 px^2 shared of 150; 62 of 100
            [0.0, 0.0, 0.0],
        ]
    )
    np.testing.assert_allclose(iou_matrix(gt, pred), expected)
    distance = iou_distance_matrix(gt, pred)
    # motmetrics semantics: 1 - IoU, NaN (do not pair) where IoU < 0.5.
    np.testing.assert_allclose(distance[0, [0, 2]], [0.0, 0.38])
    assert np.isnan(distance[0, 1]) and np.isnan(distance[1]).all()
    assert iou_matrix(np.zeros((0, 4)), pred).shape == (0, 3)


def test_iou_matrix_matches_trackeval_on_random_boxes():
    rng = np.random.default_rng(3)
    a = np.column_stack([rng.uniform(0, 100, (40, 2)), rng.uniform(1, 60, (40, 2))])
    b = np.column_stack([rng.uniform(0, 100, (30, 2)), rng.uniform(1, 60, (30, 2))])
    reference = _BaseDataset._calculate_box_ious(a, b, box_format="xywh")
    np.testing.assert_allclose(iou_matrix(a, b), reference, rtol=0, atol=1e-12)


def test_perfect_tracking():
    gt = mot(
        [(f, 1, 10 + f, 20, 30, 40) for f in range(1, 6)] + [(f, 2, 200, 20, 30, 40) for f in range(1, 4)]
    )
    score = score_mot(gt, gt)
    assert (score.hota, score.deta, score.assa) == pytest.approx((1.0, 1.0, 1.0))
    assert score.idf1 == 1.0 and score.mota == 1.0
    assert score.motp == pytest.approx(1.0)
    assert (score.num_switches, score.num_gt_boxes, score.num_pred_boxes) == (0, 8, 8)


def test_identity_switch_halfway():
    # One object, 4 frames, boxes exact; the tracker calls it "a" in frames 1-2 and "b" in frames 3-4.
    # Detection is perfect at every IoU threshold: DetA = 1. Each TP's association score is
    # TPA / (TPA + FNA + FPA) = 2 / (2 + 2 + 0) = 0.5, so AssA = 0.5 and HOTA = sqrt(1 * 0.5).
    # IDF1: gt -> a gives IDTP = 2, IDFN = 2, IDFP = 2 (all of b): 4 / 8 = 0.5.
    # MOTA: one switch over 4 gt boxes: 1 - 1/4 = 0.75.
    gt = mot([(f, 1, 10, 10, 20, 20) for f in range(1, 5)])
    pred = mot([(f, 7 if f <= 2 else 8, 10, 10, 20, 20) for f in range(1, 5)])
    score = score_mot(gt, pred)
    assert score.deta == pytest.approx(1.0)
    assert score.assa == pytest.approx(0.5)
    assert score.hota == pytest.approx(math.sqrt(0.5))
    assert score.idf1 == pytest.approx(0.5)
    assert score.mota == pytest.approx(0.75)
    assert score.num_switches == 1


def test_hota_averages_over_iou_thresholds():
    # One object, 3 frames, predicted box 10 x 6.2 inside the 10 x 10 gt box: IoU = 0.62 every frame.
    # It counts as a TP for the 12 thresholds alpha <= 0.60 (0.05 ... 0.60), as FN + FP for the other 7.
    # Where matched, DetA = AssA = 1; elsewhere both are 0. So HOTA = DetA = AssA = 12 / 19.
    # CLEAR (IoU >= 0.5): all matched, MOTA = 1, MOTP (mean IoU) = 0.62.
    gt = mot([(f, 1, 0, 0, 10, 10) for f in range(1, 4)])
    pred = mot([(f, 1, 0, 0, 10, 6.2) for f in range(1, 4)])
    score = score_mot(gt, pred)
    assert score.hota == pytest.approx(12 / N_HOTA_THRESHOLDS)
    assert score.deta == pytest.approx(12 / N_HOTA_THRESHOLDS)
    assert score.assa == pytest.approx(12 / N_HOTA_THRESHOLDS)
    assert score.mota == 1.0
    assert score.motp == pytest.approx(0.62)


def test_empty_prediction():
    gt = mot([(f, 1, 0, 0, 10, 10) for f in range(1, 4)])
    score = score_mot(gt, MOTBoxes.empty())
    assert (score.hota, score.idf1, score.mota, score.recall) == (0.0, 0.0, 0.0, 0.0)
    assert score.num_misses == 3
    assert math.isnan(score.motp)  # no matches: the mean IoU is undefined


def test_combined_row_pools_sequences():
    # Sequence "a" is perfect (4 boxes); sequence "b" has a 2-box false-positive track added to 2 gt boxes.
    # Combined (motmetrics OVERALL): 6 gt boxes, 2 FP -> MOTA = 1 - 2/6; IDTP = 6, IDFP = 2:
    # IDF1 = 12 / (12 + 2) = 6/7. Per-sequence "b": MOTA = 1 - 2/2 = 0, IDF1 = 4 / (4 + 2) = 2/3.
    seq_a = mot([(f, 1, 0, 0, 10, 10) for f in range(1, 5)])
    seq_b = mot([(f, 1, 0, 0, 10, 10) for f in range(1, 3)])
    pred_b = mot([(f, 1, 0, 0, 10, 10) for f in range(1, 3)] + [(f, 2, 50, 50, 10, 10) for f in range(1, 3)])
    report = score_mot_many({"a": (seq_a, seq_a), "b": (seq_b, pred_b)})
    assert list(report.per_sequence) == ["a", "b"]
    assert report.per_sequence["a"].idf1 == 1.0
    assert report.per_sequence["b"].mota == pytest.approx(0.0)
    assert report.per_sequence["b"].idf1 == pytest.approx(2 / 3)
    assert report.combined.mota == pytest.approx(1 - 2 / 6)
    assert report.combined.idf1 == pytest.approx(6 / 7)
    assert (report.combined.num_gt_boxes, report.combined.num_false_positives) == (6, 2)
    # HOTA combined the TrackEval way: DetA pools TP/FN/FP over sequences = 6 / (6 + 0 + 2) at every alpha;
    # AssA is 1 (no association errors), so HOTA = sqrt(0.75).
    assert report.combined.deta == pytest.approx(0.75)
    assert report.combined.hota == pytest.approx(math.sqrt(0.75))
