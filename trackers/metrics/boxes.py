"""Column-oriented, validated box types of tracking results: one camera (MOT) or all cameras (AI City MTMC).

Boxes are in pixels (left, top, width, height); frame ids are 1-based; world coordinates in metres.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

FIRST_FRAME = 1

# Placeholder in a problem message for the position of an earlier row (the first of a duplicate pair).
EARLIER = "<earlier>"


class Problem(NamedTuple):
    """A rule broken at data row `row` (0-based); EARLIER in the message stands for `earlier_row`."""

    row: int
    message: str
    earlier_row: int | None = None

    def render(self, source: str, position: Callable[[int], str]) -> str:
        """One-line message; `position` names a row, e.g. ``lambda r: f"line {lines[r]}"``."""
        message = self.message
        if self.earlier_row is not None:
            message = message.replace(EARLIER, position(self.earlier_row))
        return f"{source} {position(self.row)}: {message}"


def box_problem(
    frame_id: np.ndarray, xywh: np.ndarray, key: Sequence[np.ndarray], key_names: Sequence[str]
) -> Problem | None:
    """First row (0-based) that breaks a value rule, with a message; None when all rows are fine.

    frame_id: (N,) int; xywh: (N, 4) float pixels; key: columns that identify one box per frame
    (e.g. camera, frame, object) and may not repeat.
    """
    checks = [
        (frame_id < FIRST_FRAME, lambda r: f"frame id must be >= {FIRST_FRAME} (1-based), got {frame_id[r]}"),
        (xywh[:, 2] <= 0, lambda r: f"box width must be > 0 pixels, got {xywh[r, 2]:g}"),
        (xywh[:, 3] <= 0, lambda r: f"box height must be > 0 pixels, got {xywh[r, 3]:g}"),
    ]
    bad_rows = [int(np.argmax(mask)) for mask, _ in checks if mask.any()]
    duplicate = _first_duplicate(key)
    if duplicate is not None:
        bad_rows.append(duplicate[0])
    if not bad_rows:
        return None
    row = min(bad_rows)
    for mask, describe in checks:
        if mask[row]:
            return Problem(row, describe(row))
    assert duplicate is not None and duplicate[0] == row
    values = ", ".join(f"{name} {int(col[row])}" for name, col in zip(key_names, key, strict=True))
    message = f"duplicate box ({values}), first given at {EARLIER}; one box per object per frame"
    return Problem(row, message, earlier_row=duplicate[1])


def _first_duplicate(key: Sequence[np.ndarray]) -> tuple[int, int] | None:
    """(row, first_row): the earliest row whose key repeats an earlier row's, and that earlier row."""
    n = len(key[0])
    if n < 2:
        return None
    # lexsort is stable, so within a run of equal keys rows keep file order.
    order = np.lexsort(tuple(reversed(key)))
    same_as_previous = np.ones(n - 1, dtype=bool)
    for col in key:
        sorted_col = col[order]
        same_as_previous &= sorted_col[1:] == sorted_col[:-1]
    if not same_as_previous.any():
        return None
    repeats = order[1:][same_as_previous]
    row = int(repeats.min())
    first = int(np.flatnonzero(np.logical_and.reduce([col == col[row] for col in key]))[0])
    return row, first


def _as_column(name: str, values: np.ndarray, dtype: type, n: int | None) -> np.ndarray:
    raw = np.asarray(values)
    # Casting 3.5 to int64 would silently truncate an id or frame number.
    if dtype is np.int64 and raw.dtype.kind == "f" and not np.all(np.isfinite(raw) & (raw == np.round(raw))):
        raise ValueError(f"{name} must hold integers")
    if dtype is np.float64 and not np.all(np.isfinite(raw)):
        raise ValueError(f"{name} must be finite")
    array = np.ascontiguousarray(raw, dtype=dtype)
    if array.ndim != 1 or (n is not None and array.shape[0] != n):
        raise ValueError(f"{name} must have shape ({n if n is not None else 'N'},), got {array.shape}")
    return array


