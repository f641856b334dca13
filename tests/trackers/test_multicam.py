"""Time-ordered merging of camera streams, AI City camera numbers and rows, the multi-camera driver."""

from __future__ import annotations

import numpy as np

from trackers.association import AssociationConfig, Associator
from trackers.multicam import MultiCameraAssociation, camera_numbers, merge_in_time, mtmc_rows
from trackers.tracklets import TrackletBuilder, TrackletConfig
from trackers.types import Detections, Tracks


def test_merge_in_time_interleaves_by_timestamp_with_ties_in_camera_order():
    streams = {"b": iter([0.0, 0.2, 0.4]), "a": iter([0.1, 0.2, 0.3])}
    merged = list(merge_in_time(streams, lambda t: t))
    assert merged == [("b", 0.0), ("a", 0.1), ("b", 0.2), ("a", 0.2), ("a", 0.3), ("b", 0.4)]


def test_camera_numbers():
    assert camera_numbers(["cam03", "cam01", "cam10"]) == {"cam01": 1, "cam03": 3, "cam10": 10}
    assert camera_numbers(["north", "south"]) == {"north": 1, "south": 2}
    assert camera_numbers(["c1", "d1"]) == {"c1": 1, "d1": 2}  # clashing digits: numbered in order


def test_rows_keep_only_identities_seen_by_two_cameras(make_tracklet, unit_vector):
    a = make_tracklet("cam01", 1, 0.0, 0.2, unit_vector(1))
    b = make_tracklet("cam02", 4, 5.0, 5.1, unit_vector(1), (3.0, 4.0))
    c = make_tracklet("cam02", 5, 5.0, 5.1, unit_vector(0, 1))
    gid_of = {a.key: 7, b.key: 7, c.key: 8}
    rows = mtmc_rows([a, b, c], gid_of)
    assert rows.obj_id.tolist() == [7] * 5 and sorted(set(rows.camera_id.tolist())) == [1, 2]
    np.testing.assert_array_equal(rows.frame_id[rows.camera_id == 2], [51, 52])
    np.testing.assert_allclose(rows.xywh[0], [100, 100, 60, 50])
    np.testing.assert_allclose(rows.world_xy[rows.camera_id == 1], -1.0)  # unknown position
    np.testing.assert_allclose(rows.world_xy[rows.camera_id == 2][0], [3.0, 4.0])
    assert len(mtmc_rows([a, b, c], gid_of, min_cameras=1)) == 7
    assert len(mtmc_rows([c], {c.key: 8})) == 0


def test_driver_builds_tracklets_and_assigns_them_in_time_order():
    cfg = TrackletConfig.from_yaml(min_observations=2, end_after_s=0.5, emit_every_s=0)
    builders = {cam: TrackletBuilder(cam, (640, 360), cfg) for cam in ("cam01", "cam02")}
    multicam = MultiCameraAssociation(
        builders, Associator(2, AssociationConfig.from_yaml(camera_centre=False))
    )
    box = np.array([[100.0, 100, 160, 150]])
    # the same-looking vehicle: cam01 at 0.0-0.3 s, cam02 at 2.0-2.3 s
    for cam, t0 in (("cam01", 0.0), ("cam02", 2.0)):
        for i in range(4):
            index = round((t0 + i / 10) * 10) + 1
            dets = Detections(cam, index, box, np.ones(1), np.zeros(1, int)).with_embeddings(
                np.array([[1.0, 0]])
            )
            multicam.update(cam, t0 + i / 10, dets, Tracks(cam, index, np.array([1]), box, np.array([0])))
        if cam == "cam01":  # cam01 keeps running with no vehicle in view: its track ends after 0.5 s
            for index in range(5, 12):
                empty = Detections.empty(cam, index).with_embeddings(np.zeros((0, 2)))
                during = multicam.update(cam, (index - 1) / 10, empty, Tracks.empty(cam, index))
                assert during == [] or during[0][0].camera_id == "cam01"
    assert [t.camera_id for t, _ in multicam.assigned] == ["cam01"]
    ended = multicam.finish()
    assert [t.camera_id for t, _ in ended] == ["cam02"]
    assert multicam.assigned[0][1] == multicam.assigned[1][1]


def test_rows_keep_one_box_per_camera_frame_and_identity(make_tracklet, unit_vector):
    a = make_tracklet("cam01", 1, 0.0, 0.4, unit_vector(1))
    b = make_tracklet("cam01", 2, 0.2, 0.6, unit_vector(1))  # overlaps a in time, same camera
    c = make_tracklet("cam02", 1, 3.0, 3.2, unit_vector(1))
    rows = mtmc_rows([a, b, c], {a.key: 1, b.key: 1, c.key: 1})
    cam1 = rows.frame_id[rows.camera_id == 1]
    np.testing.assert_array_equal(np.sort(cam1), np.arange(1, 8))  # frames 1..7, each once
