"""The recorder: association decisions become store records, trajectory points and events."""

from __future__ import annotations

import numpy as np

from service.recorder import Recorder
from service.store import MemoryStore
from trackers.types import Tracklet


def _tracklet(
    camera: str, track: int, t0: float, n: int = 3, world: bool = True, final: bool = True
) -> Tracklet:
    embedding = np.zeros(4, dtype=np.float32)
    embedding[0] = 1.0
    times = t0 + 0.1 * np.arange(n)
    boxes = np.tile(np.array([10.0, 20.0, 50.0, 60.0]), (n, 1)) + np.arange(n)[:, None]
    positions = (
        np.column_stack([np.arange(n, dtype=float), np.zeros(n)]) if world else np.full((n, 2), np.nan)
    )
    return Tracklet(camera, track, embedding, n, np.arange(1, n + 1), times, boxes, positions, final=final)


def test_first_sighting_is_a_new_identity_and_another_camera_a_handoff() -> None:
    store = MemoryStore()
    recorder = Recorder(store)
    gid = store.allocate_identity_id()
    recorder.record(_tracklet("cam01", 1, 0.0), gid)
    recorder.record(_tracklet("cam01", 1, 0.0, n=5, final=True), gid)  # a later emission: no event
    identity = recorder.record(_tracklet("cam02", 7, 4.0), gid)
    events = store.events_after(None)
    assert [(e.type, e.global_id, e.camera_id) for e in events] == [
        ("identity.new", gid, "cam01"),
        ("identity.handoff", gid, "cam02"),
    ]
    assert events[1].data == {"from_camera": "cam01", "t": 4.0}
    assert identity.cameras == ("cam01", "cam02")
    assert identity.tracklet_ids == ("cam01:1", "cam02:7")
    assert identity.n_points == 5 + 3  # the later emission replaced the first one's 3 points


def test_points_carry_boxes_times_and_world_positions() -> None:
    store = MemoryStore()
    gid = store.allocate_identity_id()
    Recorder(store).record(_tracklet("cam01", 2, 10.0, world=True), gid)
    Recorder(store).record(_tracklet("cam03", 4, 30.0, world=False), gid)
    points = store.trajectory(gid).items
    assert [(p.camera_id, p.frame, round(p.t, 3)) for p in points] == [
        ("cam01", 1, 10.0), ("cam01", 2, 10.1), ("cam01", 3, 10.2),
        ("cam03", 1, 30.0), ("cam03", 2, 30.1), ("cam03", 3, 30.2),
    ]  # fmt: skip
    assert points[1].xyxy == (11.0, 21.0, 51.0, 61.0)
    assert points[2].world == (2.0, 0.0)
    assert points[3].world is None  # no calibration: NaN positions are stored as unknown
    tracklet = store.get_tracklet("cam01:2")
    assert tracklet.embedding == (1.0, 0.0, 0.0, 0.0)
    assert (tracklet.t_start, tracklet.t_end, tracklet.n_obs) == (10.0, 10.2, 3)
