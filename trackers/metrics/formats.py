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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trackers.metrics.boxes import MOTBoxes, MTMCBoxes, Problem, box_problem

MTMC_COLUMNS = ("camera_id", "obj_id", "frame_id", "xmin", "ymin", "width", "height", "xworld", "yworld")
MTMC_COLUMNS_NO_WORLD = MTMC_COLUMNS[:7]
MOT_COLUMNS = ("frame", "id", "x", "y", "w", "h", "conf")
MOT_MIN_COLUMNS = 6
# A ground-truth row with conf == 0 is "not considered" (MOTChallenge's ignore flag).
MOT_GT_IGNORE_CONF = 0.0
# Written when a box has no ground-plane position (AI City's convention).
UNKNOWN_WORLD = -1.0


class FormatError(ValueError):
    """A tracking text file that cannot be read; the message names the file, the line and the fix."""


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


def _value_problem(table: np.ndarray, layout: _Layout) -> Problem | None:
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
            return Problem(row, f"{_field(layout, column)} is {table[row, column]}, expected a finite number")
        column = layout.integer_columns[int(np.argmin(integral[row]))]
        return Problem(row, f"{_field(layout, column)} must be an integer, got {table[row, column]:g}")
    if layout is MTMC_LAYOUT:
        camera, obj, frame = (table[:, c].astype(np.int64) for c in (0, 1, 2))
        return box_problem(frame, table[:, 3:7], (camera, frame, obj), ("camera", "frame", "id"))
    frame, obj = (table[:, c].astype(np.int64) for c in (0, 1))
    return box_problem(frame, table[:, 2:6], (frame, obj), ("frame", "id"))


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
