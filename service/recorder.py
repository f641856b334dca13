"""The associator's decisions into the store: one ``(Tracklet, global id)`` becomes a tracklet record, its
trajectory points and, when it changes what is known, an event (a new identity, a cross-camera hand-off).

Both the in-process runtime and the separate ``crosscam associator`` process record through here, so the
store reads the same whichever way the service runs.
"""

from __future__ import annotations

import math
import time

from service.store import (
    EventIn,
    IdentityRecord,
    NotFoundError,
    StateStore,
    TrackletRecord,
    TrajectoryPoint,
    tracklet_id,
)
from service.store.base import EventType
from trackers.types import Tracklet

# Embeddings are stored rounded: 4 decimals keep cosine similarities to ~1e-4 and halve the JSON.
EMBEDDING_DECIMALS = 4


def tracklet_record(tracklet: Tracklet, global_id: int) -> TrackletRecord:
    return TrackletRecord(
        tracklet_id=tracklet_id(tracklet.camera_id, tracklet.local_track_id),
        camera_id=tracklet.camera_id,
        local_track_id=tracklet.local_track_id,
        global_id=global_id,
        t_start=tracklet.t_start,
        t_end=tracklet.t_end,
        n_obs=tracklet.n_obs,
        final=tracklet.final,
        embedding=tuple(round(float(v), EMBEDDING_DECIMALS) for v in tracklet.embedding),
    )


def trajectory_points(tracklet: Tracklet) -> list[TrajectoryPoint]:
    """One point per observation: frame, time (s), box (px), ground position (m) when known."""
    tid = tracklet_id(tracklet.camera_id, tracklet.local_track_id)
    points = []
    for frame, t, box, world in zip(
        tracklet.frames, tracklet.timestamps, tracklet.xyxy, tracklet.world_xy, strict=True
    ):
        x, y = float(world[0]), float(world[1])
        points.append(
            TrajectoryPoint(
                tracklet_id=tid,
                camera_id=tracklet.camera_id,
                frame=int(frame),
                t=float(t),
                xyxy=tuple(round(float(v), 1) for v in box),
                world=(round(x, 2), round(y, 2)) if math.isfinite(x) and math.isfinite(y) else None,
            )
        )
    return points


class Recorder:
    """Writes association decisions to ``store`` and publishes what they change."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def record(self, tracklet: Tracklet, global_id: int) -> IdentityRecord:
        """Store ``tracklet`` under ``global_id``; returns the identity as it now stands."""
        try:
            before = self.store.get_identity(global_id)
        except NotFoundError:
            before = None
        identity = self.store.record_tracklet(
            tracklet_record(tracklet, global_id), trajectory_points(tracklet)
        )
        if before is None:
            self._publish("identity.new", identity, tracklet, {"t": tracklet.t_start})
        elif tracklet.camera_id not in before.cameras:
            previous = self._last_camera(identity.global_id, tracklet)
            self._publish(
                "identity.handoff", identity, tracklet, {"from_camera": previous, "t": tracklet.t_start}
            )
        return identity

    def _publish(self, kind: EventType, identity: IdentityRecord, tracklet: Tracklet, data: dict) -> None:
        self.store.append_event(
            EventIn(
                type=kind,
                t_wall=time.time(),
                global_id=identity.global_id,
                camera_id=tracklet.camera_id,
                data=data,
            )
        )

    def _last_camera(self, global_id: int, tracklet: Tracklet) -> str | None:
        """The camera of the identity's sighting that began last before ``tracklet`` began."""
        earlier = [
            t
            for t in self.store.tracklets_of(global_id)
            if t.camera_id != tracklet.camera_id and t.t_start <= tracklet.t_start
        ]
        return max(earlier, key=lambda t: t.t_start).camera_id if earlier else None
