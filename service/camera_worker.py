"""One camera as its own process (``crosscam worker``): source -> CameraPipeline -> TrackletBuilder -> stream.

The camera's ``CameraRecord`` (URL, calibration) comes from the state store; every tracklet the builder emits
is published to the Redis Stream the associator reads (``service.streams``). Alongside, the worker publishes
to the store its ``CameraStatus`` every ``status_interval_s`` (from a reporter thread, so an RTSP camera that
is away still reports "reconnecting") and its latest frame as a ``LiveView`` at ``live_view_fps`` (boxes with
their global ids when the store already has the track's tracklet).

Stopping: ``run`` ends when the source ends or ``stop`` is set (SIGTERM); either way the builder is flushed,
so every live track is published as a final tracklet, and the last status says "stopped". A source that
fails (at open or mid-stream) leaves status "failed" with its redacted error.

Track ids: each start is the camera's next run (``StateStore.next_camera_run``, taken by ``crosscam worker``
and carried by the publisher) and publishes the tracker's ids moved by that run's offset, so a restarted
worker never overwrites its previous runs' tracklets (``service.track_ids``).

Clock: association compares times across cameras (transit windows, overlaps), and each worker's reader starts
its own clock at 0. A video file's tracklets keep the file's clock (seconds from its first frame: the cameras
of one recorded scene stay in step when their workers start together, as a replay). A live camera's are put
on the Unix clock (its reader's time plus the wall time of its first frame), so tracklets of workers started
at different moments compare.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field, replace

import redis

from service.ingest import Source, SourceError, open_source, redact_text, redact_url
from service.live.camera import (
    ProcessingMeter,
    camera_source_config,
    camera_status,
    encode_jpeg,
    ground_plane,
)
from service.settings import ServiceSettings
from service.store import (
    CameraRecord,
    CameraStatus,
    LiveBox,
    LiveView,
    NotFoundError,
    StateStore,
    StoreUnavailableError,
    tracklet_id,
)
from service.streams import TrackletPublisher
from service.track_ids import renumbered, track_id_offset
from trackers.pipeline import CameraPipeline
from trackers.tracklets import TrackletBuilder, TrackletConfig
from trackers.types import Frame, Tracklet, Tracks

# How long a looked-up global id of a live track is trusted (s): an operator's merge or split shows this late.
GLOBAL_ID_REFRESH_S = 2.0
# The reporter thread's tick (s): how soon a stop request closes the source.
REPORTER_TICK_S = 0.2

log = logging.getLogger(__name__)


@dataclass
class WorkerReport:
    """How a worker run ended. emissions: tracklet messages published (interim ones included); tracklets:
    distinct tracks among them (what the store ends up holding)."""

    camera_id: str
    run: int
    state: str = "stopped"
    frames: int = 0
    emissions: int = 0
    tracklet_ids: set[str] = field(default_factory=set)
    error: str | None = None

    def summary(self) -> dict:
        return {
            "camera_id": self.camera_id,
            "run": self.run,
            "state": self.state,
            "frames": self.frames,
            "emissions": self.emissions,
            "tracklets": len(self.tracklet_ids),
            "error": self.error,
        }


class _GlobalIds:
    """Global ids of a camera's live tracks, looked up in the store's tracklet records (None until the
    track's first tracklet is recorded) and trusted for ``GLOBAL_ID_REFRESH_S``."""

    def __init__(self, store: StateStore, camera_id: str) -> None:
        self.store = store
        self.camera_id = camera_id
        self._known: dict[int, tuple[int | None, float]] = {}

    def of(self, track_ids: list[int]) -> dict[int, int | None]:
        now = time.monotonic()
        for tid in track_ids:
            if tid not in self._known or now - self._known[tid][1] >= GLOBAL_ID_REFRESH_S:
                try:
                    gid: int | None = self.store.get_tracklet(tracklet_id(self.camera_id, tid)).global_id
                except NotFoundError:
                    gid = None
                self._known[tid] = (gid, now)
        self._known = {tid: self._known[tid] for tid in track_ids}  # forget tracks that left the view
        return {tid: self._known[tid][0] for tid in track_ids}


class CameraWorkerLoop:
    """Runs one camera until its source ends or ``stop`` is set; see the module docstring.

    realtime: pace a video file at its frame rate (ignored for RTSP). settings: how often the live view
    and the status are published (``live_view_fps``, ``status_interval_s``), and the processing rate and
    RTSP transport of a camera that sets none.
    """

    def __init__(
        self,
        camera: CameraRecord,
        pipeline: CameraPipeline,
        publisher: TrackletPublisher,
        store: StateStore,
        *,
        settings: ServiceSettings,
        realtime: bool = True,
        tracklet_config: TrackletConfig | None = None,
    ) -> None:
        self.camera = camera
        self.pipeline = pipeline
        self.publisher = publisher
        self.store = store
        self.realtime = realtime
        self.settings = settings
        self.live_view_period_s = 1.0 / settings.live_view_fps
        self.status_interval_s = settings.status_interval_s
        self.tracklet_config = tracklet_config or TrackletConfig.from_yaml()
        self.ground = ground_plane(camera)
        self.offset = track_id_offset(publisher.run)
        self.report = WorkerReport(camera.camera_id, publisher.run)
        self.processed = ProcessingMeter()
        self._global_ids = _GlobalIds(store, camera.camera_id)
        self._status_lock = threading.Lock()
        self._finished = False
        self.is_live = False  # known once the source's URL is parsed

    def run(self, stop: threading.Event) -> WorkerReport:
        camera_id, url = self.camera.camera_id, self.camera.url
        try:
            config = camera_source_config(self.camera, self.settings, realtime=self.realtime)
            self.is_live = config.is_live
            source = open_source(config)
        except (SourceError, ValueError) as exc:  # ValueError: a URL the config rejects
            return self._finish(None, "failed", redact_text(str(exc), url))
        done = threading.Event()
        reporter = threading.Thread(
            target=self._report_until, args=(source, stop, done), name=f"status-{camera_id}", daemon=True
        )
        with source:
            reporter.start()
            try:
                error = self._stream(source, stop)
            finally:
                done.set()
            report = self._finish(source, "failed" if error else "stopped", error)
        reporter.join(timeout=2 * REPORTER_TICK_S)
        return report

    def _stream(self, source: Source, stop: threading.Event) -> str | None:
        """The frame loop: frames -> pipeline -> builder -> stream, the live view on the way. Returns the
        source's (redacted) error, or None when it ended or was stopped."""
        builder: TrackletBuilder | None = None
        next_live, unshown = 0.0, None  # unshown: the latest (frame, tracks) not in the live view yet
        clock: float | None = None  # what turns the reader's time into the published time (s)
        started = time.time()  # a paced source's time 0 (its frames' capture = started + timestamp)
        paced = self.is_live or self.realtime
        try:
            for frame, detections, tracks in self.pipeline.run(source.frames()):
                self.processed.record(started + frame.timestamp if paced else None)
                if clock is None:
                    clock = time.time() - frame.timestamp if self.is_live else 0.0
                if clock:
                    frame = replace(frame, timestamp=frame.timestamp + clock)
                tracks = renumbered(tracks, self.offset)
                # the first frame tells the image size (an RTSP camera's is unknown before)
                if builder is None:
                    builder = TrackletBuilder(
                        self.camera.camera_id, frame.size, self.tracklet_config, self.ground
                    )
                self._publish(builder.update(frame.timestamp, detections, tracks), t_emit=frame.timestamp)
                self.report.frames += 1
                unshown = frame, tracks
                if time.monotonic() >= next_live:
                    next_live = time.monotonic() + self.live_view_period_s
                    self.store.put_live_view(self._live_view(*unshown))
                    unshown = None
                if stop.is_set():
                    break
        except SourceError as exc:
            return redact_text(str(exc), self.camera.url)
        finally:
            if builder is not None:  # what was seen is kept, whatever ended the stream
                # inf: a flush is due at no frame; the single process associates flushed tracklets after
                # every emission, by track end (MultiCameraAssociation.finish)
                self._publish(builder.flush(), t_emit=math.inf)
            if unshown is not None:  # the view shows where the camera stopped
                self.store.put_live_view(self._live_view(*unshown))
        return None

    # ---- internals -------------------------------------------------------------------------------------

    def _publish(self, tracklets: list[Tracklet], t_emit: float) -> None:
        """Publish the builder's emissions with the time they were emitted at: the associator orders by it
        (``service.stream_associator``)."""
        for tracklet in tracklets:
            self.publisher.publish(tracklet, t_emit)
            self.report.emissions += 1
            self.report.tracklet_ids.add(tracklet_id(tracklet.camera_id, tracklet.local_track_id))

    def _live_view(self, frame: Frame, tracks: Tracks) -> LiveView:
        seen = tracks.detection_index >= 0  # predicted-only boxes drift: show where vehicles were detected
        ids = [int(t) for t in tracks.track_id[seen]]
        gids = self._global_ids.of(ids)
        boxes = tuple(
            LiveBox(xyxy=tuple(float(v) for v in box), track_id=tid, global_id=gids[tid])
            for tid, box in zip(ids, tracks.xyxy[seen], strict=True)
        )
        width, height = frame.size
        return LiveView(
            camera_id=frame.camera_id, frame_index=frame.frame_index, t=frame.timestamp,
            width=width, height=height, jpeg=encode_jpeg(frame.image), boxes=boxes,
        )  # fmt: skip

    def _report_until(self, source: Source, stop: threading.Event, done: threading.Event) -> None:
        """Reporter thread: the status every ``status_interval_s``; closes the source once ``stop`` is set,
        which ends the frame loop before its next frame (also while it waits for an absent camera)."""
        next_status = time.monotonic()
        while not done.is_set():
            if stop.is_set():
                source.close()
                return
            if time.monotonic() >= next_status:
                next_status = time.monotonic() + self.status_interval_s
                try:
                    self._put_status(source)
                except (redis.RedisError, StoreUnavailableError) as exc:  # the next report may get through
                    log.warning("camera %s: cannot publish its status: %s", self.camera.camera_id, exc)
            done.wait(REPORTER_TICK_S)

    def _finish(self, source: Source | None, state: str, error: str | None) -> WorkerReport:
        self.report.state, self.report.error = state, error
        self._put_status(source, state, error)
        return self.report

    def _put_status(self, source: Source | None, state: str | None = None, error: str | None = None) -> None:
        """Publish the status: while running (``state`` None), or the final one with the run's end state
        ("stopped" / "failed") and error, after which the reporter's late ones are dropped."""
        with self._status_lock:
            if self._finished:
                return
            self._finished = state is not None
            self.store.put_camera_status(self._status(source, state, error))

    def _status(self, source: Source | None, state: str | None, error: str | None) -> CameraStatus:
        """The reader's health (None: the source never opened) and the pipeline's progress; ``state`` and
        ``error`` override the reader's."""
        stage_ms = self.pipeline.times.mean_ms()
        if source is None:
            return CameraStatus(
                camera_id=self.camera.camera_id, state=state or "connecting", url=redact_url(self.camera.url),
                frames_processed=self.processed.frames, last_error=error, stage_ms=stage_ms,
                updated_wall=time.time(),
            )  # fmt: skip
        return camera_status(source.status(), self.processed, stage_ms, ended_state=state, error=error)
