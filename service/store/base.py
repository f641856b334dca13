"""The state store: what the service records, and the one interface both stores implement.

DESIGN.md step 7. Workers and the associator write here; the API only reads (and applies operator
corrections). Two implementations pass one contract test suite: ``MemoryStore`` (the embedded default, one
process) and ``RedisStore`` (``REDIS_URL``: a real Redis server, shared by every process, survives restarts).

Units: times are seconds on the recording's clock (``t``, ``t_start`` ...) unless named ``*_wall`` (Unix
seconds); boxes are pixels ``[x1, y1, x2, y2]``; world positions are metres on the ground plane.
Identity ids are positive integers allocated by ``allocate_identity_id`` (the associator's and operators' ids
share that one counter, so a split never reuses an id). A tracklet id is ``"<camera_id>:<local_track_id>"``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

CAMERA_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_CAMERA_ID = re.compile(CAMERA_ID_PATTERN)

EventType = Literal[
    "identity.new",  # a tracklet started a new global identity
    "identity.handoff",  # an identity seen in one camera appeared in another
    "identity.merged",  # an operator merged two identities
    "tracklet.split",  # an operator split a tracklet off its identity
    "camera.added",
    "camera.removed",
]
AuditAction = Literal["identity.merge", "tracklet.split", "camera.add", "camera.remove"]


class StoreError(ValueError):
    """A store operation cannot be done as asked (unknown identity, merging an identity with itself ...);
    the message names the thing and what would fix it. The API answers it with 404 or 409."""


class NotFoundError(StoreError):
    """The named camera, identity or tracklet is not in the store."""


class ConflictError(StoreError):
    """The request contradicts what is stored (merge into itself, split an identity's only tracklet ...)."""


class StoreUnavailableError(RuntimeError):
    """The store's server cannot be reached; the message names its (redacted) URL. ``/readyz`` reports it."""


def tracklet_id(camera_id: str, local_track_id: int) -> str:
    """The store's id of one camera's track: ``"cam01:17"``."""
    return f"{camera_id}:{local_track_id}"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CameraRecord(_Record):
    """A camera the service runs. ``url`` keeps its credentials (the worker needs them): anything shown to a
    person goes through ``service.ingest.redact_url``. ``calibration``: the ``calibration/camNN.json`` mapping
    (``homography_image_to_world`` 3x3 at least, as ``trackers.calibration`` reads it), or None (no world positions).
    transport (RTSP: tcp, udp or auto) and process_fps (frames per second processed): None = the service's
    setting."""

    camera_id: str
    url: str
    calibration: dict[str, Any] | None = None
    transport: Literal["tcp", "udp", "auto"] | None = None
    process_fps: float | None = None
    added_wall: float

    @field_validator("camera_id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not _CAMERA_ID.match(value):
            raise ValueError(
                f"camera id {value!r} must be 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit"
            )
        return value


class CameraStatus(_Record):
    """A camera worker's latest report (published every second or so). ``url`` and ``last_error`` are
    already redacted. state: the reader's state, or "failed" / "stopped" from the worker. received_fps:
    frames decoded per second, recently; processed_fps: frames through the pipeline per second, recently;
    process_fps: the processing rate asked for (None: every frame); lag_s: seconds from a frame's capture
    to the end of its processing, for the latest frame (None for a file replayed as fast as it decodes);
    frames_skipped: left out by the processing rate; frames_dropped: discarded because the pipeline fell
    behind; queue_depth: frames waiting for the pipeline; stage_ms: mean milliseconds per frame of each
    pipeline stage (decode, detect, embed, track)."""

    camera_id: str
    state: str
    url: str
    received_fps: float = 0.0
    processed_fps: float = 0.0
    process_fps: float | None = None
    lag_s: float | None = None
    frames_received: int = 0
    frames_processed: int = 0
    frames_skipped: int = 0
    frames_dropped: int = 0
    queue_depth: int = 0
    reconnects: int = 0
    last_frame_wall: float | None = None
    last_error: str | None = None
    stage_ms: dict[str, float] = Field(default_factory=dict)
    updated_wall: float


class LiveBox(_Record):
    """One tracked vehicle on a camera's latest frame: box px, the camera's track id, its global id (None
    until the track's first tracklet is associated)."""

    xyxy: tuple[float, float, float, float]
    track_id: int
    global_id: int | None = None


class LiveView(_Record):
    """A camera's latest processed frame for the operator page: JPEG bytes and the boxes on it."""

    camera_id: str
    frame_index: int
    t: float
    width: int
    height: int
    jpeg: bytes
    boxes: tuple[LiveBox, ...] = ()


class TrackletRecord(_Record):
    """One camera's track as associated: its identity, span (s), observations, and its aggregated unit
    embedding (D floats; used by search by image). ``final`` False: a live track's interim emission."""

    tracklet_id: str
    camera_id: str
    local_track_id: int
    global_id: int
    t_start: float
    t_end: float
    n_obs: int
    final: bool = True
    embedding: tuple[float, ...] = ()


class TrajectoryPoint(_Record):
    """One observation of a vehicle: the camera, its tracklet, frame (1-based), time (s), box (px) and
    ground position (m; None without calibration or above the horizon)."""

    tracklet_id: str
    camera_id: str
    frame: int
    t: float
    xyxy: tuple[float, float, float, float]
    world: tuple[float, float] | None = None


class IdentityRecord(_Record):
    """A global vehicle identity as stored: the cameras that saw it (sorted), first and last time (s),
    its tracklets' ids (in order of first sighting) and how many trajectory points it has."""

    global_id: int
    cameras: tuple[str, ...]
    first_seen: float
    last_seen: float
    tracklet_ids: tuple[str, ...]
    n_points: int


class IdentityQuery(_Record):
    """Filters for ``list_identities``; every one given must hold.

    camera: seen by this camera. t_from / t_to (s): seen at some time in [t_from, t_to] (its span overlaps).
    seen_in then later_in: seen by camera ``seen_in`` and later by ``later_in`` (one of its ``later_in``
    tracklets starts after one of its ``seen_in`` tracklets started). min_cameras: seen by at least this many.
    Results are ordered by first_seen, then id; ``offset``/``limit`` page through them."""

    camera: str | None = None
    t_from: float | None = None
    t_to: float | None = None
    seen_in: str | None = None
    later_in: str | None = None
    min_cameras: int = Field(default=1, ge=1)
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=100, ge=1, le=1000)


class Page(_Record):
    """A page of results and the total number matching."""

    items: tuple[Any, ...]
    total: int


class TrajectoryPage(Page):
    """A page of an identity's points; ``global_id`` is the identity they belong to (a merged-away id asked
    for resolves to the one that absorbed it)."""

    global_id: int


class EventIn(_Record):
    """An event to publish. global_id / camera_id when the event concerns one; data: anything else
    (from_camera for a hand-off, the absorbed id for a merge ...)."""

    type: EventType
    t_wall: float
    global_id: int | None = None
    camera_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class Event(EventIn):
    """A published event. ``event_id``: increasing string id (the SSE ``id:``); pass the last one seen to
    ``events_after`` to resume."""

    event_id: str


class AuditEntry(_Record):
    """One operator action: who (the API key's *name*, never the key), what, on what, when (Unix s)."""

    audit_id: int
    t_wall: float
    actor: str
    action: AuditAction
    details: dict[str, Any] = Field(default_factory=dict)


class StoreCounts(_Record):
    cameras: int
    identities: int
    tracklets: int
    events: int
    audit: int


class StateStore(ABC):
    """Everything the service remembers. Thread-safe: camera threads, the associator and API requests call
    it concurrently. Every method that names a missing thing raises ``NotFoundError``."""

    # ---- cameras ---------------------------------------------------------------------------------------

    @abstractmethod
    def put_camera(self, camera: CameraRecord) -> None:
        """Add or replace a camera."""

    @abstractmethod
    def get_camera(self, camera_id: str) -> CameraRecord:
        """The camera; NotFoundError if absent."""

    @abstractmethod
    def list_cameras(self) -> list[CameraRecord]:
        """Every camera, by id."""

    @abstractmethod
    def remove_camera(self, camera_id: str) -> None:
        """Forget a camera, its status and live view (its identities and trajectories stay); NotFoundError."""

    @abstractmethod
    def put_camera_status(self, status: CameraStatus) -> None: ...

    @abstractmethod
    def get_camera_status(self, camera_id: str) -> CameraStatus | None:
        """The latest status, or None when the camera's worker has not reported yet."""

    @abstractmethod
    def put_live_view(self, view: LiveView) -> None: ...

    @abstractmethod
    def get_live_view(self, camera_id: str) -> LiveView | None: ...

    @abstractmethod
    def next_camera_run(self, camera_id: str) -> int:
        """This start's run number for ``camera_id``: 1 on its first start, one more on each start after
        (whether or not the camera is registered; removing it does not reset the count). Its tracks' ids are
        moved by ``service.track_ids.track_id_offset(run)``, so a restart never overwrites a tracklet."""

    # ---- identities, tracklets, trajectories -----------------------------------------------------------

    @abstractmethod
    def allocate_identity_id(self) -> int:
        """A new identity id, never handed out before by this store (1, 2, 3 ...)."""

    @abstractmethod
    def record_tracklet(self, tracklet: TrackletRecord, points: list[TrajectoryPoint]) -> IdentityRecord:
        """Store a tracklet under ``tracklet.global_id`` (an id merged away resolves to the identity that
        absorbed it), replacing an earlier emission of the same tracklet and its points wholesale; creates
        the identity on its first tracklet. Returns the identity as it now stands."""

    @abstractmethod
    def get_identity(self, global_id: int) -> IdentityRecord:
        """The identity (a merged-away id resolves to the one that absorbed it); NotFoundError."""

    @abstractmethod
    def list_identities(self, query: IdentityQuery) -> Page:
        """Identities matching ``query`` (items: IdentityRecord), ordered by first_seen then id."""

    @abstractmethod
    def get_tracklet(self, tracklet_id: str) -> TrackletRecord:
        """The tracklet (its global_id is the identity it belongs to now); NotFoundError."""

    @abstractmethod
    def tracklets_of(self, global_id: int) -> list[TrackletRecord]:
        """The identity's tracklets by t_start; NotFoundError."""

    @abstractmethod
    def trajectory(self, global_id: int, offset: int = 0, limit: int = 500) -> Page:
        """The identity's points across all its tracklets (items: TrajectoryPoint), ordered by t then
        camera id, paged; NotFoundError."""

    @abstractmethod
    def tracklet_embeddings(self) -> tuple[np.ndarray, np.ndarray]:
        """(global ids (N,) int64, embeddings (N, D) float32) of every tracklet that has one (for search)."""

    # ---- operator corrections --------------------------------------------------------------------------

    @abstractmethod
    def merge_identities(self, keep: int, absorb: int) -> IdentityRecord:
        """Move every tracklet of ``absorb`` to ``keep``; ``absorb`` then resolves to ``keep``. ConflictError when
        both are the same identity; NotFoundError when either is unknown. Returns ``keep`` as it now stands."""

    @abstractmethod
    def split_tracklet(self, tracklet_id: str) -> IdentityRecord:
        """Move one tracklet to a new identity (``allocate_identity_id``). ConflictError when it is its
        identity's only tracklet; NotFoundError. Returns the new identity."""

    # ---- events and audit ------------------------------------------------------------------------------

    @abstractmethod
    def append_event(self, event: EventIn) -> Event:
        """Publish an event (older ones beyond the store's cap are dropped)."""

    @abstractmethod
    def events_after(self, after: str | None, limit: int = 100, wait_s: float = 0.0) -> list[Event]:
        """Events newer than ``after`` (None: from the oldest kept), oldest first, at most ``limit``;
        waits up to ``wait_s`` for one when there are none yet."""

    @abstractmethod
    def append_audit(self, actor: str, action: AuditAction, details: dict[str, Any]) -> AuditEntry: ...

    @abstractmethod
    def audit_log(self, offset: int = 0, limit: int = 100) -> Page:
        """Audit entries, oldest first (items: AuditEntry)."""

    # ---- housekeeping ----------------------------------------------------------------------------------

    @abstractmethod
    def counts(self) -> StoreCounts: ...

    @abstractmethod
    def ping(self) -> None:
        """Returns when the store can serve; raises StoreUnavailableError otherwise."""

    def close(self) -> None:  # noqa: B027 (optional hook: only stores holding connections override it)
        """Release connections."""


def identity_summary(global_id: int, tracklets: list[TrackletRecord], n_points: int) -> IdentityRecord:
    """The identity record of ``tracklets`` (non-empty): cameras, span, tracklet ids by first sighting."""
    ordered = sorted(tracklets, key=lambda t: (t.t_start, t.tracklet_id))
    return IdentityRecord(
        global_id=global_id,
        cameras=tuple(sorted({t.camera_id for t in ordered})),
        first_seen=min(t.t_start for t in ordered),
        last_seen=max(t.t_end for t in ordered),
        tracklet_ids=tuple(t.tracklet_id for t in ordered),
        n_points=n_points,
    )


def matches(query: IdentityQuery, identity: IdentityRecord, tracklets: list[TrackletRecord]) -> bool:
    """Whether ``identity`` (with its ``tracklets``) passes every filter of ``query`` but the paging."""
    if len(identity.cameras) < query.min_cameras:
        return False
    if query.camera is not None and query.camera not in identity.cameras:
        return False
    if query.t_from is not None and identity.last_seen < query.t_from:
        return False
    if query.t_to is not None and identity.first_seen > query.t_to:
        return False
    if query.seen_in is not None or query.later_in is not None:
        first_in = [t.t_start for t in tracklets if t.camera_id == query.seen_in]
        if query.seen_in is not None and not first_in:
            return False
        if query.later_in is not None:
            starts = [t.t_start for t in tracklets if t.camera_id == query.later_in]
            if not starts or (first_in and max(starts) <= min(first_in)):
                return False
    return True
