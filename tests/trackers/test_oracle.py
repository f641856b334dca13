"""The oracle detector: ground-truth boxes per frame, optionally jittered and dropped, deterministically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trackers.oracle import GroundTruthDetector
from trackers.types import Frame

# frame,id,x,y,w,h,conf,type,visibility (rows deliberately out of order; id 9 at frame 2 is "ignore")
GT = """\
2,4,100,50,40,20,1,1,0.9
1,4,98,50,40,20,1,1,1.0
1,3,10,20,30,15,1,2,0.8
2,9,0,0,10,10,0,1,0.2
2,3,12,21,30,16,1,2,0.7
4,3,20,25,32,16,1,2,0.6
"""


@pytest.fixture
def gt_file(tmp_path: Path) -> Path:
    path = tmp_path / "mot" / "cam07" / "gt" / "gt.txt"
    path.parent.mkdir(parents=True)
    path.write_text(GT)
    return path


def many_boxes(tmp_path: Path, n_frames: int = 20, per_frame: int = 10) -> Path:
    lines = [
        f"{f},{i},{10 * i},{5 * f},{40 + i},{20 + i},1,1,1.0"
        for f in range(1, n_frames + 1)
        for i in range(1, per_frame + 1)
    ]
    path = tmp_path / "many" / "gt" / "gt.txt"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_boxes_per_frame_in_xyxy(gt_file: Path) -> None:
    oracle = GroundTruthDetector(gt_file)
    d, ids = oracle.detections_with_ids(1)
    assert d.camera_id == "cam07" and d.frame_index == 1
    np.testing.assert_array_equal(ids, [3, 4])
    np.testing.assert_array_equal(d.xyxy, [[10, 20, 40, 35], [98, 50, 138, 70]])
    np.testing.assert_array_equal(d.confidence, [1, 1])
    np.testing.assert_array_equal(d.class_id, [0, 0])
    assert d.embeddings is None


def test_ignored_rows_and_empty_frames(gt_file: Path) -> None:
    oracle = GroundTruthDetector(gt_file)
    d, ids = oracle.detections_with_ids(2)
    np.testing.assert_array_equal(ids, [3, 4])  # id 9 has conf 0: "not considered"
    np.testing.assert_array_equal(d.xyxy[0], [12, 21, 42, 37])
    assert len(oracle.detections(3)) == 0 and oracle.detections(3).frame_index == 3
    assert len(oracle.detections(99)) == 0
    np.testing.assert_array_equal(oracle.frame_indices, [1, 2, 4])


def test_detect_labels_with_the_frame_camera(gt_file: Path) -> None:
    oracle = GroundTruthDetector(gt_file, camera_id="north")
    assert oracle.detections(1).camera_id == "north"
    d = oracle.detect(Frame("cam07", 4, 0.3, np.zeros((8, 8, 3), np.uint8)))
    assert d.camera_id == "cam07" and d.frame_index == 4
    np.testing.assert_array_equal(d.xyxy, [[20, 25, 52, 41]])


def test_empty_ground_truth_serves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "gt.txt"
    path.write_text("")
    assert len(GroundTruthDetector(path, camera_id="cam01").detections(1)) == 0


def test_drop_and_jitter_are_deterministic_per_seed(tmp_path: Path) -> None:
    path = many_boxes(tmp_path)

    def degraded(seed: int, frames: list[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        oracle = GroundTruthDetector(path, jitter=0.05, drop_rate=0.3, seed=seed)
        out = {}
        for k in frames:
            d, ids = oracle.detections_with_ids(k)
            out[k] = (d.xyxy, ids)
        return out

    forward = degraded(7, list(range(1, 21)))
    backward = degraded(7, list(range(20, 0, -1)))  # the order frames are asked in does not matter
    for k in forward:
        np.testing.assert_array_equal(forward[k][0], backward[k][0])
        np.testing.assert_array_equal(forward[k][1], backward[k][1])
    other = degraded(8, list(range(1, 21)))
    assert any(
        len(forward[k][1]) != len(other[k][1]) or not np.array_equal(forward[k][0], other[k][0])
        for k in forward
    )


def test_drop_rate_and_jitter_size(tmp_path: Path) -> None:
    path = many_boxes(tmp_path, n_frames=50)
    clean = GroundTruthDetector(path)
    noisy = GroundTruthDetector(path, jitter=0.05, drop_rate=0.2, seed=1)
    kept = 0
    errors = []
    for k in range(1, 51):
        truth, truth_ids = clean.detections_with_ids(k)
        d, ids = noisy.detections_with_ids(k)
        kept += len(ids)
        assert set(ids) <= set(truth_ids)
        rows = np.searchsorted(truth_ids, ids)
        size = np.tile(truth.xyxy[rows, 2:] - truth.xyxy[rows, :2], 2)
        errors.append((d.xyxy - truth.xyxy[rows]) / size)
        assert (d.xyxy[:, 2:] > d.xyxy[:, :2]).all()
    assert 0.7 < kept / 500 < 0.9
    relative = np.concatenate(errors)
    assert 0.04 < relative.std() < 0.06 and abs(relative.mean()) < 0.01


def test_arguments_are_validated(gt_file: Path) -> None:
    with pytest.raises(ValueError, match="drop_rate must be in"):
        GroundTruthDetector(gt_file, drop_rate=1.0)
    with pytest.raises(ValueError, match="jitter must be >= 0"):
        GroundTruthDetector(gt_file, jitter=-0.1)
