from __future__ import annotations

from pathlib import Path

import numpy as np

from synth.config import OutputConfig
from synth.groundtruth import GroundTruthBoxes, multi_camera_ids, select_boxes, write_aicity, write_mot
from synth.reid_export import pick_queries, split_identities


def _boxes(rows: list[tuple[int, int, int]]) -> GroundTruthBoxes:
    n = len(rows)
    arr = np.array(rows, dtype=np.int64).reshape(n, 3)
    return GroundTruthBoxes(
        camera_id=arr[:, 0],
        vehicle_id=arr[:, 1],
        frame=arr[:, 2],
        xywh=np.tile([10.0, 20.0, 30.0, 40.0], (n, 1)),
        world_xy=np.tile([1.5, -2.25], (n, 1)),
        visibility=np.full(n, 0.8),
        type_index=np.zeros(n, dtype=np.int64),
    )


def test_select_boxes_applies_visibility_and_height_rules() -> None:
    out = OutputConfig(gt_min_visibility=0.3, gt_min_height_px=12)
    ids = np.array([1, 2, 3])
    xyxy = np.array([[0, 0, 20, 20], [0, 0, 20, 10], [0, 0, 20, 20]], dtype=np.float32)
    visible = np.array([100, 100, 20])
    full = np.array([200.0, 100.0, 100.0])
    world = {1: np.array([1.0, 2.0]), 2: np.array([3.0, 4.0]), 3: np.array([5.0, 6.0])}
    b = select_boxes(2, 7, ids, xyxy, visible, full, world, {1: "sedan", 2: "bus", 3: "van"}, out)
    # 1: visibility 0.5, 20 px tall -> kept; 2: only 10 px tall; 3: visibility 0.2
    assert b.vehicle_id.tolist() == [1]
    assert b.xywh.tolist() == [[0, 0, 20, 20]] and b.frame.tolist() == [7] and b.camera_id.tolist() == [2]
    assert b.visibility[0] == 0.5 and b.world_xy.tolist() == [[1.0, 2.0]]


def test_multi_camera_ids() -> None:
    b = _boxes([(1, 5, 1), (1, 5, 2), (2, 5, 9), (1, 6, 1), (3, 7, 1), (2, 7, 4), (1, 7, 4)])
    assert multi_camera_ids(b).tolist() == [5, 7]


def test_aicity_and_mot_files(tmp_path: Path) -> None:
    b = _boxes([(2, 5, 3), (1, 6, 1), (1, 5, 1)])
    write_aicity(tmp_path / "gt.txt", b)
    assert (tmp_path / "gt.txt").read_text().splitlines() == [
        "1 5 1 10 20 30 40 1.500 -2.250",
        "1 6 1 10 20 30 40 1.500 -2.250",
        "2 5 3 10 20 30 40 1.500 -2.250",
    ]
    write_mot(tmp_path / "cam01", b.subset(b.camera_id == 1), "cam01", 10.0, (640, 360), 50)
    assert (tmp_path / "cam01" / "gt" / "gt.txt").read_text().splitlines() == [
        "1,5,10,20,30,40,1,1,0.800",
        "1,6,10,20,30,40,1,1,0.800",
    ]
    assert "seqLength=50" in (tmp_path / "cam01" / "seqinfo.ini").read_text()


def test_reid_split_is_identity_disjoint_and_seeded() -> None:
    ids = list(range(1, 101))
    train = split_identities(ids, 0.5, seed=0)
    assert len(train) == 50 and train == split_identities(ids, 0.5, seed=0)
    assert train != split_identities(ids, 0.5, seed=1)


def test_queries_one_per_camera_for_multi_camera_test_identities() -> None:
    recs = [
        {"vehicle_id": 1, "camera_id": c, "frame": f, "split": "test", "name": f"{c}-{f}"}
        for c in (1, 2)
        for f in (1, 6, 11)
    ]
    recs += [{"vehicle_id": 2, "camera_id": 1, "frame": 1, "split": "test", "name": "solo"}]
    recs += [{"vehicle_id": 3, "camera_id": c, "frame": 1, "split": "train", "name": f"t{c}"} for c in (1, 2)]
    queries = pick_queries(recs)
    assert [q["name"] for q in queries] == ["1-6", "2-6"]  # middle sighting; vehicle 2 has one camera only
