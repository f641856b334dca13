"""What only the Redis store promises: data outlives the process, prefixes keep services apart, an
unreachable server is one clear error, and the factory picks the store the settings ask for."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import pytest
import redis

from service.settings import ServiceSettings
from service.store import (
    CameraRecord,
    EventIn,
    IdentityQuery,
    MemoryStore,
    StoreUnavailableError,
    TrackletRecord,
    TrajectoryPoint,
)
from service.store.factory import open_store
from service.store.redis import RedisStore

UNREACHABLE_URL = "redis://:hunter2-not-shown@127.0.0.1:1/0"  # port 1: nothing listens there
StoreFactory = Callable[[str], RedisStore]


def unique(name: str) -> str:
    return f"crosscam-test-{name}-{uuid.uuid4().hex}"


def fill(store: RedisStore) -> None:
    """A camera started once, two identities merged into one plus a third, an event and an audit entry."""
    store.put_camera(CameraRecord(camera_id="cam01", url="rtsp://u:p@10.0.0.5/s", added_wall=1.0))
    assert store.next_camera_run("cam01") == 1
    for local, camera_id, t_start in [(1, "cam01", 0.0), (2, "cam02", 20.0), (3, "cam01", 40.0)]:
        gid = store.allocate_identity_id()
        tracklet = TrackletRecord(
            tracklet_id=f"{camera_id}:{local}",
            camera_id=camera_id,
            local_track_id=local,
            global_id=gid,
            t_start=t_start,
            t_end=t_start + 5.0,
            n_obs=2,
            embedding=(0.6, 0.8),
        )
        points = [
            TrajectoryPoint(
                tracklet_id=tracklet.tracklet_id,
                camera_id=camera_id,
                frame=i,
                t=t_start + i,
                xyxy=(1, 2, 3, 4),
            )
            for i in (1, 2)
        ]
        store.record_tracklet(tracklet, points)
    store.merge_identities(1, 2)
    store.append_event(EventIn(type="identity.merged", t_wall=2.0, global_id=1, data={"absorbed": 2}))
    store.append_audit("alice", "identity.merge", {"keep": 1, "absorb": 2})


def snapshot(store: RedisStore) -> dict:
    return {
        "cameras": store.list_cameras(),
        "identities": store.list_identities(IdentityQuery()),
        "absorbed": store.get_identity(2),
        "tracklets": store.tracklets_of(1),
        "trajectory": store.trajectory(1),
        "events": store.events_after(None),
        "audit": store.audit_log(),
        "counts": store.counts(),
    }


def test_everything_survives_a_new_connection_on_the_same_prefix(
    redis_store_factory: StoreFactory, redis_prefix: str
) -> None:
    first = redis_store_factory(redis_prefix)
    fill(first)
    before = snapshot(first)
    first.close()

    restarted = redis_store_factory(redis_prefix)
    assert snapshot(restarted) == before
    assert before["counts"].identities == 2 and before["absorbed"].global_id == 1
    assert restarted.allocate_identity_id() == 4  # ids 1-3 were handed out before the restart
    assert restarted.next_camera_run("cam01") == 2  # cam01 started once before the restart


def test_two_prefixes_do_not_see_each_other(redis_store_factory: StoreFactory) -> None:
    one, other = redis_store_factory(unique("one")), redis_store_factory(unique("two"))
    fill(one)
    counts = other.counts()
    assert (counts.cameras, counts.identities, counts.tracklets, counts.events, counts.audit) == (
        0,
        0,
        0,
        0,
        0,
    )
    assert other.list_identities(IdentityQuery()).total == 0
    assert other.allocate_identity_id() == 1
    assert other.next_camera_run("cam01") == 1  # one's cam01 started already, under its own prefix

    assert one.wipe() > 0
    assert one.counts().identities == 0
    assert other.allocate_identity_id() == 2  # wiping one prefix left the other alone


def test_wipe_deletes_every_key_under_the_prefix_only(
    redis_url: str, redis_store_factory: StoreFactory
) -> None:
    prefix = unique("wipe")
    store = redis_store_factory(prefix)
    fill(store)
    client = redis.Redis.from_url(redis_url)
    try:
        neighbour = f"{prefix}-neighbour:key"  # shares the text of the prefix, not the prefix itself
        client.set(neighbour, "stays", ex=60)
        assert any(True for _ in client.scan_iter(match=f"{prefix}:*"))
        store.wipe()
        assert not any(True for _ in client.scan_iter(match=f"{prefix}:*"))
        assert client.get(neighbour) == b"stays"
    finally:
        client.delete(f"{prefix}-neighbour:key")
        client.close()


def test_events_from_another_connection_wake_a_waiting_reader(
    redis_store_factory: StoreFactory, redis_prefix: str
) -> None:
    reader, writer = redis_store_factory(redis_prefix), redis_store_factory(redis_prefix)
    timer = threading.Timer(0.2, lambda: writer.append_event(EventIn(type="camera.added", t_wall=1.0)))
    timer.start()
    try:
        woken = reader.events_after(None, wait_s=5.0)
    finally:
        timer.join()
    assert [e.type for e in woken] == ["camera.added"]


def test_old_events_are_trimmed_to_about_the_cap(redis_url: str, redis_store_factory: StoreFactory) -> None:
    prefix = unique("cap")
    redis_store_factory(prefix)  # registers the prefix for wiping
    store = RedisStore(redis_url, prefix=prefix, max_events=10)
    try:
        first = store.append_event(EventIn(type="camera.added", t_wall=0.0))
        for i in range(1, 400):
            store.append_event(EventIn(type="camera.added", t_wall=float(i)))
        kept = store.counts().events
        assert 10 <= kept < 400  # approximate trimming drops whole stream nodes (100 entries each)
        assert store.events_after(None, limit=1)[0].event_id != first.event_id
    finally:
        store.close()


def test_an_unreachable_server_is_one_clear_error_without_the_password() -> None:
    store = RedisStore(UNREACHABLE_URL, prefix="crosscam-test-unreachable")
    try:
        with pytest.raises(StoreUnavailableError) as ping_error:
            store.ping()
        message = str(ping_error.value)
        assert "redis://:***@127.0.0.1:1/0" in message
        assert "start redis-server or set REDIS_URL" in message
        assert "hunter2" not in message
        with pytest.raises(StoreUnavailableError, match="start redis-server") as read_error:
            store.get_identity(1)
        assert "hunter2" not in str(read_error.value)
    finally:
        store.close()


def test_open_store_picks_the_store_the_settings_ask_for(
    redis_url: str, redis_store_factory: StoreFactory
) -> None:
    assert isinstance(open_store(ServiceSettings(_env_file=None)), MemoryStore)

    prefix = unique("factory")
    redis_store_factory(prefix)  # registers the prefix for wiping
    store = open_store(ServiceSettings(_env_file=None, REDIS_URL=redis_url, redis_prefix=prefix))
    try:
        assert isinstance(store, RedisStore)
        assert store.prefix == prefix
        store.put_camera(CameraRecord(camera_id="cam01", url="file:///v.mp4", added_wall=1.0))
        assert [c.camera_id for c in redis_store_factory(prefix).list_cameras()] == ["cam01"]
    finally:
        store.close()

    with pytest.raises(StoreUnavailableError, match=r"redis://:\*\*\*@127\.0\.0\.1:1/0"):
        open_store(ServiceSettings(_env_file=None, REDIS_URL=UNREACHABLE_URL))
