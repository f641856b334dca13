"""The in-memory state store: the embedded default (one process, no Redis). Gone when the process ends."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import numpy as np

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
    TrackletRecord,
    TrajectoryPage,
    TrajectoryPoint,
    identity_summary,
    matches,
)

# Events kept for clients that reconnect (SSE Last-Event-ID); older ones are dropped.
DEFAULT_MAX_EVENTS = 10_000


class MemoryStore(StateStore):
    """Dicts behind one lock; events in a bounded deque with a condition for waiting readers."""

    def __init__(self, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        self._lock = threading.RLock()
        self._new_event = threading.Condition(self._lock)
        self._cameras: dict[str, CameraRecord] = {}
        self._status: dict[str, CameraStatus] = {}
        self._views: dict[str, LiveView] = {}
        self._camera_runs: dict[str, int] = {}
        self._tracklets: dict[str, TrackletRecord] = {}
        self._points: dict[str, list[TrajectoryPoint]] = {}
        self._members: dict[int, set[str]] = {}  # identity -> tracklet ids
        self._identities: dict[int, IdentityRecord] = {}
        self._alias: dict[int, int] = {}  # merged-away id -> the id that absorbed it
        self._next_id = 1
        self._events: deque[Event] = deque(maxlen=max_events)
        self._event_seq = 0
        self._audit: list[AuditEntry] = []

    # ---- cameras ---------------------------------------------------------------------------------------

    def put_camera(self, camera: CameraRecord) -> None:
        with self._lock:
            self._cameras[camera.camera_id] = camera

    def get_camera(self, camera_id: str) -> CameraRecord:
        with self._lock:
            if camera_id not in self._cameras:
                raise NotFoundError(
                    f"camera {camera_id!r} is not registered; list cameras with GET /api/v1/cameras"
                )
            return self._cameras[camera_id]

    def list_cameras(self) -> list[CameraRecord]:
        with self._lock:
            return [self._cameras[c] for c in sorted(self._cameras)]

    def remove_camera(self, camera_id: str) -> None:
        with self._lock:
            self.get_camera(camera_id)
            del self._cameras[camera_id]
            self._status.pop(camera_id, None)
            self._views.pop(camera_id, None)

    def put_camera_status(self, status: CameraStatus) -> None:
        with self._lock:
            self._status[status.camera_id] = status

    def get_camera_status(self, camera_id: str) -> CameraStatus | None:
        with self._lock:
            return self._status.get(camera_id)

    def put_live_view(self, view: LiveView) -> None:
        with self._lock:
            self._views[view.camera_id] = view

    def get_live_view(self, camera_id: str) -> LiveView | None:
        with self._lock:
            return self._views.get(camera_id)

    def next_camera_run(self, camera_id: str) -> int:
        with self._lock:
            self._camera_runs[camera_id] = self._camera_runs.get(camera_id, 0) + 1
            return self._camera_runs[camera_id]

    # ---- identities, tracklets, trajectories -----------------------------------------------------------

    def allocate_identity_id(self) -> int:
        with self._lock:
            gid = self._next_id
            self._next_id += 1
            return gid

    def record_tracklet(self, tracklet: TrackletRecord, points: list[TrajectoryPoint]) -> IdentityRecord:
        with self._lock:
            gid = self._resolve(tracklet.global_id)
            tracklet = tracklet.model_copy(update={"global_id": gid})
            previous = self._tracklets.get(tracklet.tracklet_id)
            if previous is not None and previous.global_id != gid:
                # A later emission keeps the identity an operator may have moved it to.
                gid = previous.global_id
                tracklet = tracklet.model_copy(update={"global_id": gid})
            # Ids the associator hands out come from this store's counter; an id from elsewhere must not
            # be handed out again later.
            self._next_id = max(self._next_id, gid + 1)
            self._tracklets[tracklet.tracklet_id] = tracklet
            self._points[tracklet.tracklet_id] = sorted(points, key=lambda p: (p.t, p.camera_id))
            self._members.setdefault(gid, set()).add(tracklet.tracklet_id)
            return self._summarise(gid)

    def get_identity(self, global_id: int) -> IdentityRecord:
        with self._lock:
            return self._identities[self._known(global_id)]

    def list_identities(self, query: IdentityQuery) -> Page:
        with self._lock:
            ordered = sorted(self._identities.values(), key=lambda i: (i.first_seen, i.global_id))
            hits = [
                i
                for i in ordered
                if matches(query, i, [self._tracklets[t] for t in self._members[i.global_id]])
            ]
            return Page(items=tuple(hits[query.offset : query.offset + query.limit]), total=len(hits))

    def get_tracklet(self, tracklet_id: str) -> TrackletRecord:
        with self._lock:
            if tracklet_id not in self._tracklets:
                raise NotFoundError(f"tracklet {tracklet_id!r} is not recorded; ids look like 'cam01:17'")
            return self._tracklets[tracklet_id]

    def tracklets_of(self, global_id: int) -> list[TrackletRecord]:
        with self._lock:
            gid = self._known(global_id)
            return sorted(
                (self._tracklets[t] for t in self._members[gid]), key=lambda t: (t.t_start, t.tracklet_id)
            )

    def trajectory(self, global_id: int, offset: int = 0, limit: int = 500) -> TrajectoryPage:
        with self._lock:
            gid = self._known(global_id)
            points = [p for t in self._members[gid] for p in self._points[t]]
        points.sort(key=lambda p: (p.t, p.camera_id))
        return TrajectoryPage(items=tuple(points[offset : offset + limit]), total=len(points), global_id=gid)

    def tracklet_embeddings(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            rows = [(t.global_id, t.embedding) for t in self._tracklets.values() if t.embedding]
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        return (
            np.array([g for g, _ in rows], dtype=np.int64),
            np.array([e for _, e in rows], dtype=np.float32),
        )

    # ---- operator corrections --------------------------------------------------------------------------

    def merge_identities(self, keep: int, absorb: int) -> IdentityRecord:
        with self._lock:
            keep, absorb = self._known(keep), self._known(absorb)
            if keep == absorb:
                raise ConflictError(
                    f"identities {keep} and {absorb} are already one; merge two different identities"
                )
            for tid in self._members.pop(absorb):
                self._tracklets[tid] = self._tracklets[tid].model_copy(update={"global_id": keep})
                self._members[keep].add(tid)
            del self._identities[absorb]
            self._alias[absorb] = keep
            for old, target in self._alias.items():
                if target == absorb:
                    self._alias[old] = keep
            return self._summarise(keep)

    def split_tracklet(self, tracklet_id: str) -> IdentityRecord:
        with self._lock:
            tracklet = self.get_tracklet(tracklet_id)
            old = tracklet.global_id
            if len(self._members[old]) == 1:
                raise ConflictError(
                    f"tracklet {tracklet_id!r} is identity {old}'s only tracklet; there is nothing to split it from"
                )
            new = self.allocate_identity_id()
            self._members[old].discard(tracklet_id)
            self._tracklets[tracklet_id] = tracklet.model_copy(update={"global_id": new})
            self._members[new] = {tracklet_id}
            self._summarise(old)
            return self._summarise(new)

    # ---- events and audit ------------------------------------------------------------------------------

    def append_event(self, event: EventIn) -> Event:
        with self._new_event:
            self._event_seq += 1
            out = Event(event_id=f"{self._event_seq}", **event.model_dump())
            self._events.append(out)
            self._new_event.notify_all()
            return out

    def events_after(self, after: str | None, limit: int = 100, wait_s: float = 0.0) -> list[Event]:
        try:
            last = int(after) if after else 0
        except ValueError:
            last = 0  # an id from another store: start from what is kept
        deadline = time.monotonic() + wait_s
        with self._new_event:
            while True:
                newer = [e for e in self._events if int(e.event_id) > last][:limit]
                remaining = deadline - time.monotonic()
                if newer or remaining <= 0:
                    return newer
                self._new_event.wait(remaining)

    def append_audit(self, actor: str, action: AuditAction, details: dict[str, Any]) -> AuditEntry:
        with self._lock:
            entry = AuditEntry(
                audit_id=len(self._audit) + 1, t_wall=time.time(), actor=actor, action=action, details=details
            )
            self._audit.append(entry)
            return entry

    def audit_log(self, offset: int = 0, limit: int = 100) -> Page:
        with self._lock:
            return Page(items=tuple(self._audit[offset : offset + limit]), total=len(self._audit))

    # ---- housekeeping ----------------------------------------------------------------------------------

    def counts(self) -> StoreCounts:
        with self._lock:
            return StoreCounts(
                cameras=len(self._cameras),
                identities=len(self._identities),
                tracklets=len(self._tracklets),
                events=len(self._events),
                audit=len(self._audit),
            )

    def ping(self) -> None:
        return None

    # ---- internals -------------------------------------------------------------------------------------

    def _resolve(self, global_id: int) -> int:
        return self._alias.get(global_id, global_id)

    def _known(self, global_id: int) -> int:
        gid = self._resolve(global_id)
        if gid not in self._identities:
            raise NotFoundError(
                f"identity {global_id} is not recorded; list identities with GET /api/v1/identities"
            )
        return gid

    def _summarise(self, gid: int) -> IdentityRecord:
        members = [self._tracklets[t] for t in self._members[gid]]
        record = identity_summary(gid, members, sum(len(self._points[t.tracklet_id]) for t in members))
        self._identities[gid] = record
        return record
