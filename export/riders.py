"""Two-wheelers and their riders as one vehicle box.

Detectors trained on COCO box a motorcycle without the person on it (the person is a class of its own);
traffic annotations, and a tracker that follows vehicles, want one box for the machine and its rider. A
person counts as a rider of a two-wheeler when the person's box sits over the two-wheeler's (most of its
width above it, its feet inside it); the two-wheeler's box then grows to cover the rider.
"""

from __future__ import annotations

import numpy as np

RIDER_CLASS = "person"
TWO_WHEELER_CLASSES = frozenset({"motorcycle", "motorbike", "bicycle", "scooter"})
# A rider overlaps the two-wheeler horizontally over most of the rider's own width (legs on both sides of
# the machine); a pedestrian walking past overlaps it only at the edge.
MIN_RIDER_WIDTH_OVERLAP = 0.5


def rider_pairs(person_xyxy: np.ndarray, bike_xyxy: np.ndarray) -> np.ndarray:
    """(P, B) bool: whether each person rides each two-wheeler.

    person_xyxy: (P, 4) px; bike_xyxy: (B, 4) px. A person rides a two-wheeler when their horizontal overlap
    is at least MIN_RIDER_WIDTH_OVERLAP of the person's width, the person's top is above the two-wheeler's
    and the person's bottom lies within its height. A detector may box one two-wheeler twice (e.g. once
    whole and once in a tile of the frame): the rider joins both, so that the two boxes stay alike and
    non-maximum suppression keeps one.
    """
    persons = np.asarray(person_xyxy, dtype=np.float64).reshape(-1, 4)
    bikes = np.asarray(bike_xyxy, dtype=np.float64).reshape(-1, 4)
    if not len(persons) or not len(bikes):
        return np.zeros((len(persons), len(bikes)), dtype=bool)
    p, b = persons[:, None, :], bikes[None, :, :]
    overlap = np.clip(np.minimum(p[..., 2], b[..., 2]) - np.maximum(p[..., 0], b[..., 0]), 0.0, None)
    width = np.maximum(p[..., 2] - p[..., 0], 1e-9)
    above = p[..., 1] < b[..., 1]
    feet_inside = (p[..., 3] > b[..., 1]) & (p[..., 3] <= b[..., 3])
    return above & feet_inside & (overlap / width >= MIN_RIDER_WIDTH_OVERLAP)


def merge_riders(xyxy: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grow every two-wheeler's box over its riders and drop the rider boxes.

    xyxy: (N, 4) px; labels: (N,) class names. Returns (xyxy, keep): the boxes with two-wheelers grown, and
    the (N,) bool rows to keep (False for riders; other persons are kept for the caller to decide).
    """
    boxes = np.array(xyxy, dtype=np.float32).reshape(-1, 4)
    names = np.asarray(labels).astype(str)
    keep = np.ones(len(boxes), dtype=bool)
    person_rows = np.flatnonzero(names == RIDER_CLASS)
    bike_rows = np.flatnonzero(np.isin(names, list(TWO_WHEELER_CLASSES)))
    rides = rider_pairs(boxes[person_rows], boxes[bike_rows])
    grown = boxes.copy()
    for i, j in zip(*np.nonzero(rides), strict=True):
        person, bike = person_rows[i], bike_rows[j]
        grown[bike, :2] = np.minimum(grown[bike, :2], boxes[person, :2])
        grown[bike, 2:] = np.maximum(grown[bike, 2:], boxes[person, 2:])
    keep[person_rows[rides.any(axis=1)]] = False
    return grown, keep
