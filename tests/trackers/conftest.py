"""Hand-built tracklets for the association tests: straight-line vehicles on a ground plane, 10 fps."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from trackers.types import Tracklet

FPS = 10.0
DIM = 8


def unit(*values: float) -> np.ndarray:
    """A (DIM,) unit vector from its first few components."""
    v = np.zeros(DIM, dtype=np.float32)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


def tracklet(
    camera_id: str,
    track_id: int,
    t_start: float,
    t_end: float,
    embedding: np.ndarray,
    start_xy: tuple[float, float] | None = None,
    velocity: tuple[float, float] = (10.0, 0.0),
) -> Tracklet:
    """A vehicle seen from t_start to t_end (s) at FPS; on the ground from start_xy (m) at velocity (m/s),
    or with unknown positions when start_xy is None."""
    times = np.round(np.arange(t_start, t_end + 1e-9, 1.0 / FPS), 6)
    frames = np.rint(times * FPS).astype(np.int64) + 1
    if start_xy is None:
        world = np.full((len(times), 2), np.nan)
    else:
        world = np.asarray(start_xy) + np.outer(times - t_start, velocity)
    boxes = np.tile([100.0, 100.0, 160.0, 150.0], (len(times), 1))
    return Tracklet(camera_id, track_id, embedding, len(times), frames, times, boxes, world)


@pytest.fixture
def make_tracklet() -> Callable[..., Tracklet]:
    return tracklet


@pytest.fixture
def unit_vector() -> Callable[..., np.ndarray]:
    return unit
