"""``RedisStore``: the ``StateStore`` on a Redis server, its transaction helpers and error reporting."""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar

import numpy as np
import redis
from redis.backoff import ExponentialBackoff
from redis.client import Pipeline
from redis.retry import Retry

from service.ingest import redact_text, redact_url
from service.store.base import (
    AuditAction,
    AuditEntry,
    CameraRecord,
    CameraStatus,
    ConflictError,
    Event,
    EventIn,
    IdentityQuery,
    IdentityRecord,
    LiveView,
    NotFoundError,
    Page,
    StateStore,
    StoreCounts,
    StoreUnavailableError,
    TrackletRecord,
    TrajectoryPage,
    TrajectoryPoint,
    identity_summary,
    matches,
)
from service.store.redis.codec import (
    _decode_point_rows,
    _decode_tracklet,
    _encode_embedding,
    _encode_points,
    _encode_tracklet,
    _points,
    _text,
)
from service.store.redis.keys import DEFAULT_PREFIX, _Keys, _member
from service.store.redis.scripts import _BUMP_COUNTER_LUA, _BUNDLE_LUA, _LIST_LUA

DEFAULT_MAX_EVENTS = 10_000
CONNECT_TIMEOUT_S = 2.0
# Every reply but a blocking XREAD comes in well under this; a dead server then fails a call in bounded time.
SOCKET_TIMEOUT_S = 10.0
# One blocking XREAD waits at most this long (s), below SOCKET_TIMEOUT_S; longer waits loop.
MAX_BLOCK_S = 5.0
# Optimistic transactions retry this often when another writer changed the same identity meanwhile.
MAX_TRANSACTION_ATTEMPTS = 50
WIPE_BATCH = 1000
_STREAM_ID = re.compile(r"^\d+(-\d+)?$")
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")
FIX_HINT = "start redis-server or set REDIS_URL to a reachable server (redis://[:password@]host:port/db)"

P = ParamSpec("P")
R = TypeVar("R")


def _reports_unavailable(method: Callable[P, R]) -> Callable[P, R]:
    """A lost or refused connection becomes StoreUnavailableError naming the (redacted) URL and the fix."""

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            store = args[0]
            assert isinstance(store, RedisStore)
            raise store.unavailable(exc) from None

    return call


