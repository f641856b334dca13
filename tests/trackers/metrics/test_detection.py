"""Detection scores on tiny hand-built cases with answers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from trackers.metrics.detection import ImageBoxes, average_precision, match_image, score_detections

GT = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], dtype=float)


def test_greedy_matching_gives_each_truth_box_to_one_prediction() -> None:
    pred = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 0, 30, 10], [50, 50, 60, 60]], dtype=float)
    score = np.array([0.6, 0.9, 0.5, 0.95])
    # 0.9 takes truth 0 (IoU 9/11 = 0.82); 0.6 finds it taken (a duplicate); 0.5 takes truth 1; 0.95 hits nothing.
    assert match_image(GT, pred, score).tolist() == [False, True, True, False]


def test_a_box_below_the_iou_threshold_is_a_miss() -> None:
    shifted = np.array([[5, 0, 15, 10]], dtype=float)  # IoU with truth 0: 50 / 150 = 0.33
    assert match_image(GT, shifted, np.array([0.9])).tolist() == [False]


def test_precision_recall_f1_and_ap_match_the_hand_computed_answer() -> None:
    # Scores 0.9 (hit), 0.8 (false), 0.7 (hit): precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1.
    pred = np.array([[0, 0, 10, 10], [40, 0, 50, 10], [20, 0, 30, 10]], dtype=float)
    image = ImageBoxes(GT, pred, np.array([0.9, 0.8, 0.7]))
    # AP = 1/2 x 1 (envelope at recall 1/2) + 1/2 x 2/3 = 5/6.
    scores = score_detections([image], confidence=0.75)
    assert scores.ap50 == pytest.approx(5 / 6)
    assert (scores.true_positives, scores.false_positives, scores.gt_boxes) == (1, 1, 2)
    assert (scores.precision, scores.recall, scores.f1) == pytest.approx((0.5, 0.5, 0.5))
    everything = score_detections([image], confidence=0.0)
    assert (everything.precision, everything.recall) == pytest.approx((2 / 3, 1.0))
    assert everything.f1 == pytest.approx(0.8)


def test_scores_add_up_over_images_and_empty_images_count() -> None:
    hit = ImageBoxes(GT[:1], GT[:1], np.array([0.9]))
    false_alarm = ImageBoxes(np.zeros((0, 4)), GT[:1], np.array([0.95]))
    missed = ImageBoxes(GT, np.zeros((0, 4)), np.zeros(0))
    scores = score_detections([hit, false_alarm, missed], confidence=0.5)
    assert (scores.true_positives, scores.false_positives, scores.gt_boxes) == (1, 1, 3)
    # Ranked: 0.95 false (P 0), 0.9 hit (P 1/2 at recall 1/3): AP = 1/3 x 1/2.
    assert scores.ap50 == pytest.approx(1 / 6)


def test_ap_of_no_truth_is_undefined_and_no_prediction_is_zero() -> None:
    assert np.isnan(average_precision(np.array([0.5]), np.array([False]), 0))
    assert average_precision(np.zeros(0), np.zeros(0, dtype=bool), 3) == 0.0
