"""Cleaning teacher boxes with time and the fixed camera: hand-placed boxes, verdicts worked out by hand."""

from __future__ import annotations

import numpy as np

from export.yolo import Boxes
from models.distill.cleaning import has_match, judge_clip, static_score
from models.distill.config import load_distill_config

CFG = load_distill_config().cleaning
SIZE = (640, 360)


def boxes(*rows: tuple[float, float, float, float, float]) -> Boxes:
    """Boxes from (x1, y1, x2, y2, confidence) rows, all cars."""
    data = np.array(rows, dtype=np.float32).reshape(-1, 5)
    return Boxes(data[:, :4], data[:, 4], np.full(len(data), 2), np.full(len(data), "car"))


def test_a_neighbour_box_matches_when_near_and_of_similar_size() -> None:
    car = np.array([[100, 100, 140, 120]], dtype=float)  # diagonal 44.7 px
    assert has_match(car, car + np.array([60, 0, 60, 0]), 1.5, 2.0).tolist() == [
        True
    ]  # moved 60 px < 1.5 diagonals
    assert has_match(car, car + np.array([80, 0, 80, 0]), 1.5, 2.0).tolist() == [False]  # 80 px > 67 px
    assert has_match(car, np.array([[95, 95, 190, 145]]), 1.5, 2.0).tolist() == [False]  # 2.4x as wide
    assert has_match(car, np.zeros((0, 4)), 1.5, 2.0).tolist() == [False]


def test_sure_boxes_stay_supported_ones_stay_flickers_go() -> None:
    key = boxes((100, 100, 140, 120, 0.9), (300, 100, 340, 120, 0.1), (500, 200, 540, 220, 0.1))
    before = boxes((90, 100, 130, 120, 0.8), (290, 100, 330, 120, 0.08))  # the 0.1 car was there a moment ago
    after = boxes((110, 100, 150, 120, 0.9))
    (verdict,) = judge_clip([key], [[before, after]], clip_seconds=5.0, frame_size=SIZE, cfg=CFG)
    assert verdict.reasons.tolist() == ["sure", "supported", "flicker"]
    assert verdict.keep.tolist() == [True, True, False]


def test_what_never_moves_in_a_long_clip_is_a_vehicle_only_when_the_teacher_is_sure() -> None:
    parked, rail, maybe = (10, 10, 60, 40), (200, 300, 400, 320), (500, 10, 550, 40)
    frames = []
    for k in range(10):
        moving = (100 + 30 * k, 150, 140 + 30 * k, 170, 0.3)
        frames.append(boxes((*parked, 0.8), (*rail, 0.2), (*maybe, 0.4), moving))
    neighbours = [[f, f] for f in frames]
    verdicts = judge_clip(frames, neighbours, clip_seconds=60.0, frame_size=SIZE, cfg=CFG)
    assert verdicts[3].reasons.tolist() == ["parked", "static", "unsure_static", "supported"]
    assert verdicts[3].paint.tolist() == [False, False, True, False]
    # In a short clip a car waiting at a light looks just as static: the rule does not apply.
    short = judge_clip(frames, neighbours, clip_seconds=5.0, frame_size=SIZE, cfg=CFG)
    assert short[3].reasons.tolist() == ["sure", "supported", "supported", "supported"]


def test_static_score_counts_keyframes_at_the_same_place_with_their_mean_confidence() -> None:
    a = boxes((10, 10, 60, 40, 0.8))
    b = boxes((11, 10, 61, 40, 0.4))  # IoU 0.96 with a
    c = boxes((300, 10, 350, 40, 0.9))
    (fa, ca), (_, cb), (fc, cc) = static_score([a, b, c], CFG)
    np.testing.assert_allclose(
        [fa[0], ca[0], cb[0]], [2 / 3, 0.6, 0.6], rtol=1e-6
    )  # a and b, (0.8 + 0.4) / 2
    np.testing.assert_allclose([fc[0], cc[0]], [1 / 3, 0.9], rtol=1e-6)


def test_tiny_and_frame_filling_boxes_are_dropped() -> None:
    key = boxes((10, 10, 13, 40, 0.9), (0, 0, 600, 350, 0.9), (100, 100, 140, 120, 0.9))
    (verdict,) = judge_clip([key], [[key, key]], clip_seconds=5.0, frame_size=SIZE, cfg=CFG)
    assert verdict.reasons.tolist() == ["small", "huge", "sure"]


def test_a_part_of_a_vehicle_boxed_again_inside_it_is_dropped() -> None:
    pickup, cab, bike_in_front = (
        (100, 100, 300, 200, 0.9),
        (210, 105, 290, 150, 0.4),
        (120, 150, 160, 200, 0.95),
    )
    key = boxes(pickup, cab, bike_in_front)
    (verdict,) = judge_clip([key], [[key, key]], clip_seconds=5.0, frame_size=SIZE, cfg=CFG)
    # The cab lies within the surer pickup; the bike, surer than the pickup it stands in front of, stays.
    assert verdict.reasons.tolist() == ["sure", "nested", "sure"]
