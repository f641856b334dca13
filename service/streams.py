"""Tracklets on a Redis Stream: camera workers publish, the associator consumes through a consumer group.

DESIGN.md, "at scale": each ``crosscam worker`` XADDs every ``Tracklet`` its builder emits to the stream
``<prefix>:streams:tracklets`` (not ``<prefix>:tracklets``: the Redis store keeps its set of tracklet ids
there); ``crosscam associator`` reads it as a member of the consumer group ``associators``
(created at the stream's first id with MKSTREAM, so tracklets published before the first associator started
are read too) and acknowledges (XACK) an entry only once its effect is durable (see
``service.stream_associator``). Delivery is therefore at least once: an entry is re-read after a crash until
it is acknowledged (and an XADD retried after a lost reply may add a tracklet twice), so every consumer step
is safe to repeat.

Entry fields (readable with ``redis-cli XRANGE``): ``v`` format version; ``camera`` camera id; ``run`` the
worker run that published it (``service.camera_worker``); ``seq`` 1, 2, ... within that run; ``t_emit`` when
the worker's builder emitted it (the timestamp, s on the camera's clock, of the frame that made it due; ``inf``
for one flushed at the end of the stream), the moment the single-process run associates it at; ``meta`` JSON
(local track id, n_obs, final, and each array's dtype and shape); and one field per array (embedding, frames,
timestamps, xyxy, world_xy) holding its raw bytes with an explicit byte order, so a tracklet decodes bit for
bit (NaN world positions included).

Trimming: workers XADD without MAXLEN. XADD's MAXLEN (exact or ``~``) drops the oldest entries whether or not
a consumer group has acknowledged them (Redis before 8.2 has no acknowledgement-aware trimming), so a slow or
crashed associator would lose tracklets. Instead the associator trims after it acknowledges
(``TrackletReader.trim_acknowledged``): XTRIM MINID ~ below the oldest entry some group still needs (its
oldest pending entry, or the first it has not been delivered yet). ``~`` only ever trims less than asked.
Until an associator has run once (and made the group), nothing trims: the stream keeps every tracklet for it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from service.settings import ServiceSettings
from trackers.types import Tracklet

GROUP = "associators"
FORMAT_VERSION = 1
ARRAY_FIELDS = ("embedding", "frames", "timestamps", "xyxy", "world_xy")
# Entries left pending this long (s) by a consumer are taken over by another (XAUTOCLAIM): long enough that
# a live consumer between two snapshots keeps its entries, short enough that a replacement with a new name
# (a rescheduled pod) picks up a dead one's work within a minute.
DEFAULT_CLAIM_IDLE_S = 60.0
DEFAULT_BATCH = 64
# Rejected entries kept for diagnosis (approximate MAXLEN: the oldest go first).
REJECTED_KEEP = 10_000
DEFAULT_BLOCK_S = 1.0
CONNECT_TIMEOUT_S = 5.0
SOCKET_TIMEOUT_S = 10.0  # above the blocking read's DEFAULT_BLOCK_S
HEALTH_CHECK_S = 30.0
RETRIES, RETRY_BASE_S, RETRY_CAP_S = 8, 0.25, 8.0  # back-off 0.25, 0.5, 1 ... 8 s: ~30 s in all


def tracklet_stream(prefix: str) -> str:
    """The stream's key for the service under Redis key prefix ``prefix``."""
    return f"{prefix}:streams:tracklets"


def rejected_stream(prefix: str) -> str:
    """Where the associator moves entries it can never process (undecodable, wrong embedding size)."""
    return f"{prefix}:streams:tracklets-rejected"


class MessageError(ValueError):
    """A stream entry that is not a tracklet message this version can decode; the message says why."""


@dataclass(frozen=True)
class TrackletMessage:
    """One decoded entry: its stream id, the tracklet, the worker run and sequence number that sent it, and
    when it was emitted (``t_emit``, s; ``math.inf`` for a tracklet flushed at the end of the stream)."""

    entry_id: str
    tracklet: Tracklet
    run: int
    seq: int
    t_emit: float


