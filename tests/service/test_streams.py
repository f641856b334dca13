"""Tracklets through a real Redis Stream: exact encoding, the in-process consumer loop against a plain
Associator, entries that can never be processed, and a ``crosscam associator`` killed with SIGKILL mid-stream
that resumes without losing or double-counting a tracklet."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import redis

from service.store import IdentityQuery, StateStore, tracklet_id
from service.stream_associator import SnapshotFolder, StreamAssociator, emission_order
from service.streams import (
    GROUP,
    MessageError,
    TrackletMessage,
    TrackletPublisher,
    TrackletReader,
    decode_tracklet,
    encode_tracklet,
    rejected_stream,
    stream_drained,
    tracklet_stream,
)
from trackers.association import AssociationConfig, Associator
from trackers.types import Tracklet

REPO = Path(__file__).resolve().parents[2]
FPS = 10.0
DIM = 8
CAMERAS = (
    ("cam01", 0.0),
    ("cam02", 200.0),
    ("cam03", 400.0),
)  # camera, where its view starts on the road (m)
WAIT_S = 30.0  # every wait on another process is bounded by this


def vehicle_tracklet(
    camera: str, track: int, t0: float, t1: float, look: np.ndarray, start_x: float | None
) -> Tracklet:
    """A vehicle seen from t0 to t1 (s) at FPS, driving east at 10 m/s from start_x (m; None: no positions)."""
    times = np.round(np.arange(t0, t1 + 1e-9, 1.0 / FPS), 6)
    frames = np.rint(times * FPS).astype(np.int64) + 1
    world = (
        np.full((len(times), 2), np.nan)
        if start_x is None
        else np.column_stack([start_x + 10.0 * (times - t0), np.zeros(len(times))])
    )
    boxes = np.tile([100.0, 100.0, 160.0, 150.0], (len(times), 1))
    return Tracklet(camera, track, look, len(times), frames, times, boxes, world)


def town(vehicles: int, seed: int = 0) -> list[Tracklet]:
    """Each vehicle passes cam01, cam02, cam03 in turn (6 s apart, each camera's look a little different);
    3 * vehicles tracklets in the order an online associator gets them (track end time)."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(vehicles):
        look = rng.normal(size=DIM).astype(np.float32)
        for camera, x0 in CAMERAS:
            seen = look + rng.normal(0, 0.1, DIM).astype(np.float32)
            start = 6.0 * k + x0 / 10.0
            out.append(vehicle_tracklet(camera, k + 1, start, start + 4.0, seen / np.linalg.norm(seen), x0))
    return sorted(out, key=lambda t: t.t_end)


def store_partition(store: StateStore) -> set[frozenset[str]]:
    """The store's identities as sets of tracklet ids (what a plain associator's decisions must match)."""
    page = store.list_identities(IdentityQuery(limit=1000))
    assert page.total == len(page.items)
    return {frozenset(identity.tracklet_ids) for identity in page.items}


def plain_partition(tracklets: list[Tracklet], config: AssociationConfig) -> set[frozenset[str]]:
    """The partition an in-process Associator makes of ``tracklets`` fed in this order."""
    associator = Associator(DIM, config)
    for t in tracklets:
        associator.add(t)
    return {frozenset(tracklet_id(*key) for key in keys) for keys in associator.members.values()}


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


# ---- encoding ----------------------------------------------------------------------------------------------


def test_a_tracklet_round_trips_bit_for_bit_through_redis(
    client: redis.Redis, redis_store_factory, redis_prefix: str
) -> None:
    prefix = redis_prefix
    redis_store_factory(prefix)  # the factory wipes the prefix afterwards
    look = np.linspace(-1, 1, DIM, dtype=np.float32)
    original = vehicle_tracklet("cam-7.a", 1_000_000_017, 12.5, 14.0, look / np.linalg.norm(look), 3.25)
    world = original.world_xy.copy()
    world[[0, 4]] = np.nan  # above the horizon: unknown positions must come back as NaN
    original = Tracklet(
        "cam-7.a", original.local_track_id, original.embedding, 11, original.frames, original.timestamps,
        original.xyxy + 0.123, world, final=False,
    )  # fmt: skip
    publisher = TrackletPublisher(client, prefix, run=2)
    t_emit = 14.0 + 1.0 / 3.0  # not a short decimal: the emission time must come back bit for bit too
    entry_id = publisher.publish(original, t_emit)
    flushed_id = publisher.publish(original, math.inf)
    [(raw_id, fields), (raw_flushed_id, flushed_fields)] = client.xrange(tracklet_stream(prefix))
    message = decode_tracklet(raw_id.decode(), fields)
    assert (message.entry_id, message.run, message.seq, message.t_emit) == (entry_id, 2, 1, t_emit)
    flushed = decode_tracklet(raw_flushed_id.decode(), flushed_fields)
    assert (flushed.entry_id, flushed.seq, flushed.t_emit) == (flushed_id, 2, math.inf)
    back = message.tracklet
    assert (back.camera_id, back.local_track_id, back.n_obs, back.final) == (
        "cam-7.a",
        1_000_000_017,
        11,
        False,
    )
    for name in ("embedding", "frames", "timestamps", "xyxy", "world_xy"):
        a, b = getattr(original, name), getattr(back, name)
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), name
    assert np.isnan(back.world_xy[[0, 4]]).all() and np.isfinite(back.world_xy[1:4]).all()


