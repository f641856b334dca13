"""Reading, validating and writing the two tracking-result text formats scored by crosscam.

- AI City MTMC (CityFlow), one file for all cameras, whitespace separated:
  ``camera_id obj_id frame_id xmin ymin width height xworld yworld`` (7 columns without the world
  coordinates are accepted; ``-1`` world coordinates mean "unknown").
- MOTChallenge, one file per camera, comma separated: ``frame,id,x,y,w,h,conf,...`` (at least 6 columns).

Boxes are in pixels (left, top, width, height); frame ids are 1-based; world coordinates in metres.
An empty *prediction* file is legal (the tracker found nothing); an empty *ground-truth* file is an error,
because there would be nothing to score against.

Parsing takes a fast vectorised path (``np.loadtxt``) and falls back to a line-by-line scan only to
report the exact first bad line, so a 10^6-line file costs well under a second when it is valid.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

MTMC_COLUMNS = ("camera_id", "obj_id", "frame_id", "xmin", "ymin", "width", "height", "xworld", "yworld")
MTMC_COLUMNS_NO_WORLD = MTMC_COLUMNS[:7]
MOT_COLUMNS = ("frame", "id", "x", "y", "w", "h", "conf")
MOT_MIN_COLUMNS = 6
# A ground-truth row with conf == 0 is "not considered" (MOTChallenge's ignore flag).
MOT_GT_IGNORE_CONF = 0.0
# Written when a box has no ground-plane position (AI City's convention).
UNKNOWN_WORLD = -1.0
FIRST_FRAME = 1


class FormatError(ValueError):
    """A tracking text file that cannot be read; the message names the file, the line and the fix."""


# --------------------------------------------------------------------------------------------------
# Column-oriented types
# --------------------------------------------------------------------------------------------------


# Placeholder in a problem message for the position of an earlier row (the first of a duplicate pair).
EARLIER = "<earlier>"


class _Problem(NamedTuple):
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


def _box_problem(
    frame_id: np.ndarray, xywh: np.ndarray, key: Sequence[np.ndarray], key_names: Sequence[str]
) -> _Problem | None:
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
            return _Problem(row, describe(row))
    assert duplicate is not None and duplicate[0] == row
    values = ", ".join(f"{name} {int(col[row])}" for name, col in zip(key_names, key, strict=True))
    message = f"duplicate box ({values}), first given at {EARLIER}; one box per object per frame"
    return _Problem(row, message, earlier_row=duplicate[1])


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
        problem = _box_problem(self.frame_id, self.xywh, (self.frame_id, self.obj_id), ("frame", "id"))
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
        problem = _box_problem(self.frame_id, self.xywh, key, ("camera", "frame", "id"))
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


# --------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """How one text format looks: delimiter, column names, allowed column counts, integer columns."""

    name: str
    delimiter: str | None  # None: any run of whitespace
    columns: tuple[str, ...]
    allowed_counts: tuple[int, ...]  # exact column counts; empty = at least min_count
    min_count: int
    integer_columns: tuple[int, ...]
    used_columns: int  # leading columns kept; missing trailing ones are filled by the reader

    def describe(self) -> str:
        sep = " " if self.delimiter is None else self.delimiter
        return sep.join(self.columns)

    def count_message(self, got: int, expected: int | None) -> str:
        kind = "space-separated" if self.delimiter is None else "comma-separated"
        if expected is not None:
            return f"expected {expected} {kind} columns like the lines before ({self.describe()}), got {got}"
        if self.allowed_counts:
            counts = " or ".join(str(c) for c in sorted(self.allowed_counts, reverse=True))
            return f"expected {counts} {kind} columns ({self.describe()}), got {got}"
        return f"expected at least {self.min_count} {kind} columns ({self.describe()},...), got {got}"


MTMC_LAYOUT = _Layout(
    name="AI City MTMC",
    delimiter=None,
    columns=MTMC_COLUMNS,
    allowed_counts=(len(MTMC_COLUMNS), len(MTMC_COLUMNS_NO_WORLD)),
    min_count=len(MTMC_COLUMNS_NO_WORLD),
    integer_columns=(0, 1, 2),
    used_columns=len(MTMC_COLUMNS),
)
MOT_LAYOUT = _Layout(
    name="MOTChallenge",
    delimiter=",",
    columns=MOT_COLUMNS,
    allowed_counts=(),
    min_count=MOT_MIN_COLUMNS,
    integer_columns=(0, 1),
    used_columns=len(MOT_COLUMNS),
)


def _check_readable(path: Path, what: str) -> None:
    if not path.exists():
        raise FormatError(f"{path}: no such file; pass the path of an existing {what} file")
    if path.is_dir():
        raise FormatError(f"{path}: is a directory; pass the path of a {what} file")


def _fast_table(path: Path, layout: _Layout) -> np.ndarray | None:
    """(N, K) float64 table via np.loadtxt, or None when the file needs the line-by-line scan."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
            table = np.loadtxt(path, dtype=np.float64, delimiter=layout.delimiter, comments=None, ndmin=2)
    except (ValueError, UnicodeDecodeError):
        return None
    if table.shape[0] == 0:
        return table.reshape(0, layout.used_columns)
    ncols = table.shape[1]
    if (layout.allowed_counts and ncols not in layout.allowed_counts) or ncols < layout.min_count:
        return None
    return _fill_columns(table, layout)


