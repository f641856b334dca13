"""Riders join their two-wheelers: hand-placed boxes."""

from __future__ import annotations

import numpy as np

from export.riders import merge_riders, rider_pairs

BIKE = [100, 150, 160, 220]  # x1, y1, x2, y2 px
RIDER = [105, 90, 150, 190]  # above the bike, feet inside it, most of its width over it


def test_a_person_on_a_bike_rides_it_and_the_bike_box_grows_over_them() -> None:
    xyxy = np.array([BIKE, RIDER], dtype=np.float32)
    boxes, keep = merge_riders(xyxy, np.array(["motorcycle", "person"]))
    assert keep.tolist() == [True, False]
    assert boxes[0].tolist() == [100, 90, 160, 220]


def test_pedestrians_beside_or_below_a_bike_are_not_riders() -> None:
    beside = [158, 90, 200, 200]  # overlaps the bike over 2 of its 42 px
    standing_below = [105, 160, 150, 260]  # top below the bike's top, feet below its bottom
    assert rider_pairs(np.array([beside, standing_below]), np.array([BIKE])).tolist() == [[False], [False]]


def test_two_riders_on_two_bikes_each_join_their_own_and_cars_never_take_riders() -> None:
    other_bike = [170, 150, 230, 220]
    persons = np.array([RIDER, [175, 90, 220, 190]])
    assert rider_pairs(persons, np.array([BIKE, other_bike])).tolist() == [[True, False], [False, True]]
    boxes, keep = merge_riders(np.array([BIKE, RIDER]), np.array(["car", "person"]))
    assert keep.tolist() == [True, True] and boxes[0].tolist() == BIKE


def test_a_bike_boxed_twice_grows_both_boxes_over_its_rider() -> None:
    """Whole and from a tile, one motorcycle can come as two boxes: both take the rider, so they stay alike."""
    again = [102, 152, 158, 221]
    boxes, keep = merge_riders(
        np.array([BIKE, again, RIDER]), np.array(["motorcycle", "motorcycle", "person"])
    )
    assert keep.tolist() == [True, True, False]
    assert boxes[0].tolist() == [100, 90, 160, 220] and boxes[1].tolist() == [102, 90, 158, 221]


def test_no_persons_or_no_bikes_change_nothing() -> None:
    assert rider_pairs(np.zeros((0, 4)), np.array([BIKE])).shape == (0, 1)
    assert rider_pairs(np.array([RIDER]), np.zeros((0, 4))).shape == (1, 0)
