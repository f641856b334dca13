"""One camera as its own process (``crosscam worker``): source -> CameraPipeline -> TrackletBuilder -> stream.

The camera's ``CameraRecord`` (URL, calibration) comes from the state store; every tracklet the builder emits
is published to the Redis Stream the associator reads (``service.streams``). Alongside, the worker publishes
to the store its ``CameraStatus`` every ``status_interval_s`` (from a reporter thread, so an RTSP camera that
is away still reports "reconnecting") and its latest frame as a ``LiveView`` at ``live_view_fps`` (boxes with
their global ids when the store already has the track's tracklet).

Stopping: ``run`` ends when the source ends or ``stop`` is set (SIGTERM); either way the builder is flushed,
so every live track is published as a final tracklet, and the last status says "stopped". A source that
fails (at open or mid-stream) leaves status "failed" with its redacted error.

Track ids: the store keys tracklets ``"<camera>:<track id>"`` and each run's tracker counts from 1 again, so a
restarted worker would overwrite its previous run's tracklets. Each start therefore takes the camera's next
run number from a Redis counter (INCR ``<prefix>:worker_runs:<camera>``; 1, 2, ...) and publishes track ids
offset by ``(run - 1) * TRACK_ID_STRIDE``: run 1 keeps the tracker's ids, run 2 starts at 1_000_000_001.

Clock: association compares times across cameras (transit windows, overlaps), and each worker's reader starts
its own clock at 0. A video file's tracklets keep the file's clock (seconds from its first frame: the cameras
of one recorded scene stay in step when their workers start together, as a replay). A live camera's are put
on the Unix clock (its reader's time plus the wall time of its first frame), so tracklets of workers started
at different moments compare.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import redis

from service.ingest import Source, SourceConfig, SourceError, open_source, redact_text, redact_url
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
from trackers.appearance import Embedder
from trackers.calibration import CAMERA_POSITION_KEY, HOMOGRAPHY_KEY, CalibrationError, GroundPlane
from trackers.deepsort import DeepSortConfig, DeepSortTracker
from trackers.detection import DetectorConfig, YoloDetector
from trackers.oracle import GroundTruthDetector
from trackers.pipeline import CameraPipeline
from trackers.tracklets import TrackletBuilder, TrackletConfig
from trackers.types import Frame, Tracklet, Tracks

# Tracks one worker run may start before its ids would reach the next run's: at 10 new vehicles per second,
# three years of one process. Kept below 2**53 for hundreds of thousands of runs (the web page reads ids as
# JavaScript numbers).
TRACK_ID_STRIDE = 1_000_000_000
LIVE_JPEG_QUALITY = 80
# How long a looked-up global id of a live track is trusted (s): an operator's merge or split shows this late.
GLOBAL_ID_REFRESH_S = 2.0
# The reporter thread's tick (s): how soon a stop request closes the source.
REPORTER_TICK_S = 0.2

log = logging.getLogger(__name__)


def next_worker_run(client: redis.Redis, prefix: str, camera_id: str) -> int:
    """This start's run number for ``camera_id``: 1 on its first start, one more on each start after."""
    return int(client.incr(f"{prefix}:worker_runs:{camera_id}"))


def track_id_offset(run: int) -> int:
    """What run ``run`` adds to its tracker's ids."""
    return (run - 1) * TRACK_ID_STRIDE


def ground_plane(calibration: dict | None, camera_id: str) -> GroundPlane | None:
    """The camera's ground plane from its record's calibration mapping (``calibration/camNN.json``'s content),
    or None without one; CalibrationError naming the camera when it cannot be used."""
    if calibration is None:
        return None
    try:
        matrix = np.asarray(calibration[HOMOGRAPHY_KEY], dtype=np.float64)
        position = calibration.get(CAMERA_POSITION_KEY)
        return GroundPlane(matrix, None if position is None else np.asarray(position, dtype=np.float64))
    except (KeyError, TypeError, ValueError) as exc:
        raise CalibrationError(
            f"camera {camera_id}: its calibration cannot be used ({type(exc).__name__}: {exc}); it needs "
            f'"{HOMOGRAPHY_KEY}": a 3x3 list of rows mapping pixels to ground metres (re-add the camera)'
        ) from None


def camera_pipeline(
    camera_id: str,
    appearance: Embedder,
    tracker_config: DeepSortConfig,
    detector_config: DetectorConfig,
    oracle_gt: Path | None = None,
) -> CameraPipeline:
    """The camera's own detector (or, with ``oracle_gt``, that MOTChallenge gt.txt's boxes) and tracker."""
    detector = (
        GroundTruthDetector(oracle_gt, camera_id) if oracle_gt is not None else YoloDetector(detector_config)
    )
    return CameraPipeline(detector, appearance, DeepSortTracker(tracker_config))