class RedisStore(StateStore):
    """The state store on a Redis server, through one thread-safe connection pool (redis-py, sync)."""

    def __init__(self, url: str, prefix: str = DEFAULT_PREFIX, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        """``url``: redis://[:password@]host:port/db (or rediss://, unix://); nothing connects until the
        first call (``ping`` checks). ``prefix``: every key lives under ``<prefix>:``. ``max_events``: the
        events stream is trimmed to about this many (approximate trimming, cheap)."""
        if not prefix:
            raise ValueError("the Redis key prefix must not be empty (e.g. 'crosscam')")
        self._url_shown = redact_url(url)
        self._url = url
        try:
            self._pool = redis.ConnectionPool.from_url(
                url,
                socket_connect_timeout=CONNECT_TIMEOUT_S,
                socket_timeout=SOCKET_TIMEOUT_S,
                retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
                health_check_interval=30,
            )
        except ValueError as exc:
            raise ValueError(
                f"REDIS_URL {self._url_shown!r} cannot be used ({redact_text(str(exc), url)}); "
                "use redis://[:password@]host:port/db"
            ) from None
        self._client = redis.Redis(connection_pool=self._pool)
        self._keys = _Keys(prefix)
        self._max_events = max_events
        self._bundle = self._client.register_script(_BUNDLE_LUA)
        self._list = self._client.register_script(_LIST_LUA)

    @property
    def prefix(self) -> str:
        return self._keys.prefix

    def unavailable(self, exc: Exception) -> StoreUnavailableError:
        """The error to raise for a connection failure ``exc``: the redacted URL, the reason, the fix."""
        reason = redact_text(str(exc), self._url) or type(exc).__name__
        return StoreUnavailableError(f"Redis at {self._url_shown} cannot be reached ({reason}); {FIX_HINT}")

    # ---- cameras ---------------------------------------------------------------------------------------

    @_reports_unavailable
    def put_camera(self, camera: CameraRecord) -> None:
        self._client.hset(self._keys.cameras, camera.camera_id, camera.model_dump_json())

    @_reports_unavailable
    def get_camera(self, camera_id: str) -> CameraRecord:
        raw = self._client.hget(self._keys.cameras, camera_id)
        if raw is None:
            raise NotFoundError(
                f"camera {camera_id!r} is not registered; list cameras with GET /api/v1/cameras"
            )
        return CameraRecord.model_validate_json(raw)

    @_reports_unavailable
    def list_cameras(self) -> list[CameraRecord]:
        cameras = [CameraRecord.model_validate_json(v) for v in self._client.hvals(self._keys.cameras)]
        return sorted(cameras, key=lambda c: c.camera_id)

    @_reports_unavailable
    def remove_camera(self, camera_id: str) -> None:
        self.get_camera(camera_id)
        with self._client.pipeline(transaction=True) as pipe:
            pipe.hdel(self._keys.cameras, camera_id)
            pipe.hdel(self._keys.camera_status, camera_id)
            pipe.delete(self._keys.live(camera_id))
            pipe.execute()

    @_reports_unavailable
    def put_camera_status(self, status: CameraStatus) -> None:
        self._client.hset(self._keys.camera_status, status.camera_id, status.model_dump_json())

    @_reports_unavailable
    def get_camera_status(self, camera_id: str) -> CameraStatus | None:
        raw = self._client.hget(self._keys.camera_status, camera_id)
        return CameraStatus.model_validate_json(raw) if raw is not None else None

    @_reports_unavailable
    def put_live_view(self, view: LiveView) -> None:
        meta = view.model_dump_json(exclude={"jpeg"})
        self._client.hset(self._keys.live(view.camera_id), mapping={"meta": meta, "jpeg": view.jpeg})

    @_reports_unavailable
    def get_live_view(self, camera_id: str) -> LiveView | None:
        meta, jpeg = self._client.hmget(self._keys.live(camera_id), ["meta", "jpeg"])
        if meta is None or jpeg is None:
            return None
        return LiveView.model_validate({**json.loads(meta), "jpeg": jpeg})

    @_reports_unavailable
    def next_camera_run(self, camera_id: str) -> int:
        return int(self._client.incr(self._keys.camera_runs(camera_id)))

    # ---- identities, tracklets, trajectories -----------------------------------------------------------

    @_reports_unavailable
    def allocate_identity_id(self) -> int:
        return int(self._client.incr(self._keys.next_identity_id))

    @_reports_unavailable
    def record_tracklet(self, tracklet: TrackletRecord, points: list[TrajectoryPoint]) -> IdentityRecord:
        tid = tracklet.tracklet_id
        blob = _encode_points(tracklet, points)
        embedding = _encode_embedding(tracklet.embedding)

        def attempt(pipe: Pipeline) -> IdentityRecord:
            watched = {self._keys.aliases, self._keys.tracklet(tid), self._keys.identity(tracklet.global_id)}
            pipe.watch(*watched)
            # Resolves an absorbed id, and keeps the identity an operator may have moved the tracklet to.
            reply = self._read_bundle(pipe, watched, str(tracklet.global_id), tid, ("record", "n_points"))
            gid = int(reply[0])
            before = IdentityRecord.model_validate_json(reply[1]) if len(reply) > 1 else None
            others, n_points = self._members_except(before, reply[2:], tid, gid)
            moved = tracklet.model_copy(update={"global_id": gid})
            after = identity_summary(gid, [*others, moved], n_points + len(points))
            pipe.multi()
            pipe.hset(
                self._keys.tracklet(tid),
                mapping={
                    "gid": gid,
                    "record": _encode_tracklet(moved),
                    "n_points": len(points),
                    "points": blob,
                    "embedding": embedding,
                },
            )
            pipe.sadd(self._keys.tracklets, tid)
            self._queue_identity(pipe, before, after)
            pipe.eval(_BUMP_COUNTER_LUA, 1, self._keys.next_identity_id, gid)
            pipe.execute()
            return after

        return self._transact(attempt)

    @_reports_unavailable
    def get_identity(self, global_id: int) -> IdentityRecord:
        reply = self._eval_bundle(self._client, str(global_id), "", ())
        return self._identity_of(reply, global_id)

    @_reports_unavailable
    def list_identities(self, query: IdentityQuery) -> Page:
        index_camera = query.camera or query.seen_in or query.later_in
        index = self._keys.camera_identities(index_camera) if index_camera else self._keys.identities
        max_first_seen = repr(float(query.t_to)) if query.t_to is not None else "+inf"
        # The index answers "seen by one camera, first_seen <= t_to" alone; anything more is checked here.
        cameras_named = {c for c in (query.camera, query.seen_in, query.later_in) if c is not None}
        indexed_only = (
            query.t_from is None
            and query.min_cameras == 1
            and len(cameras_named) <= 1
            and not (query.seen_in and query.later_in)
        )
        if indexed_only:
            reply = self._list(args=[self.prefix, index, max_first_seen, query.offset, query.limit])
            items = tuple(IdentityRecord.model_validate_json(raw) for raw in reply[1:] if raw is not None)
            return Page(items=items, total=int(reply[0]))
        reply = self._list(args=[self.prefix, index, max_first_seen, 0, -1])
        candidates = [IdentityRecord.model_validate_json(raw) for raw in reply[1:] if raw is not None]
        needs_tracklets = query.seen_in is not None or query.later_in is not None
        members = self._tracklets_by_identity(candidates) if needs_tracklets else {}
        hits = [i for i in candidates if matches(query, i, members.get(i.global_id, []))]
        return Page(items=tuple(hits[query.offset : query.offset + query.limit]), total=len(hits))

    @_reports_unavailable
    def get_tracklet(self, tracklet_id: str) -> TrackletRecord:
        gid, record, embedding = self._client.hmget(
            self._keys.tracklet(tracklet_id), ["gid", "record", "embedding"]
        )
        if gid is None or record is None:
            raise NotFoundError(f"tracklet {tracklet_id!r} is not recorded; ids look like 'cam01:17'")
        return _decode_tracklet(record, int(gid), embedding)

    @_reports_unavailable
    def tracklets_of(self, global_id: int) -> list[TrackletRecord]:
        reply = self._eval_bundle(self._client, str(global_id), "", ("record", "embedding"))
        identity = self._identity_of(reply, global_id)
        values = reply[2:]
        tracklets = [
            _decode_tracklet(values[2 * i], identity.global_id, values[2 * i + 1])
            for i in range(len(identity.tracklet_ids))
            if values[2 * i] is not None
        ]
        return sorted(tracklets, key=lambda t: (t.t_start, t.tracklet_id))

    @_reports_unavailable
    def trajectory(self, global_id: int, offset: int = 0, limit: int = 500) -> TrajectoryPage:
        reply = self._eval_bundle(self._client, str(global_id), "", ("points",))
        identity = self._identity_of(reply, global_id)
        rows = [r for blob in reply[2:] if blob is not None for r in _decode_point_rows(blob)]
        rows.sort(key=lambda r: (r[0], r[1]))
        page = tuple(_points(rows[offset : offset + limit]))
        return TrajectoryPage(items=page, total=len(rows), global_id=identity.global_id)

    @_reports_unavailable
    def tracklet_embeddings(self) -> tuple[np.ndarray, np.ndarray]:
        tids = [_text(t) for t in self._client.smembers(self._keys.tracklets)]
        with self._client.pipeline(transaction=False) as pipe:
            for tid in tids:
                pipe.hmget(self._keys.tracklet(tid), ["gid", "embedding"])
            replies = pipe.execute()
        rows = [(int(gid), emb) for gid, emb in replies if gid is not None and emb]
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        ids = np.array([gid for gid, _ in rows], dtype=np.int64)
        return ids, np.stack([np.frombuffer(emb, dtype="<f8") for _, emb in rows]).astype(np.float32)

    # ---- operator corrections --------------------------------------------------------------------------

    @_reports_unavailable
    def merge_identities(self, keep: int, absorb: int) -> IdentityRecord:
        def attempt(pipe: Pipeline) -> IdentityRecord:
            watched = {self._keys.aliases, self._keys.identity(keep), self._keys.identity(absorb)}
            pipe.watch(*watched)
            fields = ("record", "n_points")
            kept_reply = self._read_bundle(pipe, watched, str(keep), "", fields)
            absorbed_reply = self._read_bundle(pipe, watched, str(absorb), "", fields)
            kept, gone = self._identity_of(kept_reply, keep), self._identity_of(absorbed_reply, absorb)
            if kept.global_id == gone.global_id:
                raise ConflictError(
                    f"identities {kept.global_id} and {gone.global_id} are already one; "
                    "merge two different identities"
                )
            kept_members, kept_points = self._members_except(kept, kept_reply[2:], None, kept.global_id)
            gone_members, gone_points = self._members_except(gone, absorbed_reply[2:], None, kept.global_id)
            after = identity_summary(kept.global_id, kept_members + gone_members, kept_points + gone_points)
            earlier = [int(x) for x in pipe.smembers(self._keys.absorbed(gone.global_id))]
            pipe.multi()
            for member in gone_members:
                pipe.hset(self._keys.tracklet(member.tracklet_id), "gid", kept.global_id)
            self._queue_identity(pipe, kept, after)
            self._queue_identity(pipe, gone, None)
            # Aliases stay one hop: everything ``absorb`` had absorbed now resolves to ``keep`` directly.
            redirected = [gone.global_id, *earlier]
            pipe.hset(self._keys.aliases, mapping=dict.fromkeys(redirected, kept.global_id))
            pipe.sadd(self._keys.absorbed(kept.global_id), *redirected)
            pipe.delete(self._keys.absorbed(gone.global_id))
            pipe.execute()
            return after

        return self._transact(attempt)

    @_reports_unavailable
    def split_tracklet(self, tracklet_id: str) -> IdentityRecord:
        new_id: list[int] = []  # allocated once, kept across retries (an id is never handed out twice)

        def attempt(pipe: Pipeline) -> IdentityRecord:
            watched = {self._keys.tracklet(tracklet_id)}
            pipe.watch(*watched)
            reply = self._read_bundle(pipe, watched, "", tracklet_id, ("record", "n_points"))
            if not reply:
                raise NotFoundError(f"tracklet {tracklet_id!r} is not recorded; ids look like 'cam01:17'")
            old = int(reply[0])
            before = self._identity_of(reply, old)
            if len(before.tracklet_ids) == 1:
                raise ConflictError(
                    f"tracklet {tracklet_id!r} is identity {old}'s only tracklet; "
                    "there is nothing to split it from"
                )
            members, _ = self._members_except(before, reply[2:], None, old)
            n_points = self._point_counts(before, reply[2:])
            if not new_id:
                new_id.append(int(pipe.incr(self._keys.next_identity_id)))
            gid = new_id[0]
            moving = next(m for m in members if m.tracklet_id == tracklet_id).model_copy(
                update={"global_id": gid}
            )
            staying = [m for m in members if m.tracklet_id != tracklet_id]
            old_after = identity_summary(old, staying, sum(n_points[m.tracklet_id] for m in staying))
            new_after = identity_summary(gid, [moving], n_points[tracklet_id])
            pipe.multi()
            pipe.hset(self._keys.tracklet(tracklet_id), "gid", gid)
            self._queue_identity(pipe, before, old_after)
            self._queue_identity(pipe, None, new_after)
            pipe.execute()
            return new_after

        return self._transact(attempt)

    # ---- events and audit ------------------------------------------------------------------------------

    @_reports_unavailable
    def append_event(self, event: EventIn) -> Event:
        event_id = self._client.xadd(
            self._keys.events, {"json": event.model_dump_json()}, maxlen=self._max_events, approximate=True
        )
        return Event(event_id=_text(event_id), **event.model_dump())

    @_reports_unavailable
    def events_after(self, after: str | None, limit: int = 100, wait_s: float = 0.0) -> list[Event]:
        # An id this stream did not hand out (another store's, a garbled header): start from the oldest kept.
        start = after if after and _STREAM_ID.match(after) else "0-0"
        deadline = time.monotonic() + wait_s
        while True:
            remaining = deadline - time.monotonic()
            # BLOCK 0 would wait forever: no BLOCK when there is no time left to wait.
            block_ms = int(min(remaining, MAX_BLOCK_S) * 1000) if remaining > 0.001 else None
            reply = self._client.xread({self._keys.events: start}, count=limit, block=block_ms)
            if reply or block_ms is None:
                break
        entries = reply[0][1] if reply else []
        return [
            Event.model_validate({**json.loads(fields[b"json"]), "event_id": _text(entry_id)})
            for entry_id, fields in entries
        ]

    @_reports_unavailable
    def append_audit(self, actor: str, action: AuditAction, details: dict[str, Any]) -> AuditEntry:
        t_wall = time.time()
        body = {"t_wall": t_wall, "actor": actor, "action": action, "details": details}
        entry = AuditEntry(audit_id=1, **body)  # validates before anything is stored
        position = self._client.rpush(self._keys.audit, entry.model_dump_json(exclude={"audit_id"}))
        return entry.model_copy(update={"audit_id": int(position)})

    @_reports_unavailable
    def audit_log(self, offset: int = 0, limit: int = 100) -> Page:
        with self._client.pipeline(transaction=True) as pipe:
            pipe.llen(self._keys.audit)
            pipe.lrange(self._keys.audit, offset, offset + limit - 1)
            total, raws = pipe.execute()
        items = tuple(
            AuditEntry.model_validate({**json.loads(raw), "audit_id": offset + i + 1})
            for i, raw in enumerate(raws)
        )
        return Page(items=items, total=int(total))

    # ---- housekeeping ----------------------------------------------------------------------------------

    @_reports_unavailable
    def counts(self) -> StoreCounts:
        with self._client.pipeline(transaction=True) as pipe:
            pipe.hlen(self._keys.cameras)
            pipe.zcard(self._keys.identities)
            pipe.scard(self._keys.tracklets)
            pipe.xlen(self._keys.events)
            pipe.llen(self._keys.audit)
            cameras, identities, tracklets, events, audit = pipe.execute()
        return StoreCounts(
            cameras=cameras, identities=identities, tracklets=tracklets, events=events, audit=audit
        )

    def ping(self) -> None:
        try:
            self._client.ping()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise self.unavailable(exc) from None

    @_reports_unavailable
    def wipe(self) -> int:
        """Delete every key under this store's prefix (tests; ``crosscam serve --fresh``). Returns how many."""
        pattern = _GLOB_SPECIAL.sub(r"\\\1", self.prefix) + ":*"
        deleted = 0
        batch: list[bytes] = []
        for key in self._client.scan_iter(match=pattern, count=WIPE_BATCH):
            batch.append(key)
            if len(batch) >= WIPE_BATCH:
                deleted += self._client.unlink(*batch)
                batch.clear()
        if batch:
            deleted += self._client.unlink(*batch)
        return deleted

    def close(self) -> None:
        self._client.close()
        self._pool.disconnect()

    # ---- internals -------------------------------------------------------------------------------------

    def _transact(self, attempt: Callable[[Pipeline], R]) -> R:
        """Run ``attempt`` (WATCH, read, MULTI, queue, EXEC) until no watched key changed under it."""
        for _ in range(MAX_TRANSACTION_ATTEMPTS):
            with self._client.pipeline(transaction=True) as pipe:
                try:
                    return attempt(pipe)
                except redis.WatchError:
                    continue
        raise ConflictError(
            f"the identities involved changed under {MAX_TRANSACTION_ATTEMPTS} attempts in a row; retry the request"
        )

    def _eval_bundle(
        self, client: redis.Redis | Pipeline, global_id: str, owner_of: str, fields: Iterable[str]
    ) -> list[Any]:
        args = [self.prefix, global_id, owner_of, *fields]
        try:
            return client.evalsha(self._bundle.sha, 0, *args)
        except redis.exceptions.NoScriptError:  # a restarted or flushed server: send the script itself
            return client.eval(_BUNDLE_LUA, 0, *args)

    def _read_bundle(
        self, pipe: Pipeline, watched: set[str], global_id: str, owner_of: str, fields: Iterable[str]
    ) -> list[Any]:
        """The bundle of ``global_id`` (or ``owner_of``'s identity) read while its identity key is WATCHed:
        when it resolves to an identity not watched yet, watch that one too and read again."""
        fields = tuple(fields)
        while True:
            reply = self._eval_bundle(pipe, global_id, owner_of, fields)
            if not reply:
                return reply
            key = self._keys.identity(_text(reply[0]))
            if key in watched:
                return reply
            pipe.watch(key)
            watched.add(key)

    def _identity_of(self, reply: list[Any], asked: int) -> IdentityRecord:
        if len(reply) < 2:
            raise NotFoundError(
                f"identity {asked} is not recorded; list identities with GET /api/v1/identities"
            )
        return IdentityRecord.model_validate_json(reply[1])

    @staticmethod
    def _members_except(
        identity: IdentityRecord | None, values: list[Any], skip: str | None, global_id: int
    ) -> tuple[list[TrackletRecord], int]:
        """The identity's tracklets but ``skip`` (as if owned by ``global_id``) and their point count, from a
        bundle's (record, n_points) values."""
        if identity is None:
            return [], 0
        members, n_points = [], 0
        for i, tid in enumerate(identity.tracklet_ids):
            record, count = values[2 * i], values[2 * i + 1]
            if tid == skip or record is None:
                continue
            members.append(_decode_tracklet(record, global_id))
            n_points += int(count or 0)
        return members, n_points

    @staticmethod
    def _point_counts(identity: IdentityRecord, values: list[Any]) -> dict[str, int]:
        return {tid: int(values[2 * i + 1] or 0) for i, tid in enumerate(identity.tracklet_ids)}

    def _queue_identity(
        self, pipe: Pipeline, before: IdentityRecord | None, after: IdentityRecord | None
    ) -> None:
        """Queue writing ``after`` (None: deleting ``before``) and keeping the listing indexes in step."""
        identity = after or before
        assert identity is not None
        member = _member(identity.global_id)
        stale_cameras = set(before.cameras if before else ()) - set(after.cameras if after else ())
        for camera in stale_cameras:
            pipe.zrem(self._keys.camera_identities(camera), member)
        if after is None:
            pipe.delete(self._keys.identity(identity.global_id))
            pipe.zrem(self._keys.identities, member)
            return
        pipe.set(self._keys.identity(after.global_id), after.model_dump_json())
        pipe.zadd(self._keys.identities, {member: after.first_seen})
        for camera in after.cameras:
            pipe.zadd(self._keys.camera_identities(camera), {member: after.first_seen})

    def _tracklets_by_identity(self, identities: list[IdentityRecord]) -> dict[int, list[TrackletRecord]]:
        """Every listed identity's tracklets (no embeddings), for the seen_in / later_in filters."""
        with self._client.pipeline(transaction=False) as pipe:
            for identity in identities:
                for tid in identity.tracklet_ids:
                    pipe.hget(self._keys.tracklet(tid), "record")
            records = iter(pipe.execute())
        out: dict[int, list[TrackletRecord]] = {}
        for identity in identities:
            raws = [next(records) for _ in identity.tracklet_ids]
            out[identity.global_id] = [_decode_tracklet(r, identity.global_id) for r in raws if r is not None]
        return out