def _fill_columns(table: np.ndarray, layout: _Layout) -> np.ndarray:
    """Keep the used leading columns; fill missing optional ones (world = -1, conf = 1)."""
    n, ncols = table.shape
    if ncols >= layout.used_columns:
        return np.ascontiguousarray(table[:, : layout.used_columns])
    fill = UNKNOWN_WORLD if layout is MTMC_LAYOUT else 1.0
    return np.hstack([table, np.full((n, layout.used_columns - ncols), fill)])


def _scan(path: Path, layout: _Layout) -> tuple[np.ndarray, np.ndarray]:
    """Line-by-line parse: ((N, K) float64 table, (N,) 1-based line numbers).

    Raises FormatError at the first line with a wrong column count or a non-numeric field, unless an
    earlier line breaks a value rule, which is then reported instead (the first bad line wins).
    """
    rows: list[list[float]] = []
    line_numbers: list[int] = []
    first_count: int | None = None
    error: tuple[int, str] | None = None
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line_number, line in enumerate(handle, start=1):
            stripped = line.strip()
            if not stripped:
                continue
            fields = stripped.split(layout.delimiter)
            count = len(fields)
            if layout.allowed_counts:
                expected = first_count
                ok = count == first_count if first_count is not None else count in layout.allowed_counts
            else:
                expected, ok = None, count >= layout.min_count
            if not ok:
                error = (line_number, layout.count_message(count, expected))
                break
            first_count = count if first_count is None else first_count
            values, bad_field = _floats(fields[: layout.used_columns])
            if bad_field is not None:
                text = fields[bad_field].strip()
                error = (line_number, f"{_field(layout, bad_field)} is {text!r}, expected a number")
                break
            rows.append(values)
            line_numbers.append(line_number)
    table = _pad_rows(rows, layout)
    lines = np.asarray(line_numbers, dtype=np.int64)
    value_problem = _value_problem(table, layout)
    if value_problem is not None:
        raise FormatError(value_problem.render(str(path), lambda r: f"line {lines[r]}"))
    if error is not None:
        raise FormatError(f"{path} line {error[0]}: {error[1]}")
    return table, lines


def _floats(fields: list[str]) -> tuple[list[float], int | None]:
    values = []
    for index, text in enumerate(fields):
        try:
            values.append(float(text))
        except ValueError:
            return values, index
    return values, None


def _pad_rows(rows: list[list[float]], layout: _Layout) -> np.ndarray:
    if not rows:
        return np.zeros((0, layout.used_columns))
    width = max(len(r) for r in rows)
    if all(len(r) == width for r in rows):
        return _fill_columns(np.asarray(rows, dtype=np.float64), layout)
    # Rows of different lengths (legal in MOTChallenge files): pad each to the widest, then fill.
    return _fill_columns(np.asarray([r + [1.0] * (width - len(r)) for r in rows], dtype=np.float64), layout)


def _field(layout: _Layout, column: int) -> str:
    name = layout.columns[column] if column < len(layout.columns) else "extra"
    return f"field {column + 1} ({name})"


