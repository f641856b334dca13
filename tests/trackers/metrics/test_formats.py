"""Reading and validating the AI City MTMC and MOTChallenge text formats."""

from pathlib import Path

import numpy as np
import pytest

from trackers.metrics.formats import (
    FormatError,
    MOTBoxes,
    MTMCBoxes,
    read_mot,
    read_mtmc,
    write_mot,
    write_mtmc,
)

GOOD_MTMC = """\
1 7 1 10 20 30 40 5.5 -1
1 7 2 12 20 30 40 -1 -1

2 7 1 100.5 200 31 41.25 1 2
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_mtmc_parses_columns_and_skips_blank_lines(tmp_path):
    boxes = read_mtmc(_write(tmp_path, "gt.txt", GOOD_MTMC + "\n   \n"), ground_truth=True)
    assert len(boxes) == 3
    np.testing.assert_array_equal(boxes.camera_id, [1, 1, 2])
    np.testing.assert_array_equal(boxes.obj_id, [7, 7, 7])
    np.testing.assert_array_equal(boxes.frame_id, [1, 2, 1])
    np.testing.assert_allclose(boxes.xywh[2], [100.5, 200, 31, 41.25])
    np.testing.assert_allclose(boxes.world_xy, [[5.5, -1], [-1, -1], [1, 2]])
    assert boxes.camera_id.dtype == np.int64
    np.testing.assert_array_equal(boxes.cameras(), [1, 2])
    camera_two = boxes.camera(2)
    assert isinstance(camera_two, MOTBoxes)
    np.testing.assert_array_equal(camera_two.frame_id, [1])


def test_read_mtmc_accepts_seven_columns_integral_floats_and_trailing_whitespace(tmp_path):
    text = "3.0 4 1.0 0 0 10 10   \n3 4 2 1 1 10 10\t\n"
    boxes = read_mtmc(_write(tmp_path, "p.txt", text), ground_truth=False)
    np.testing.assert_array_equal(boxes.camera_id, [3, 3])
    np.testing.assert_array_equal(boxes.frame_id, [1, 2])
    # No world columns: filled with AI City's "unknown" value.
    np.testing.assert_array_equal(boxes.world_xy, -np.ones((2, 2)))


def test_empty_prediction_is_legal_empty_ground_truth_is_not(tmp_path):
    empty = _write(tmp_path, "empty.txt", "\n  \n")
    assert len(read_mtmc(empty, ground_truth=False)) == 0
    assert len(read_mot(empty, ground_truth=False)) == 0
    with pytest.raises(FormatError, match=r"empty\.txt: file is empty.*camera_id obj_id frame_id"):
        read_mtmc(empty, ground_truth=True)
    with pytest.raises(FormatError, match=r"empty\.txt: file is empty.*frame,id,x,y,w,h"):
        read_mot(_write(tmp_path, "empty.txt", ""), ground_truth=True)


def test_read_mot_drops_ignored_ground_truth_rows_but_keeps_prediction_conf(tmp_path):
    text = "1,1,10,10,20,20,1,3,0.9\n1,2,50,50,20,20,0,3,1.0\n2,1,11,10,20,20,1,3,0.8\n"
    gt = read_mot(_write(tmp_path, "gt.txt", text), ground_truth=True)
    np.testing.assert_array_equal(gt.obj_id, [1, 1])  # the conf == 0 row is "not considered"
    pred = read_mot(_write(tmp_path, "pred.txt", text), ground_truth=False)
    np.testing.assert_array_equal(pred.confidence, [1, 0, 1])


def test_read_mot_six_columns_and_mixed_widths(tmp_path):
    text = "1,1,10,10,20,20\n2, 1, 11, 10, 20, 20, 0.5, -1, -1, -1\n"
    pred = read_mot(_write(tmp_path, "pred.txt", text), ground_truth=False)
    np.testing.assert_array_equal(pred.frame_id, [1, 2])
    np.testing.assert_allclose(pred.confidence, [1.0, 0.5])


def test_writers_round_trip(tmp_path):
    mtmc = MTMCBoxes(
        camera_id=[1, 2],
        obj_id=[5, 5],
        frame_id=[3, 4],
        xywh=[[1, 2, 3, 4], [5.5, 6, 7, 8]],
        world_xy=[[-1, -1], [10.25, 3]],
    )
    write_mtmc(tmp_path / "m.txt", mtmc)
    again = read_mtmc(tmp_path / "m.txt", ground_truth=True)
    np.testing.assert_allclose(again.xywh, mtmc.xywh)
    np.testing.assert_allclose(again.world_xy, mtmc.world_xy)
    mot = mtmc.camera(2)
    write_mot(tmp_path / "c.txt", mot)
    np.testing.assert_allclose(read_mot(tmp_path / "c.txt", ground_truth=True).xywh, mot.xywh)


def test_dataclass_validates_shapes_and_values():
    with pytest.raises(ValueError, match="obj_id must have shape"):
        MOTBoxes(frame_id=[1, 2], obj_id=[1], xywh=np.zeros((2, 4)) + 1, confidence=[1, 1])
    with pytest.raises(ValueError, match="width must be > 0"):
        MOTBoxes(frame_id=[1], obj_id=[1], xywh=[[0, 0, 0, 5]], confidence=[1])
    with pytest.raises(ValueError, match="duplicate box"):
        MOTBoxes(frame_id=[1, 1], obj_id=[4, 4], xywh=np.ones((2, 4)), confidence=[1, 1])
    with pytest.raises(ValueError, match="obj_id must hold integers"):
        MOTBoxes(frame_id=[1], obj_id=[1.5], xywh=[[0, 0, 1, 1]], confidence=[1])
    with pytest.raises(ValueError, match="xywh must be finite"):
        MOTBoxes(frame_id=[1], obj_id=[1], xywh=[[np.nan, 0, 1, 1]], confidence=[1])
    with pytest.raises(dataclasses_frozen_error()):
        MOTBoxes.empty().frame_id = np.zeros(1)  # type: ignore[misc]


def dataclasses_frozen_error() -> type[Exception]:
    import dataclasses

    return dataclasses.FrozenInstanceError


# (file text, reader, expected line number, text the message must contain)
MALFORMED = {
    "mtmc wrong column count": (GOOD_MTMC + "1 2 3 4 5\n", "mtmc", 5, "expected 9 space-separated columns"),
    "mtmc first line wrong count": ("1 2 3 4 5 6\n", "mtmc", 1, "expected 9 or 7 space-separated columns"),
    "mtmc non-numeric": (
        "1 7 1 10 20 30 40 -1 -1\n1 7 x2 10 20 30 40 -1 -1\n",
        "mtmc",
        2,
        "'x2', expected a",
    ),
    "mtmc zero width": ("\n\n1 7 1 10 20 0 40 -1 -1\n", "mtmc", 3, "width must be > 0"),
    "mtmc negative height": (GOOD_MTMC + "1 8 3 1 1 5 -4 -1 -1\n", "mtmc", 5, "height must be > 0"),
    "mtmc frame zero": ("1 7 0 10 20 30 40 -1 -1\n", "mtmc", 1, "frame id must be >= 1"),
    "mtmc non-integral id": ("1 7.5 1 10 20 30 40 -1 -1\n", "mtmc", 1, "(obj_id) must be an integer"),
    "mtmc nan": ("1 7 1 nan 20 30 40 -1 -1\n", "mtmc", 1, "(xmin) is nan"),
    "mtmc duplicate box": (
        GOOD_MTMC + "1 7 2 0 0 5 5 -1 -1\n",
        "mtmc",
        5,
        "first given at line 2",
    ),
    "mot too few columns": ("1,1,1,1,5,5,1\n\n2,1,1,1,5\n", "mot", 3, "expected at least 6 comma-separated"),
    "mot non-numeric": ("1,1,1,1,5,5,1\n2,1,1,1,5,five,1\n", "mot", 2, "field 6 (h) is 'five'"),
    "mot zero height": ("1,1,1,1,5,5,1\n2,1,1,1,5,0,1\n", "mot", 2, "height must be > 0"),
    "mot frame zero": ("0,1,1,1,5,5,1\n", "mot", 1, "frame id must be >= 1"),
}


@pytest.mark.parametrize("case", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_file_names_file_and_line(tmp_path, case):
    text, kind, line, fragment = case
    path = _write(tmp_path, "bad_input.txt", text)
    reader = read_mtmc if kind == "mtmc" else read_mot
    with pytest.raises(FormatError) as info:
        reader(path, ground_truth=False)
    message = str(info.value)
    assert f"bad_input.txt line {line}:" in message
    assert fragment in message
    assert "\n" not in message


def test_earliest_bad_line_wins_over_a_later_column_count_error(tmp_path):
    # Line 2 has a zero width, line 3 a wrong column count: the fast path fails on line 3's count,
    # the scan must still report line 2.
    text = "1 7 1 10 20 30 40 -1 -1\n1 7 2 10 20 0 40 -1 -1\n1 2 3\n"
    with pytest.raises(FormatError, match=r"line 2: box width"):
        read_mtmc(_write(tmp_path, "p.txt", text), ground_truth=False)


def test_bad_line_deep_in_a_large_file_is_located_exactly(tmp_path):
    n = 20_000
    rows = np.column_stack([np.ones(n), np.arange(n) % 50, np.arange(n) // 50 + 1, np.ones((n, 4)) * 10])
    lines = [" ".join(f"{v:g}" for v in row) for row in rows]
    lines[15_000] = lines[15_000].replace(" 10 10 10 10", " 10 10 -3 10")  # width -3
    text = "\n\n" + "\n".join(lines) + "\n"  # two blank lines first: line numbers are physical
    with pytest.raises(FormatError, match=r"big\.txt line 15003: box width must be > 0 pixels, got -3"):
        read_mtmc(_write(tmp_path, "big.txt", text), ground_truth=True)


def test_missing_file_and_directory_are_clear_errors(tmp_path):
    with pytest.raises(FormatError, match=r"nope\.txt: no such file"):
        read_mtmc(tmp_path / "nope.txt", ground_truth=True)
    with pytest.raises(FormatError, match="is a directory"):
        read_mot(tmp_path, ground_truth=False)