def test_an_entry_without_an_emission_time_reads_as_flushed() -> None:
    # An earlier release's worker wrote no t_emit: its entries still decode, sorted by track end as before.
    fields = encode_tracklet(town(1)[0], run=1, seq=1, t_emit=3.5)
    assert decode_tracklet("4-0", fields).t_emit == 3.5
    del fields["t_emit"]
    assert decode_tracklet("4-0", fields).t_emit == math.inf


def test_emission_order_is_the_single_process_order() -> None:
    """By emission time, ties in camera then track order; flushed tracklets last, by track end."""

    def message(camera: str, track: int, t_end: float, t_emit: float) -> TrackletMessage:
        look = np.ones(DIM, dtype=np.float32) / np.sqrt(DIM)
        return TrackletMessage(
            "0-0", vehicle_tracklet(camera, track, t_end - 1.0, t_end, look, None), 1, 1, t_emit
        )

    messages = [
        message("cam01", 9, 50.0, math.inf),
        message("cam02", 1, 30.0, math.inf),
        message("cam02", 3, 4.0, 6.0),
        message("cam01", 7, 5.0, 6.0),  # ended later than cam02:3, emitted at the same frame time
        message("cam02", 2, 3.0, 6.0),
        message("cam01", 4, 9.0, 2.0),  # an interim emission: track end after its emission's neighbours
    ]
    ordered = sorted(messages, key=emission_order)
    assert [(m.tracklet.camera_id, m.tracklet.local_track_id) for m in ordered] == [
        ("cam01", 4), ("cam01", 7), ("cam02", 2), ("cam02", 3), ("cam02", 1), ("cam01", 9),
    ]  # fmt: skip


def test_entries_that_are_not_tracklets_are_named() -> None:
    good = encode_tracklet(town(1)[0], run=1, seq=1)
    with pytest.raises(MessageError, match="entry 5-0 has format version 9"):
        decode_tracklet("5-0", {**good, "v": b"9"})
    with pytest.raises(MessageError, match="entry 6-0 is not a tracklet message"):
        decode_tracklet("6-0", {k: v for k, v in good.items() if k != "xyxy"})
    with pytest.raises(MessageError, match="entry 7-0 is not a tracklet message"):
        decode_tracklet("7-0", {**good, "embedding": b"\x00" * 3})
    with pytest.raises(MessageError, match="entry 8-0 is not a tracklet message"):
        decode_tracklet("8-0", {**good, "t_emit": b"nan"})


# ---- the consumer loop, in process -------------------------------------------------------------------------


def drain(store: StateStore, client: redis.Redis, prefix: str, folder: Path, every: int) -> StreamAssociator:
    reader = TrackletReader(client, prefix, "in-process", block_s=0.2)
    loop = StreamAssociator(store, reader, SnapshotFolder(folder), every, AssociationConfig.from_yaml())
    loop.run(threading.Event(), until_drained=True)
    return loop


def test_stream_association_matches_a_plain_associator(
    client: redis.Redis, redis_store_factory, redis_prefix: str, tmp_path: Path
) -> None:
    store = redis_store_factory(redis_prefix)
    tracklets = town(5)
    publisher = TrackletPublisher(client, redis_prefix, run=1)
    for t in tracklets:
        publisher.publish(t)
    loop = drain(store, client, redis_prefix, tmp_path, every=4)
    assert loop.processed == len(tracklets) == store.counts().tracklets
    expected = plain_partition(tracklets, AssociationConfig.from_yaml())
    assert store_partition(store) == expected
    assert sorted(len(s) for s in expected) == [3] * 5  # the scene is solvable: one identity per vehicle
    assert client.xpending(tracklet_stream(redis_prefix), GROUP)["pending"] == 0
    assert stream_drained(client, redis_prefix)
    assert client.xlen(tracklet_stream(redis_prefix)) < len(tracklets)  # acknowledged entries were trimmed
    # The last snapshot holds everything; a restored associator knows every tracklet.
    restored = Associator.restore(SnapshotFolder(tmp_path).latest())
    assert len(restored.tracklets) == len(tracklets)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["CURRENT", SnapshotFolder(tmp_path).latest().name]