def _value_problem(table: np.ndarray, layout: _Layout) -> _Problem | None:
    """First row (0-based) whose values break a rule of the format, with a message; None if all fine."""
    if table.shape[0] == 0:
        return None
    finite = np.isfinite(table)
    ints = table[:, list(layout.integer_columns)]
    integral = np.isfinite(ints) & (ints == np.round(ints))
    bad = ~finite.all(axis=1) | ~integral.all(axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        if not finite[row].all():
            column = int(np.argmin(finite[row]))
            return _Problem(
                row, f"{_field(layout, column)} is {table[row, column]}, expected a finite number"
            )
        column = layout.integer_columns[int(np.argmin(integral[row]))]
        return _Problem(row, f"{_field(layout, column)} must be an integer, got {table[row, column]:g}")
    if layout is MTMC_LAYOUT:
        camera, obj, frame = (table[:, c].astype(np.int64) for c in (0, 1, 2))
        return _box_problem(frame, table[:, 3:7], (camera, frame, obj), ("camera", "frame", "id"))
    frame, obj = (table[:, c].astype(np.int64) for c in (0, 1))
    return _box_problem(frame, table[:, 2:6], (frame, obj), ("frame", "id"))


def _read_table(path: str | Path, layout: _Layout, *, ground_truth: bool) -> np.ndarray:
    """Validated (N, K) float64 table of a file; K = layout.used_columns."""
    path = Path(path)
    what = f"{layout.name} {'ground-truth' if ground_truth else 'prediction'}"
    _check_readable(path, what)
    try:
        table = _fast_table(path, layout)
        lines = None
        if table is None:
            table, lines = _scan(path, layout)
    except OSError as error:  # e.g. no read permission
        raise FormatError(
            f"{path}: cannot be read ({error.strerror}); check that it is a readable file"
        ) from None
    if table.shape[0] == 0:
        if ground_truth:
            raise FormatError(
                f"{path}: file is empty; a {what} file needs one line per box: {layout.describe()}"
            )
        return table
    problem = _value_problem(table, layout)
    if problem is not None:
        if lines is None:
            _, lines = _scan(path, layout)  # raises with the line number
        raise FormatError(problem.render(str(path), lambda r: f"line {lines[r]}"))
    return table


def read_mtmc(path: str | Path, *, ground_truth: bool) -> MTMCBoxes:
    """Read an AI City MTMC file (all cameras). An empty file is legal only for predictions.

    Raises FormatError naming the file and the 1-based line of the first problem.
    """
    table = _read_table(path, MTMC_LAYOUT, ground_truth=ground_truth)
    return MTMCBoxes(
        camera_id=table[:, 0].astype(np.int64),
        obj_id=table[:, 1].astype(np.int64),
        frame_id=table[:, 2].astype(np.int64),
        xywh=table[:, 3:7],
        world_xy=table[:, 7:9],
    )


def read_mot(path: str | Path, *, ground_truth: bool) -> MOTBoxes:
    """Read a MOTChallenge file (one camera). An empty file is legal only for predictions.

    For ground truth, rows with conf == 0 are dropped ("not considered", as MOTChallenge does); a missing
    conf column means 1. Prediction conf is kept as given. Raises FormatError like read_mtmc.
    """
    table = _read_table(path, MOT_LAYOUT, ground_truth=ground_truth)
    if ground_truth:
        table = table[table[:, 6] != MOT_GT_IGNORE_CONF]
    return MOTBoxes(
        frame_id=table[:, 0].astype(np.int64),
        obj_id=table[:, 1].astype(np.int64),
        xywh=table[:, 2:6],
        confidence=table[:, 6],
    )


# --------------------------------------------------------------------------------------------------
# Writing (the inverse of the readers; used by tests and tools)
# --------------------------------------------------------------------------------------------------


def write_mtmc(path: str | Path, boxes: MTMCBoxes) -> None:
    """Write boxes as an AI City MTMC file (9 columns)."""
    columns = [boxes.camera_id, boxes.obj_id, boxes.frame_id, *boxes.xywh.T, *boxes.world_xy.T]
    _write(Path(path), columns, " ", ["%d"] * 3 + ["%.3f"] * 4 + ["%.3f"] * 2)


def write_mot(path: str | Path, boxes: MOTBoxes) -> None:
    """Write boxes as a MOTChallenge file: frame,id,x,y,w,h,conf,-1,-1,-1."""
    minus_one = np.full(len(boxes), -1.0)
    columns = [boxes.frame_id, boxes.obj_id, *boxes.xywh.T, boxes.confidence, minus_one, minus_one, minus_one]
    _write(Path(path), columns, ",", ["%d"] * 2 + ["%.3f"] * 4 + ["%g"] * 4)


def _write(path: Path, columns: list[np.ndarray], delimiter: str, fmt: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if len(columns[0]) == 0:
        path.write_text("")
        return
    np.savetxt(path, np.column_stack(columns), fmt=fmt, delimiter=delimiter)


__all__ = [
    "MOT_COLUMNS",
    "MTMC_COLUMNS",
    "FormatError",
    "MOTBoxes",
    "MTMCBoxes",
    "read_mot",
    "read_mtmc",
    "write_mot",
    "write_mtmc",
]
