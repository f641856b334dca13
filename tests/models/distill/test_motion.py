"""The fixed camera's background and unexplained motion, on a drawn clip."""

from __future__ import annotations

import cv2
import numpy as np

from models.distill.config import load_distill_config
from models.distill.motion import (
    always_changing,
    box_mask,
    clip_background,
    paint_regions,
    unexplained_motion,
)

CFG = load_distill_config().motion


def road() -> np.ndarray:
    image = np.full((240, 320, 3), 120, dtype=np.uint8)
    image[180:] = 90
    return image


def with_car(x: int) -> np.ndarray:
    image = road()
    cv2.rectangle(image, (x, 100), (x + 50, 130), (30, 30, 200), -1)
    return image


def test_the_median_of_spread_keyframes_is_the_empty_road() -> None:
    frames = [with_car(10 + 25 * k) for k in range(10)]  # the car is somewhere else in every frame
    assert np.abs(clip_background(frames).astype(int) - road()).max() <= 1


def test_a_car_no_kept_box_explains_is_found_and_painted_with_the_background() -> None:
    background, frame = road(), with_car(100)
    moving = unexplained_motion(frame, background, np.zeros((0, 4)), CFG)
    assert moving is not None
    assert moving[100:131, 100:151].mean() > 0.95 and moving[:80].sum() == 0
    painted = paint_regions(frame, moving, background, np.zeros((0, 4)))
    assert np.abs(painted.astype(int) - background).max() <= 1  # the missed car is gone


def test_a_car_inside_a_kept_box_is_explained_and_left_alone() -> None:
    frame = with_car(100)
    assert unexplained_motion(frame, road(), np.array([[98, 98, 152, 132]]), CFG) is None


def test_a_frame_that_changed_everywhere_is_left_unpainted() -> None:
    brighter = np.clip(road().astype(int) + 80, 0, 255).astype(np.uint8)  # the sun came out
    assert unexplained_motion(brighter, road(), np.zeros((0, 4)), CFG) is None


def test_unsure_boxes_are_inpainted_and_the_rest_kept() -> None:
    frame = with_car(100)
    painted = paint_regions(frame, None, None, np.array([[95, 95, 155, 135]]))
    assert np.abs(painted[100:131, 100:151].astype(int) - 120).max() < 30  # the car's red is gone
    assert np.array_equal(painted[:80], frame[:80])
    assert box_mask(np.array([[10, 10, 20, 20]]), (240, 320), 0.5)[5:11, 5:11].all()


def test_a_burned_in_clock_is_scenery_and_never_painted() -> None:
    def with_clock(second: int, car_x: int | None = None) -> np.ndarray:
        image = road() if car_x is None else with_car(car_x)
        cv2.putText(
            image, f"12:00:{second:02d}", (200, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1
        )
        return image

    frames = [with_clock(s, 10 + 25 * s) for s in range(10)]  # the digits change in every frame
    background = clip_background(frames)
    scenery = always_changing(frames, background, CFG)
    frame = with_clock(37, car_x=100)
    moving = unexplained_motion(frame, background, np.zeros((0, 4)), CFG, scenery)
    assert moving is not None and moving[100:131, 100:151].mean() > 0.95  # the missed car is painted...
    assert not moving[5:25, 195:300].any()  # ...the clock is not
