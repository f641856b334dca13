"""The associator thread: every camera's frame results, in arrival order (live: wall-clock order), through a
tracklet builder per camera into one ``Associator``; each decision is recorded in the store, and each due
live view is published with the global id of every track on it.

This thread alone owns the builders, the associator and the track -> identity map, so none of them needs a
lock. Arrival order is the order the world produced the frames up to each camera's pipeline latency, which
online association tolerates (its gates look at both earlier and later sightings of an identity).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from service.live.messages import CameraEnded, CameraStarted, FrameResult
from service.recorder import Recorder
from service.store import LiveBox, LiveView
from trackers.association import Associator
from trackers.calibration import GroundPlane
from trackers.tracklets import TrackletBuilder, TrackletConfig
from trackers.types import Tracklet

log = logging.getLogger(__name__)

# How often identities unseen for the gallery's max_age_s are forgotten by the associator (s).
EXPIRE_EVERY_S = 10.0
# Longest the thread waits for a message before checking whether expiry is due (s).
IDLE_POLL_S = 1.0
BOX_DECIMALS = 1


@dataclass
class _Camera:
    ground: GroundPlane | None
    stopping: threading.Event
    builder: TrackletBuilder | None = None  # made at the first frame, which gives the image size
    global_of: dict[int, int] = field(default_factory=dict)  # live track id -> its identity


class LiveAssociation:
    """Consumes ``inbox`` (``service.live.messages``) in a thread until ``stop``.

    ``decisions``: tracklet emissions assigned so far (interim ones included); ``errors``: messages whose
    handling raised (logged, then skipped: one bad frame or a store hiccup must not end association).
    """

    def __init__(
        self, inbox: queue.Queue, associator: Associator, recorder: Recorder, tracklet_config: TrackletConfig
    ) -> None:
        self.associator = associator
        self.recorder = recorder
        self.tracklet_config = tracklet_config
        self.decisions = 0
        self.errors = 0
        self._inbox = inbox
        self._cameras: dict[str, _Camera] = {}
        self._expires = associator.gallery.config.max_age_s > 0
        self._next_expiry = time.monotonic() + EXPIRE_EVERY_S
        self._stop = object()
        self._thread = threading.Thread(target=self._run, name="live-associator", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float | None = None) -> None:
        """End the thread once every message queued before this call is handled."""
        if self._thread.is_alive():
            self._inbox.put(self._stop)
            self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while True:
            try:
                message = self._inbox.get(timeout=IDLE_POLL_S)
            except queue.Empty:
                message = None
            if message is self._stop:
                return
            try:
                if message is not None:
                    self._handle(message)
                if self._expires and time.monotonic() >= self._next_expiry:
                    self._next_expiry = time.monotonic() + EXPIRE_EVERY_S
                    self.associator.expire(time.time())
            except Exception:  # logged with its traceback; the next message is handled as usual
                self.errors += 1
                log.exception("live association: handling %s failed", type(message).__name__)

    def _handle(self, message: object) -> None:
        if isinstance(message, FrameResult):
            camera = self._cameras[message.camera_id]
            if camera.builder is None:
                camera.builder = TrackletBuilder(
                    message.camera_id, message.size, self.tracklet_config, camera.ground
                )
            self._assign(camera, camera.builder.update(message.t, message.detections, message.tracks))
            if message.jpeg is not None and not camera.stopping.is_set():
                self._publish_view(camera, message)
        elif isinstance(message, CameraStarted):
            self._cameras[message.camera_id] = _Camera(message.ground, message.stopping)
        elif isinstance(message, CameraEnded):
            try:
                camera = self._cameras.pop(message.camera_id)
                if camera.builder is not None:
                    pending = camera.builder.flush()
                    self._assign(camera, sorted(pending, key=lambda t: (t.t_end, t.local_track_id)))
            finally:
                message.flushed.set()

    def _assign(self, camera: _Camera, tracklets: list[Tracklet]) -> None:
        for tracklet in tracklets:
            gid = self.associator.add(tracklet)
            self.decisions += 1
            if tracklet.final:  # the track is over: no live view will show it again
                camera.global_of.pop(tracklet.local_track_id, None)
            else:
                camera.global_of[tracklet.local_track_id] = gid
            try:
                identity = self.recorder.record(tracklet, gid)
            except Exception:  # the store is away: this emission is lost, the next ones are tried as usual
                self.errors += 1
                log.exception("live association: tracklet %s:%s not recorded", *tracklet.key)
                continue
            if (
                not tracklet.final
            ):  # the store may file it elsewhere (an operator's merge or split): show that
                camera.global_of[tracklet.local_track_id] = identity.global_id

    def _publish_view(self, camera: _Camera, result: FrameResult) -> None:
        tracks = result.tracks
        boxes = tuple(
            LiveBox(
                xyxy=tuple(round(float(v), BOX_DECIMALS) for v in box),
                track_id=int(track_id),
                global_id=camera.global_of.get(int(track_id)),
            )
            for track_id, box, row in zip(tracks.track_id, tracks.xyxy, tracks.detection_index, strict=True)
            if row >= 0  # a predicted-only box drifts from its vehicle: show the tracks seen this frame
        )
        width, height = result.size
        self.recorder.store.put_live_view(
            LiveView(
                camera_id=result.camera_id, frame_index=result.frame_index, t=result.t, width=width,
                height=height, jpeg=result.jpeg or b"", boxes=boxes,
            )
        )  # fmt: skip