def encode_tracklet(
    tracklet: Tracklet, run: int, seq: int, t_emit: float = math.inf
) -> dict[str, bytes | str | int]:
    """The stream entry's fields for ``tracklet``, sent by worker run ``run`` as its ``seq``-th message,
    emitted at ``t_emit`` (s; ``math.inf``: flushed at the end of the stream)."""
    if math.isnan(t_emit):  # NaN has no place in the associator's sort order
        raise ValueError("t_emit is NaN: pass the emitting frame's timestamp, or math.inf for a flush")
    arrays = {name: np.ascontiguousarray(getattr(tracklet, name)) for name in ARRAY_FIELDS}
    meta = {
        "local_track_id": tracklet.local_track_id,
        "n_obs": tracklet.n_obs,
        "final": tracklet.final,
        # dtype.str names the byte order ('<f4'), so a reader on another architecture decodes the same values
        "arrays": {name: [a.dtype.str, list(a.shape)] for name, a in arrays.items()},
    }
    fields: dict[str, bytes | str | int] = {
        "v": FORMAT_VERSION,
        "camera": tracklet.camera_id,
        "run": run,
        "seq": seq,
        # repr round-trips a float exactly and writes infinity as 'inf' (JSON has no infinity)
        "t_emit": repr(float(t_emit)),
        "meta": json.dumps(meta),
    }
    fields.update({name: a.tobytes() for name, a in arrays.items()})
    return fields


def decode_tracklet(entry_id: str, fields: Mapping[bytes | str, bytes | str]) -> TrackletMessage:
    """The message of one stream entry; MessageError naming the entry when it cannot be decoded."""
    raw = {_text(k): v for k, v in fields.items()}
    try:
        version = int(raw["v"])
        if version != FORMAT_VERSION:
            raise MessageError(
                f"stream entry {entry_id} has format version {version}; this associator reads version "
                f"{FORMAT_VERSION}: run workers and associator of the same crosscam release"
            )
        meta = json.loads(raw["meta"])
        arrays = {}
        for name, (dtype, shape) in meta["arrays"].items():
            if name not in ARRAY_FIELDS:
                raise KeyError(name)
            data = raw[name] if isinstance(raw[name], bytes) else raw[name].encode()
            arrays[name] = np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape).copy()
        tracklet = Tracklet(
            camera_id=_text(raw["camera"]),
            local_track_id=int(meta["local_track_id"]),
            n_obs=int(meta["n_obs"]),
            final=bool(meta["final"]),
            **arrays,
        )
        return TrackletMessage(entry_id, tracklet, int(raw["run"]), int(raw["seq"]), _t_emit(raw))
    except MessageError:
        raise
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise MessageError(
            f"stream entry {entry_id} is not a tracklet message ({type(exc).__name__}: {exc})"
        ) from None


def _t_emit(raw: Mapping[str, bytes | str]) -> float:
    """An entry's emission time. An entry without one (published by a worker of an earlier release, left in
    the stream across an upgrade) reads as ``inf``: rejecting it would lose a tracklet that decodes fine, and
    ``inf`` sorts it by track end, the order the associator used before ``t_emit`` existed."""
    if "t_emit" not in raw:
        return math.inf
    t_emit = float(_text(raw["t_emit"]))
    if math.isnan(t_emit):
        raise ValueError("t_emit is NaN")
    return t_emit


class RedisRequiredError(ValueError):
    """A scale-out process was started without a Redis server to work through."""


def redis_url_of(settings: ServiceSettings, command: str) -> str:
    """The Redis URL ``command`` works through; RedisRequiredError saying how to give one."""
    if settings.redis_url is None:
        raise RedisRequiredError(
            f"{command} needs a Redis server: pass --redis-url redis://host:6379/0 or set REDIS_URL"
        )
    return settings.redis_url.get_secret_value()