def renumbered(tracks: Tracks, offset: int) -> Tracks:
    """``tracks`` with ``offset`` added to every track id."""
    if offset == 0:
        return tracks
    return Tracks(
        tracks.camera_id, tracks.frame_index, tracks.track_id + offset, tracks.xyxy, tracks.detection_index
    )


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

    realtime: pace a video file at its frame rate (ignored for RTSP). live_view_fps (Hz) and
    status_interval_s (s): how often the live view and the status are published.
    """

    def __init__(
        self,
        camera: CameraRecord,
        pipeline: CameraPipeline,
        publisher: TrackletPublisher,
        store: StateStore,
        *,
        realtime: bool = True,
        live_view_fps: float = 2.0,
        status_interval_s: float = 1.0,
        tracklet_config: TrackletConfig | None = None,
    ) -> None:
        self.camera = camera
        self.pipeline = pipeline
        self.publisher = publisher
        self.store = store
        self.realtime = realtime
        self.live_view_period_s = 1.0 / live_view_fps
        self.status_interval_s = status_interval_s
        self.tracklet_config = tracklet_config or TrackletConfig.from_yaml()
        self.ground = ground_plane(camera.calibration, camera.camera_id)
        self.offset = track_id_offset(publisher.run)
        self.report = WorkerReport(camera.camera_id, publisher.run)
        self._global_ids = _GlobalIds(store, camera.camera_id)
        self._status_lock = threading.Lock()
        self._finished = False
        self.is_live = False  # known once the source's URL is parsed

    def run(self, stop: threading.Event) -> WorkerReport:
        camera_id, url = self.camera.camera_id, self.camera.url
        try:
            config = SourceConfig(camera_id=camera_id, url=url)
            self.is_live = config.is_live
            if self.realtime and not config.is_live:
                config = SourceConfig(camera_id=camera_id, url=url, realtime=True)
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
        try:
            for frame, detections, tracks in self.pipeline.run(source.frames()):
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
                self._publish(builder.update(frame.timestamp, detections, tracks))
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
                self._publish(builder.flush())
            if unshown is not None:  # the view shows where the camera stopped
                self.store.put_live_view(self._live_view(*unshown))
        return None

    # ---- internals -------------------------------------------------------------------------------------

    def _publish(self, tracklets: list[Tracklet]) -> None:
        for tracklet in tracklets:
            self.publisher.publish(tracklet)
            self.report.emissions += 1
            self.report.tracklet_ids.add(tracklet_id(tracklet.camera_id, tracklet.local_track_id))

    def _live_view(self, frame: Frame, tracks: Tracks) -> LiveView:
        ok, jpeg = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, LIVE_JPEG_QUALITY])
        if not ok:
            raise RuntimeError(
                f"camera {frame.camera_id}: OpenCV could not encode frame {frame.frame_index} as JPEG"
            )
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
            width=width, height=height, jpeg=jpeg.tobytes(), boxes=boxes,
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
                    self._put_status(source, None, None)
                except (redis.RedisError, StoreUnavailableError) as exc:  # the next report may get through
                    log.warning("camera %s: cannot publish its status: %s", self.camera.camera_id, exc)
            done.wait(REPORTER_TICK_S)

    def _finish(self, source: Source | None, state: str, error: str | None) -> WorkerReport:
        self.report.state, self.report.error = state, error
        self._put_status(source, state, error, final=True)
        return self.report

    def _put_status(
        self, source: Source | None, state: str | None, error: str | None, final: bool = False
    ) -> None:
        """Publish the status; after the final one (``final``), the reporter's late ones are dropped."""
        with self._status_lock:
            if self._finished:
                return
            self._finished = final
            self.store.put_camera_status(self._status(source, state, error, final))

    def _status(
        self, source: Source | None, state: str | None, error: str | None, final: bool
    ) -> CameraStatus:
        """The reader's health (None: the source never opened) and the pipeline's progress; ``state`` and
        ``error`` override the reader's."""
        common = {
            "camera_id": self.camera.camera_id,
            "frames_processed": self.report.frames,
            "stage_ms": self.pipeline.times.mean_ms(),
            "updated_wall": time.time(),
        }
        reader = source.status() if source is not None else None
        if reader is None:
            return CameraStatus(
                state=state or "connecting", url=redact_url(self.camera.url), last_error=error, **common
            )
        return CameraStatus(
            state=state or reader.state,
            url=reader.url,
            fps=0.0 if final else round(reader.fps, 2),
            frames_received=reader.frames_received,
            frames_dropped=reader.frames_dropped,
            queue_depth=reader.queued,
            reconnects=reader.reconnects,
            last_frame_wall=reader.last_frame_time,
            last_error=error or reader.last_error,
            **common,
        )
