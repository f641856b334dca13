"""The StateStore contract: every test runs against the in-memory store and the Redis store (``store``).

Expectations are worked out by hand from small hand-built identities (times in seconds, boxes in pixels).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from service.store import (
    CameraRecord,
    CameraStatus,
    ConflictError,
    EventIn,
    IdentityQuery,
    LiveBox,
    LiveView,
    NotFoundError,
    StateStore,
    TrackletRecord,
    TrajectoryPoint,
    tracklet_id,
)

WAKE_DELAY_S = 0.2
WAIT_LIMIT_S = 5.0


def tracklet(
    camera: str,
    local: int,
    gid: int,
    t_start: float,
    t_end: float,
    *,
    final: bool = True,
    embedding: tuple[float, ...] = (),
) -> TrackletRecord:
    return TrackletRecord(
        tracklet_id=tracklet_id(camera, local),
        camera_id=camera,
        local_track_id=local,
        global_id=gid,
        t_start=t_start,
        t_end=t_end,
        n_obs=3,
        final=final,
        embedding=embedding,
    )


def points(record: TrackletRecord, times: list[float], world: bool = True) -> list[TrajectoryPoint]:
    """One point per time; frame = 10 t + 1, a box that moves 1 px a second, world (t, -t) metres."""
    return [
        TrajectoryPoint(
            tracklet_id=record.tracklet_id,
            camera_id=record.camera_id,
            frame=round(10 * t) + 1,
            t=t,
            xyxy=(10.0 + t, 20.0, 50.5 + t, 60.25),
            world=(t, -t) if world else None,
        )
        for t in times
    ]


def record(store: StateStore, camera: str, local: int, gid: int, t_start: float, t_end: float, **kw):
    """Record a tracklet with a point at its start and end; returns the identity."""
    rec = tracklet(camera, local, gid, t_start, t_end, **kw)
    return store.record_tracklet(rec, points(rec, [t_start, t_end]))


def ids(page) -> list[int]:
    return [identity.global_id for identity in page.items]


# ---- cameras ---------------------------------------------------------------------------------------------


def camera(camera_id: str, url: str = "rtsp://user:pw@10.0.0.5/stream", **kw) -> CameraRecord:
    return CameraRecord(camera_id=camera_id, url=url, added_wall=1_700_000_000.5, **kw)


def test_cameras_are_added_listed_by_id_replaced_and_removed(store: StateStore) -> None:
    store.put_camera(camera("cam02"))
    store.put_camera(camera("cam01", calibration={"H_image_to_ground": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}))
    assert [c.camera_id for c in store.list_cameras()] == ["cam01", "cam02"]
    assert store.get_camera("cam01").calibration == {"H_image_to_ground": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}
    assert store.get_camera("cam02").url == "rtsp://user:pw@10.0.0.5/stream"  # the worker needs the password

    store.put_camera(camera("cam02", url="file:///videos/cam02.mp4"))
    assert store.get_camera("cam02").url == "file:///videos/cam02.mp4"
    assert len(store.list_cameras()) == 2

    store.remove_camera("cam02")
    assert [c.camera_id for c in store.list_cameras()] == ["cam01"]
    with pytest.raises(NotFoundError, match=r"camera 'cam02' is not registered.*GET /api/v1/cameras"):
        store.get_camera("cam02")
    with pytest.raises(NotFoundError, match="cam02"):
        store.remove_camera("cam02")


def test_status_and_live_view_are_kept_per_camera_and_forgotten_with_it(store: StateStore) -> None:
    store.put_camera(camera("cam01"))
    assert store.get_camera_status("cam01") is None
    assert store.get_live_view("cam01") is None

    status = CameraStatus(
        camera_id="cam01",
        state="streaming",
        url="rtsp://user:***@10.0.0.5/stream",
        received_fps=9.5,
        frames_received=120,
        frames_processed=118,
        frames_dropped=2,
        queue_depth=1,
        reconnects=1,
        last_frame_wall=1_700_000_010.25,
        stage_ms={"decode": 1.5, "detect": 12.25},
        updated_wall=1_700_000_010.5,
    )
    view = LiveView(
        camera_id="cam01",
        frame_index=118,
        t=11.8,
        width=320,
        height=240,
        jpeg=b"\xff\xd8\xff\xe0 not really a jpeg \x00\xff\xd9",
        boxes=(
            LiveBox(xyxy=(1.0, 2.0, 30.5, 40.0), track_id=4, global_id=7),
            LiveBox(xyxy=(5, 6, 7, 8), track_id=5),
        ),
    )
    store.put_camera_status(status)
    store.put_live_view(view)
    assert store.get_camera_status("cam01") == status
    assert store.get_live_view("cam01") == view

    newer = status.model_copy(
        update={"state": "reconnecting", "last_error": "timed out", "updated_wall": 2e9}
    )
    store.put_camera_status(newer)
    assert store.get_camera_status("cam01") == newer

    record(store, "cam01", 1, store.allocate_identity_id(), 0.0, 1.0)
    store.remove_camera("cam01")
    assert store.get_camera_status("cam01") is None
    assert store.get_live_view("cam01") is None
    assert store.get_identity(1).cameras == ("cam01",)  # identities and trajectories stay


def test_camera_runs_count_up_per_camera_from_1(store: StateStore) -> None:
    assert [store.next_camera_run("cam01") for _ in range(3)] == [1, 2, 3]
    assert store.next_camera_run("cam02") == 1  # each camera counts its own starts
    store.put_camera(camera("cam01"))
    store.remove_camera("cam01")
    # a camera removed and added again must not reuse the ids of its earlier runs' tracklets, which stay
    assert store.next_camera_run("cam01") == 4


# ---- identities ------------------------------------------------------------------------------------------


def test_identity_ids_count_up_and_skip_ids_recorded_from_elsewhere(store: StateStore) -> None:
    assert [store.allocate_identity_id() for _ in range(3)] == [1, 2, 3]
    record(store, "cam01", 1, 10, 0.0, 1.0)  # an id handed out by someone else
    assert store.allocate_identity_id() == 11
    record(store, "cam01", 2, 5, 0.0, 1.0)  # below the counter: nothing to skip
    assert store.allocate_identity_id() == 12


def test_record_tracklet_creates_the_identity_and_keeps_the_tracklet(store: StateStore) -> None:
    with pytest.raises(NotFoundError, match=r"identity 1 is not recorded.*GET /api/v1/identities"):
        store.get_identity(1)
    gid = store.allocate_identity_id()
    rec = tracklet("cam02", 17, gid, 1.5, 4.25, embedding=(0.6, -0.8, 0.0))
    identity = store.record_tracklet(rec, points(rec, [1.5, 2.0, 4.25]))

    assert identity.global_id == gid
    assert identity.cameras == ("cam02",)
    assert (identity.first_seen, identity.last_seen) == (1.5, 4.25)
    assert identity.tracklet_ids == ("cam02:17",)
    assert identity.n_points == 3
    assert store.get_identity(gid) == identity
    assert store.get_tracklet("cam02:17") == rec
    assert store.tracklets_of(gid) == [rec]
    with pytest.raises(NotFoundError, match=r"tracklet 'cam02:18' is not recorded"):
        store.get_tracklet("cam02:18")
    with pytest.raises(NotFoundError, match="identity 99"):
        store.tracklets_of(99)
    with pytest.raises(NotFoundError, match="identity 99"):
        store.trajectory(99)


def test_a_later_emission_replaces_the_tracklet_and_its_points(store: StateStore) -> None:
    gid = store.allocate_identity_id()
    live = tracklet("cam01", 3, gid, 0.0, 2.0, final=False)
    store.record_tracklet(live, points(live, [0.0, 1.0, 2.0]))
    done = tracklet("cam01", 3, gid, 0.5, 6.0, final=True)
    identity = store.record_tracklet(done, points(done, [0.5, 3.0, 4.0, 5.0, 6.0], world=False))

    assert (identity.first_seen, identity.last_seen, identity.n_points) == (0.5, 6.0, 5)
    assert identity.tracklet_ids == ("cam01:3",)
    assert store.get_tracklet("cam01:3").final is True
    page = store.trajectory(gid)
    assert [p.t for p in page.items] == [0.5, 3.0, 4.0, 5.0, 6.0]
    assert all(p.world is None for p in page.items)
    assert store.counts().tracklets == 1


def test_trajectory_is_time_ordered_across_cameras_then_by_camera_and_paged(store: StateStore) -> None:
    gid = store.allocate_identity_id()
    on_two = tracklet("cam02", 1, gid, 1.0, 3.0)
    on_one = tracklet("cam01", 1, gid, 2.0, 4.0)
    store.record_tracklet(on_two, points(on_two, [3.0, 1.0, 2.0]))  # out of order on purpose
    store.record_tracklet(on_one, points(on_one, [4.0, 2.0, 2.5]))

    page = store.trajectory(gid)
    expected = [
        (1.0, "cam02"),
        (2.0, "cam01"),
        (2.0, "cam02"),
        (2.5, "cam01"),
        (3.0, "cam02"),
        (4.0, "cam01"),
    ]
    assert [(p.t, p.camera_id) for p in page.items] == expected
    assert page.total == 6
    first = page.items[0]
    assert first == TrajectoryPoint(
        tracklet_id="cam02:1",
        camera_id="cam02",
        frame=11,
        t=1.0,
        xyxy=(11.0, 20.0, 51.5, 60.25),
        world=(1.0, -1.0),
    )

    middle = store.trajectory(gid, offset=2, limit=3)
    assert [(p.t, p.camera_id) for p in middle.items] == expected[2:5]
    assert middle.total == 6
    past_the_end = store.trajectory(gid, offset=10, limit=5)
    assert past_the_end.items == () and past_the_end.total == 6

    identity = store.get_identity(gid)
    assert identity.cameras == ("cam01", "cam02")
    assert identity.tracklet_ids == ("cam02:1", "cam01:1")  # by first sighting
    assert [t.tracklet_id for t in store.tracklets_of(gid)] == ["cam02:1", "cam01:1"]


@pytest.fixture
def five_identities(store: StateStore) -> StateStore:
    """Ordered by (first_seen, id): 1 (0 s), 3 (2 s), 2 (5 s), 5 (5 s), 4 (40 s).

    1: cam01 [0, 10] then cam02 [20, 30]    2: cam02 [5, 15]    3: cam02 [2, 8] then cam01 [12, 18]
    4: cam03 [40, 50]                       5: cam01 [5, 9]
    """
    for gid, camera_id, local, t_start, t_end in [
        (1, "cam01", 1, 0.0, 10.0),
        (1, "cam02", 1, 20.0, 30.0),
        (2, "cam02", 2, 5.0, 15.0),
        (3, "cam02", 3, 2.0, 8.0),
        (3, "cam01", 3, 12.0, 18.0),
        (4, "cam03", 4, 40.0, 50.0),
        (5, "cam01", 5, 5.0, 9.0),
    ]:
        record(store, camera_id, local, gid, t_start, t_end)
    return store


@pytest.mark.parametrize(
    ("query", "expected", "total"),
    [
        ({}, [1, 3, 2, 5, 4], 5),
        ({"camera": "cam01"}, [1, 3, 5], 3),
        ({"camera": "cam02"}, [1, 3, 2], 3),
        ({"camera": "cam09"}, [], 0),
        ({"t_from": 16.0, "t_to": 35.0}, [1, 3], 2),
        ({"t_to": 4.0}, [1, 3], 2),
        ({"t_from": 45.0}, [4], 1),
        ({"t_from": 9.5, "t_to": 9.5}, [1, 3, 2], 3),
        ({"seen_in": "cam01", "later_in": "cam02"}, [1], 1),
        ({"seen_in": "cam02", "later_in": "cam01"}, [3], 1),
        ({"seen_in": "cam03"}, [4], 1),
        ({"later_in": "cam02"}, [1, 3, 2], 3),
        ({"seen_in": "cam03", "later_in": "cam01"}, [], 0),
        ({"min_cameras": 2}, [1, 3], 2),
        ({"camera": "cam01", "min_cameras": 2}, [1, 3], 2),
        ({"camera": "cam02", "t_to": 4.0}, [1, 3], 2),
        ({"offset": 1, "limit": 2}, [3, 2], 5),
        ({"camera": "cam02", "offset": 2, "limit": 5}, [2], 3),
        ({"min_cameras": 2, "offset": 1, "limit": 1}, [3], 2),
        ({"offset": 7}, [], 5),
    ],
)
def test_list_identities_filters_orders_and_pages(
    five_identities: StateStore, query: dict, expected: list[int], total: int
) -> None:
    page = five_identities.list_identities(IdentityQuery(**query))
    assert ids(page) == expected
    assert page.total == total


def test_listed_identities_are_the_stored_records(five_identities: StateStore) -> None:
    page = five_identities.list_identities(IdentityQuery(camera="cam01"))
    assert list(page.items) == [five_identities.get_identity(g) for g in (1, 3, 5)]
    assert page.items[0].cameras == ("cam01", "cam02")
    assert page.items[0].tracklet_ids == ("cam01:1", "cam02:1")


# ---- operator corrections --------------------------------------------------------------------------------


def test_merge_moves_every_tracklet_and_the_absorbed_id_resolves(store: StateStore) -> None:
    keep, absorb = store.allocate_identity_id(), store.allocate_identity_id()
    record(store, "cam01", 1, keep, 0.0, 10.0)
    record(store, "cam02", 1, absorb, 20.0, 30.0)
    before = store.trajectory(absorb).items

    merged = store.merge_identities(keep, absorb)
    assert merged.global_id == keep
    assert merged.cameras == ("cam01", "cam02")
    assert (merged.first_seen, merged.last_seen, merged.n_points) == (0.0, 30.0, 4)
    assert merged.tracklet_ids == ("cam01:1", "cam02:1")
    assert store.get_identity(absorb) == merged
    assert store.get_tracklet("cam02:1").global_id == keep
    assert [t.global_id for t in store.tracklets_of(absorb)] == [keep, keep]
    assert store.trajectory(absorb) == store.trajectory(keep)
    assert set(before) <= set(store.trajectory(keep).items)
    assert ids(store.list_identities(IdentityQuery())) == [keep]
    assert ids(store.list_identities(IdentityQuery(camera="cam02"))) == [keep]
    assert store.counts().identities == 1

    # The associator may still hold the absorbed id: what it records lands on the kept identity.
    identity = record(store, "cam03", 1, absorb, 40.0, 41.0)
    assert identity.global_id == keep
    assert identity.cameras == ("cam01", "cam02", "cam03")


def test_merges_chain_and_merging_an_identity_with_itself_conflicts(store: StateStore) -> None:
    for gid in (1, 2, 3):
        record(store, f"cam0{gid}", 1, gid, float(gid), gid + 1.0)
    store.merge_identities(2, 3)
    store.merge_identities(1, 2)
    assert store.get_identity(3).global_id == 1
    assert store.get_identity(3).tracklet_ids == ("cam01:1", "cam02:1", "cam03:1")
    assert store.get_tracklet("cam03:1").global_id == 1
    assert record(store, "cam04", 1, 3, 9.0, 10.0).global_id == 1

    with pytest.raises(ConflictError, match="already one"):
        store.merge_identities(1, 1)
    with pytest.raises(ConflictError, match="already one"):
        store.merge_identities(3, 2)  # both resolve to 1
    with pytest.raises(NotFoundError, match="identity 42"):
        store.merge_identities(1, 42)
    with pytest.raises(NotFoundError, match="identity 42"):
        store.merge_identities(42, 1)


def test_split_moves_a_tracklet_to_a_new_never_used_id(store: StateStore) -> None:
    gid = store.allocate_identity_id()
    record(store, "cam01", 1, gid, 0.0, 10.0)
    record(store, "cam02", 1, gid, 20.0, 30.0)
    used = {store.allocate_identity_id() for _ in range(2)}  # ids handed out to someone else, unused yet

    new = store.split_tracklet("cam02:1")
    assert new.global_id not in used | {gid}
    assert new.global_id > max(used)
    assert new.tracklet_ids == ("cam02:1",)
    assert (new.cameras, new.first_seen, new.last_seen, new.n_points) == (("cam02",), 20.0, 30.0, 2)
    assert store.get_identity(gid).tracklet_ids == ("cam01:1",)
    assert store.get_identity(gid).n_points == 2
    assert store.get_tracklet("cam02:1").global_id == new.global_id
    assert ids(store.list_identities(IdentityQuery(camera="cam02"))) == [new.global_id]
    assert ids(store.list_identities(IdentityQuery())) == [gid, new.global_id]
    assert store.allocate_identity_id() > new.global_id

    # The associator re-emits the tracklet under its old identity: it stays where the operator put it.
    again = record(store, "cam02", 1, gid, 20.0, 35.0)
    assert again.global_id == new.global_id
    assert again.last_seen == 35.0
    assert store.get_identity(gid).tracklet_ids == ("cam01:1",)


def test_split_refuses_an_only_tracklet_and_unknown_ones(store: StateStore) -> None:
    record(store, "cam01", 1, 1, 0.0, 1.0)
    with pytest.raises(ConflictError, match=r"'cam01:1' is identity 1's only tracklet"):
        store.split_tracklet("cam01:1")
    with pytest.raises(NotFoundError, match=r"tracklet 'cam01:2' is not recorded"):
        store.split_tracklet("cam01:2")


def test_split_then_merge_back_restores_the_identity(store: StateStore) -> None:
    record(store, "cam01", 1, 1, 0.0, 10.0)
    record(store, "cam02", 1, 1, 20.0, 30.0)
    original = store.get_identity(1)
    new = store.split_tracklet("cam01:1")
    assert store.merge_identities(1, new.global_id) == original
    assert store.get_identity(new.global_id) == original


def test_readers_never_see_half_a_merge(store: StateStore) -> None:
    """While one thread merges and splits, every single read is a whole before or a whole after."""
    record(store, "cam01", 1, 1, 0.0, 10.0)
    rec = tracklet("cam02", 1, 2, 20.0, 30.0)
    store.record_tracklet(rec, points(rec, [20.0, 25.0, 30.0]))
    done = threading.Event()
    errors: list[BaseException] = []

    def operator() -> None:
        try:
            for _ in range(20):
                new = (
                    store.split_tracklet("cam02:1") if len(store.get_identity(1).tracklet_ids) == 2 else None
                )
                store.merge_identities(1, new.global_id if new else 2)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=operator)
    thread.start()
    while not done.is_set():
        identity = store.get_identity(1)
        assert (identity.tracklet_ids, identity.n_points) in {(("cam01:1",), 2), (("cam01:1", "cam02:1"), 5)}
        members = store.tracklets_of(1)
        assert all(t.global_id == 1 for t in members) and len(members) in (1, 2)
        assert store.trajectory(1).total in (2, 5)
    thread.join()
    assert not errors, errors
    assert store.get_identity(1).n_points == 5


def test_concurrent_writers_to_one_identity_lose_nothing(store: StateStore) -> None:
    gid = store.allocate_identity_id()

    def writer(camera_id: str) -> None:
        for local in range(8):
            record(store, camera_id, local, gid, float(local), local + 0.5)

    threads = [threading.Thread(target=writer, args=(f"cam0{i}",)) for i in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    identity = store.get_identity(gid)
    assert len(identity.tracklet_ids) == 32
    assert identity.n_points == 64
    assert identity.cameras == ("cam01", "cam02", "cam03", "cam04")
    assert store.trajectory(gid, limit=1000).total == 64


# ---- search embeddings -----------------------------------------------------------------------------------


def test_tracklet_embeddings_follow_their_identities(store: StateStore) -> None:
    gids, embeddings = store.tracklet_embeddings()
    assert gids.shape == (0,) and embeddings.shape == (0, 0)
    record(store, "cam01", 1, 1, 0.0, 1.0, embedding=(1.0, 0.0))
    record(store, "cam02", 1, 2, 0.0, 1.0, embedding=(0.6, 0.8))
    record(store, "cam03", 1, 3, 0.0, 1.0)  # no embedding: not searchable
    store.merge_identities(1, 2)

    gids, embeddings = store.tracklet_embeddings()
    assert gids.dtype == np.int64 and embeddings.dtype == np.float32
    order = np.argsort(embeddings[:, 0])
    assert gids[order].tolist() == [1, 1]
    np.testing.assert_allclose(embeddings[order], [[0.6, 0.8], [1.0, 0.0]], rtol=1e-6)


# ---- events and audit ------------------------------------------------------------------------------------


def event(kind: str = "identity.new", gid: int | None = 1) -> EventIn:
    return EventIn(type=kind, t_wall=1_700_000_000.25, global_id=gid, camera_id="cam01", data={"t": 1.5})


def test_events_come_oldest_first_and_resume_after_an_id(store: StateStore) -> None:
    assert store.events_after(None) == []
    published = [store.append_event(event(gid=g)) for g in (1, 2, 3)]
    assert len({e.event_id for e in published}) == 3
    assert published[0].model_dump(exclude={"event_id"}) == event(gid=1).model_dump()

    assert store.events_after(None) == published
    assert store.events_after(None, limit=2) == published[:2]
    assert store.events_after(published[0].event_id) == published[1:]
    assert store.events_after(published[2].event_id) == []
    assert store.events_after("not-an-event-id") == published  # unknown id: from the oldest kept


def test_waiting_for_events_wakes_when_another_thread_appends(store: StateStore) -> None:
    last = store.append_event(event()).event_id
    started = time.monotonic()
    assert store.events_after(last, wait_s=0.3) == []
    assert time.monotonic() - started >= 0.25

    timer = threading.Timer(WAKE_DELAY_S, lambda: store.append_event(event("identity.handoff", 2)))
    timer.start()
    started = time.monotonic()
    try:
        woken = store.events_after(last, wait_s=WAIT_LIMIT_S)
    finally:
        timer.join()
    waited = time.monotonic() - started
    assert [(e.type, e.global_id) for e in woken] == [("identity.handoff", 2)]
    assert WAKE_DELAY_S * 0.5 <= waited < WAIT_LIMIT_S / 2


def test_audit_log_keeps_operator_actions_in_order(store: StateStore) -> None:
    assert store.audit_log().total == 0
    first = store.append_audit("alice", "identity.merge", {"keep": 1, "absorb": 2})
    second = store.append_audit("bob", "tracklet.split", {"tracklet_id": "cam01:3", "new_global_id": 7})
    assert (first.audit_id, second.audit_id) == (1, 2)
    assert abs(first.t_wall - time.time()) < 60

    log = store.audit_log()
    assert log.total == 2
    assert list(log.items) == [first, second]
    assert [(e.actor, e.action, e.details) for e in log.items] == [
        ("alice", "identity.merge", {"keep": 1, "absorb": 2}),
        ("bob", "tracklet.split", {"tracklet_id": "cam01:3", "new_global_id": 7}),
    ]
    page = store.audit_log(offset=1, limit=5)
    assert list(page.items) == [second] and page.total == 2


def test_counts_and_ping(five_identities: StateStore) -> None:
    store = five_identities
    store.ping()
    store.put_camera(camera("cam01"))
    store.append_event(event())
    store.append_audit("alice", "camera.add", {"camera_id": "cam01"})
    counts = store.counts()
    assert (counts.cameras, counts.identities, counts.tracklets, counts.events, counts.audit) == (
        1,
        5,
        7,
        1,
        1,
    )
    store.merge_identities(1, 2)
    assert store.counts().identities == 4
    assert store.counts().tracklets == 7