def _as_boxes(name: str, values: np.ndarray, n: int, width: int = 4) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.size == 0:
        array = array.reshape(0, width)
    if array.shape != (n, width):
        raise ValueError(f"{name} must have shape ({n}, {width}), got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite")
    return array


@dataclass(frozen=True)
class MOTBoxes:
    """Boxes of one camera, MOTChallenge style; N rows, one per (frame, object).

    frame_id: (N,) int64, 1-based. obj_id: (N,) int64, the track / object identity.
    xywh: (N, 4) float64 pixels (left, top, width, height), width and height > 0.
    confidence: (N,) float64, as given (predictions often write -1).
    """

    frame_id: np.ndarray
    obj_id: np.ndarray
    xywh: np.ndarray
    confidence: np.ndarray

    def __post_init__(self) -> None:
        frame_id = _as_column("frame_id", self.frame_id, np.int64, None)
        n = frame_id.shape[0]
        object.__setattr__(self, "frame_id", frame_id)
        object.__setattr__(self, "obj_id", _as_column("obj_id", self.obj_id, np.int64, n))
        object.__setattr__(self, "xywh", _as_boxes("xywh", self.xywh, n))
        object.__setattr__(self, "confidence", _as_column("confidence", self.confidence, np.float64, n))
        problem = box_problem(self.frame_id, self.xywh, (self.frame_id, self.obj_id), ("frame", "id"))
        if problem is not None:
            raise ValueError(problem.render("MOTBoxes", lambda r: f"row {r}"))

    def __len__(self) -> int:
        return int(self.frame_id.shape[0])

    @classmethod
    def empty(cls) -> MOTBoxes:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0))


@dataclass(frozen=True)
class MTMCBoxes:
    """Boxes of all cameras, AI City MTMC style; N rows, one per (camera, frame, object).

    camera_id: (N,) int64. obj_id: (N,) int64, global identity (the same vehicle keeps its id across cameras).
    frame_id: (N,) int64, 1-based, per camera. xywh: (N, 4) float64 pixels (left, top, width, height).
    world_xy: (N, 2) float64 metres on the ground plane, -1 when unknown.
    """

    camera_id: np.ndarray
    obj_id: np.ndarray
    frame_id: np.ndarray
    xywh: np.ndarray
    world_xy: np.ndarray

    def __post_init__(self) -> None:
        camera_id = _as_column("camera_id", self.camera_id, np.int64, None)
        n = camera_id.shape[0]
        object.__setattr__(self, "camera_id", camera_id)
        object.__setattr__(self, "obj_id", _as_column("obj_id", self.obj_id, np.int64, n))
        object.__setattr__(self, "frame_id", _as_column("frame_id", self.frame_id, np.int64, n))
        object.__setattr__(self, "xywh", _as_boxes("xywh", self.xywh, n))
        object.__setattr__(self, "world_xy", _as_boxes("world_xy", self.world_xy, n, width=2))
        key = (self.camera_id, self.frame_id, self.obj_id)
        problem = box_problem(self.frame_id, self.xywh, key, ("camera", "frame", "id"))
        if problem is not None:
            raise ValueError(problem.render("MTMCBoxes", lambda r: f"row {r}"))

    def __len__(self) -> int:
        return int(self.camera_id.shape[0])

    @classmethod
    def empty(cls) -> MTMCBoxes:
        return cls(*(np.zeros(0, np.int64) for _ in range(3)), np.zeros((0, 4)), np.zeros((0, 2)))

    def cameras(self) -> np.ndarray:
        """Sorted distinct camera ids, (C,) int64."""
        return np.unique(self.camera_id)

    def camera(self, camera_id: int) -> MOTBoxes:
        """The rows of one camera as MOTBoxes (confidence 1)."""
        rows = self.camera_id == camera_id
        return MOTBoxes(self.frame_id[rows], self.obj_id[rows], self.xywh[rows], np.ones(int(rows.sum())))