def redis_client(url: str) -> redis.Redis:
    """A client for the stream (binary replies: entries hold raw array bytes) that rides out a brief outage:
    failed commands are retried with back-off for about half a minute before the error reaches the caller."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=SOCKET_TIMEOUT_S,
        health_check_interval=HEALTH_CHECK_S,
        retry=Retry(ExponentialBackoff(cap=RETRY_CAP_S, base=RETRY_BASE_S), RETRIES),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )


def ensure_group(client: redis.Redis, prefix: str) -> None:
    """Create the stream (empty) and the ``associators`` group reading it from its first entry, if absent."""
    try:
        client.xgroup_create(tracklet_stream(prefix), GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):  # the group exists already: what every start but the first sees
            raise


class TrackletPublisher:
    """A worker's side of the stream: ``publish`` XADDs a tracklet with this run's next sequence number."""

    def __init__(self, client: redis.Redis, prefix: str, run: int) -> None:
        self.client = client
        self.stream = tracklet_stream(prefix)
        self.run = run
        self.published = 0

    def publish(self, tracklet: Tracklet, t_emit: float = math.inf) -> str:
        """Append ``tracklet``, emitted at ``t_emit`` (s; ``math.inf``, the default: flushed at the end of the
        stream, associated by track end); returns its entry id. No MAXLEN: see the module docstring."""
        fields = encode_tracklet(tracklet, self.run, self.published + 1, t_emit)
        entry_id = self.client.xadd(self.stream, fields)
        self.published += 1
        return _text(entry_id)


@dataclass
class Batch:
    """What one ``TrackletReader.read`` delivered: decodable messages, and entries that never will be
    (entry id, reason, raw fields) for the caller to set aside."""

    messages: list[TrackletMessage] = field(default_factory=list)
    rejected: list[tuple[str, str, dict[Any, Any]]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.messages) + len(self.rejected)

    @property
    def entry_ids(self) -> list[str]:
        return [m.entry_id for m in self.messages] + [r[0] for r in self.rejected]


class TrackletReader:
    """One consumer of the ``associators`` group. ``read`` delivers, in this order: the entries this consumer
    name was delivered before and never acknowledged (a restart after a crash replays them), entries another
    consumer left pending for ``claim_idle_s`` (XAUTOCLAIM: that consumer died), then new entries (waiting up
    to ``block_s`` for one). ``ack`` acknowledges; entries delivered and not yet acknowledged are never
    claimed back from this consumer by itself."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        consumer: str,
        claim_idle_s: float = DEFAULT_CLAIM_IDLE_S,
        batch: int = DEFAULT_BATCH,
        block_s: float = DEFAULT_BLOCK_S,
    ) -> None:
        self.client = client
        self.stream = tracklet_stream(prefix)
        self.rejected = rejected_stream(prefix)
        self.consumer = consumer
        self.claim_idle_s = claim_idle_s
        self.batch = batch
        self.block_s = block_s
        ensure_group(client, prefix)
        self._replay_from: str | None = "0"  # cursor through this consumer's own pending entries; None: done
        self._claim_cursor = "0-0"
        self._next_claim = 0.0  # time.monotonic() of the next XAUTOCLAIM scan
        self._outstanding: set[str] = set()  # delivered to the caller, not yet acknowledged

    def read(self) -> Batch:
        """The next entries (at most ``batch``); empty when none came within ``block_s``."""
        if self._replay_from is not None:
            entries = self._group_read(self._replay_from, block=False)
            if entries:
                self._replay_from = entries[-1][0]
                return self._deliver(entries)
            self._replay_from = None
        claimed = self._claim()
        if claimed:
            return self._deliver(claimed)
        return self._deliver(self._group_read(">", block=True))

    def ack(self, entry_ids: list[str]) -> None:
        if entry_ids:
            self.client.xack(self.stream, GROUP, *entry_ids)
            self._outstanding.difference_update(entry_ids)

    def set_aside(self, entry_id: str, reason: str, fields: Mapping | None = None) -> None:
        """Copy an entry that can never be processed to the rejected stream, with the reason (the caller
        still acknowledges it)."""
        record = {"entry_id": entry_id, "reason": reason, **(fields or {})}
        self.client.xadd(self.rejected, record, maxlen=REJECTED_KEEP, approximate=True)

    def pending(self) -> int:
        """Entries the group has delivered (to any consumer) and nobody has acknowledged yet."""
        return int(self.client.xpending(self.stream, GROUP)["pending"])

    def trim_acknowledged(self) -> None:
        """Drop entries every group of the stream has acknowledged (XTRIM MINID ~; never one still needed)."""
        groups = self.client.xinfo_groups(self.stream)
        bounds = []
        for group in groups:
            name = _text(group["name"])
            first_undelivered = _next_id(_text(group["last-delivered-id"]))
            summary = self.client.xpending(self.stream, name)
            bound = first_undelivered
            if summary["pending"]:
                bound = min(bound, _text(summary["min"]), key=_id_key)
            bounds.append(bound)
        if bounds:
            self.client.xtrim(self.stream, minid=min(bounds, key=_id_key), approximate=True)

    # ---- internals -------------------------------------------------------------------------------------

    def _group_read(self, start: str, block: bool) -> list[tuple[str, dict | None]]:
        reply = self.client.xreadgroup(
            GROUP,
            self.consumer,
            {self.stream: start},
            count=self.batch,
            block=int(self.block_s * 1000) if block else None,
        )
        if not reply:
            return []
        _, entries = reply[0]
        return [(_text(entry_id), fields) for entry_id, fields in entries]

    def _claim(self) -> list[tuple[str, dict | None]]:
        """Entries idle for ``claim_idle_s`` in another consumer's pending list, a page per call; the whole
        list is scanned again every ``claim_idle_s / 2`` seconds."""
        if time.monotonic() < self._next_claim:
            return []
        cursor, entries, *_ = self.client.xautoclaim(
            self.stream,
            GROUP,
            self.consumer,
            min_idle_time=int(self.claim_idle_s * 1000),
            start_id=self._claim_cursor,
            count=self.batch,
        )
        self._claim_cursor = _text(cursor)
        if self._claim_cursor == "0-0":
            self._next_claim = time.monotonic() + self.claim_idle_s / 2
        # Our own entries held until the next snapshot idle too, and XAUTOCLAIM takes those from anyone.
        return [(_text(i), f) for i, f in entries if _text(i) not in self._outstanding]

    def _deliver(self, entries: list[tuple[str, dict | None]]) -> Batch:
        batch = Batch()
        for entry_id, fields in entries:
            if not fields:  # pending, but its data was deleted from the stream: nothing left to process
                self.client.xack(self.stream, GROUP, entry_id)
                continue
            self._outstanding.add(entry_id)
            try:
                batch.messages.append(decode_tracklet(entry_id, fields))
            except MessageError as exc:
                batch.rejected.append((entry_id, str(exc), dict(fields)))
        return batch


def stream_drained(client: redis.Redis, prefix: str) -> bool:
    """True when the ``associators`` group has been delivered every entry and acknowledged all of them
    (False while there is no stream or group yet)."""
    stream = tracklet_stream(prefix)
    try:
        info = client.xinfo_stream(stream)
        groups = client.xinfo_groups(stream)
    except redis.ResponseError:  # no such stream
        return False
    group = next((g for g in groups if _text(g["name"]) == GROUP), None)
    if group is None:
        return False
    delivered_all = _id_key(_text(group["last-delivered-id"])) >= _id_key(_text(info["last-generated-id"]))
    return delivered_all and int(group["pending"]) == 0


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _next_id(entry_id: str) -> str:
    """The smallest stream id after ``entry_id``."""
    ms, seq = _id_key(entry_id)
    return f"{ms}-{seq + 1}"