def test_entries_that_can_never_be_associated_are_set_aside(
    client: redis.Redis, redis_store_factory, redis_prefix: str, tmp_path: Path
) -> None:
    store = redis_store_factory(redis_prefix)
    good = town(1)
    stream = tracklet_stream(redis_prefix)
    client.xadd(stream, {"v": 1, "camera": "cam01", "meta": "{not json"})
    publisher = TrackletPublisher(client, redis_prefix, run=1)
    for t in good:
        publisher.publish(t)
    odd = np.ones(DIM * 2, dtype=np.float32) / np.sqrt(DIM * 2)  # another embedder's size
    publisher.publish(vehicle_tracklet("cam09", 1, 100.0, 101.0, odd, None))  # after the first fixed D = 8
    drain(store, client, redis_prefix, tmp_path, every=100)
    assert store.counts().tracklets == len(good)
    rejected = client.xrange(rejected_stream(redis_prefix))
    reasons = [fields[b"reason"].decode() for _, fields in rejected]
    assert len(reasons) == 2 and "is not a tracklet message" in reasons[0]
    assert "cam09:1 has a 16-dim embedding, the associator's gallery 8" in reasons[1]
    assert client.xpending(stream, GROUP)["pending"] == 0


# ---- a crash: kill -9 mid-stream, restart, nothing lost ----------------------------------------------------


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting until {what}")
        time.sleep(0.02)


def start_associator(redis_url: str, prefix: str, snapshots: Path, processes: list) -> subprocess.Popen:
    env = {**os.environ, "REDIS_URL": redis_url, "CROSSCAM_REDIS_PREFIX": prefix}
    command = [sys.executable, "-m", "service.cli", "associator", "--snapshot-dir", str(snapshots)]
    process = subprocess.Popen(
        [*command, "--snapshot-every", "5"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    processes.append(process)
    return process


def test_associator_killed_mid_stream_resumes_without_losing_a_tracklet(
    client: redis.Redis, redis_store_factory, redis_url: str, redis_prefix: str, tmp_path: Path, processes
) -> None:
    store = redis_store_factory(redis_prefix)
    stream = tracklet_stream(redis_prefix)
    tracklets = town(14)  # 42 tracklets
    publisher = TrackletPublisher(client, redis_prefix, run=1)
    first = start_associator(redis_url, redis_prefix, tmp_path, processes)
    wait_until(lambda: client.exists(stream) and client.xinfo_groups(stream), "the associator made its group")
    killed_at = None
    for t in tracklets:
        publisher.publish(t)
        if killed_at is None:
            time.sleep(0.05)  # a live pace: the associator keeps up and snapshots every 5 messages
            recorded = store.counts().tracklets
            # Past two snapshots, some recorded since the last one, the latest a vehicle's first sighting: its
            # identity is in the store but not in the snapshot, and its replay must not split the vehicle.
            if recorded >= 12 and recorded % 5 and tracklets[recorded - 1].camera_id == "cam01":
                first.send_signal(signal.SIGKILL)
                first.wait(timeout=WAIT_S)
                killed_at = recorded
    assert killed_at is not None, f"the associator recorded only {store.counts().tracklets} tracklets"
    pending = client.xpending(stream, GROUP)["pending"]
    assert pending >= killed_at % 5  # delivered and recorded, never acknowledged: the crash's loose ends

    second = start_associator(redis_url, redis_prefix, tmp_path, processes)
    wait_until(lambda: stream_drained(client, redis_prefix), "the restarted associator drained the stream")
    assert store.counts().tracklets == len(tracklets)  # every tracklet, each once
    # one event per tracklet (a new identity, or a hand-off to the next camera), none repeated by the replay
    assert store.counts().events == len(tracklets)
    assert client.xpending(stream, GROUP)["pending"] == 0
    assert store_partition(store) == plain_partition(tracklets, AssociationConfig.from_yaml())
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=WAIT_S) == 0, second.stderr.read().decode()
