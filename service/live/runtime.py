"""``LiveRuntime``: the whole service in one process. Camera threads (source -> own pipeline) feed one
associator thread that records every decision in the store; a status thread publishes each camera's health.

It implements the API's ``CameraControl`` (``start_camera`` / ``stop_camera``), and imports no web code: the
same runtime runs under ``crosscam serve``, ``crosscam demo`` and in tests.

Times recorded are seconds on the runtime's clock: Unix seconds when the stream started plus the stream's own
timestamp (see ``LiveCamera``), so every camera shares one clock and a restart continues it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Self

from pydantic import ValidationError

from service.embedders import build_embedder, embedding_dim
from service.ingest import SourceConfig, open_source, redact_text, redact_url
from service.live.association import LiveAssociation
from service.live.camera import LiveCamera, camera_source_config, ground_plane
from service.live.pipelines import check_oracle_camera, live_pipeline_factory, looped_replay
from service.recorder import Recorder
from service.settings import ServiceSettings
from service.store import CameraRecord, CameraStatus, StateStore
from service.track_ids import track_id_offset
from trackers.appearance import Embedder
from trackers.association import AssociationConfig, Associator
from trackers.deepsort import DeepSortConfig
from trackers.detection import DetectorConfig
from trackers.gallery import GalleryConfig
from trackers.pipeline import CameraPipeline
from trackers.tracklets import TrackletConfig

log = logging.getLogger(__name__)

# Frame results waiting for the associator, all cameras together: enough to ride out a slow decision, small
# enough that a lagging associator soon holds the cameras back (live readers then drop their oldest frames).
INBOX_SIZE = 256
# Longest a camera may take to end, and its live tracks to be recorded, when it is stopped (s).
STOP_TIMEOUT_S = 10.0


def _one_line(exc: ValidationError) -> str:
    return "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())


class LiveRuntime:
    """Runs cameras live and records what they see in ``store``.

    settings: status and live-view rates (``status_interval_s``, ``live_view_fps``) and, unless ``embedder``
    is given, the appearance model (``embedder``, ``reid_weights``). Ready components may be passed instead of
    the shipped configurations. oracle_scene: serve that scene's ground-truth boxes instead of running the
    detector (tests, demos; never a detection result). realtime / loop: how video files are replayed (as a
    camera would deliver them; from the start again at their end); they do not apply to rtsp:// cameras.

    Use as a context manager, or ``start()`` ... ``stop()``. ``stop`` ends every camera and records each of
    their live tracks before returning.
    """

    def __init__(
        self,
        store: StateStore,
        settings: ServiceSettings,
        *,
        embedder: Embedder | None = None,
        detector_config: DetectorConfig | None = None,
        tracker_config: DeepSortConfig | None = None,
        tracklet_config: TrackletConfig | None = None,
        association_config: AssociationConfig | None = None,
        gallery_config: GalleryConfig | None = None,
        oracle_scene: Path | None = None,
        realtime: bool = True,
        loop: bool = False,
    ) -> None:
        self.store = store
        self.settings = settings
        self.oracle_scene = None if oracle_scene is None else Path(oracle_scene)
        self.realtime = realtime
        self.loop = loop
        self.embedder = embedder or build_embedder(settings.embedder, settings.reid_weights)
        if self.oracle_scene is None and detector_config is None:
            detector_config = DetectorConfig.from_yaml()
        self._make_pipeline = live_pipeline_factory(
            self.embedder, tracker_config or DeepSortConfig.from_yaml(), detector_config, self.oracle_scene
        )
        self.associator = Associator(
            embedding_dim(self.embedder),
            association_config,
            gallery_config,
            new_id=store.allocate_identity_id,
        )
        self._inbox: queue.Queue = queue.Queue(maxsize=INBOX_SIZE)
        self._association = LiveAssociation(
            self._inbox, self.associator, Recorder(store), tracklet_config or TrackletConfig.from_yaml()
        )
        self._cameras: dict[str, LiveCamera] = {}
        self._final_published: set[str] = set()  # ended cameras whose last status is out
        self._lock = threading.RLock()
        self._started = False
        self._stopping = threading.Event()
        self._discard = threading.Event()  # set once nothing consumes the inbox any more
        self._status_thread = threading.Thread(target=self._publish_statuses, name="live-status", daemon=True)

    # ---- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the associator and status threads (idempotent; ``start_camera`` calls it)."""
        with self._lock:
            if self._stopping.is_set():
                raise RuntimeError("this runtime was stopped; make a new LiveRuntime")
            if not self._started:
                self._association.start()
                self._status_thread.start()
                self._started = True
        return self

    def stop(self) -> None:
        """Stop every camera, record all their live tracks, publish their last status ("stopped"), and end
        the runtime's threads. Idempotent."""
        with self._lock:
            if self._stopping.is_set():
                return
            self._stopping.set()
            cameras = list(self._cameras.values())
        for camera in cameras:
            camera.request_stop()
        for camera in cameras:
            self._wait_flushed(camera)
        self._association.stop(STOP_TIMEOUT_S)
        self._discard.set()
        if self._status_thread.is_alive():
            self._status_thread.join(STOP_TIMEOUT_S)
        for camera in cameras:
            self._put_status(camera.status())

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- CameraControl ---------------------------------------------------------------------------------

    def start_camera(self, camera: CameraRecord) -> None:
        """Start running ``camera``. Raises ValueError naming the problem and its fix for a camera that
        cannot be used: a malformed URL, a file that is missing or unreadable, an unusable calibration, a
        camera id already running (an rtsp:// camera that does not answer is not an error: it reconnects)."""
        self.start()
        with self._lock:
            if camera.camera_id in self._cameras:
                raise ValueError(
                    f"camera {camera.camera_id!r} is already running; stop it first (DELETE it) to change it"
                )
            config = self._source_config(camera)
            ground = ground_plane(camera)
            try:
                source = open_source(config)
            except ValueError as exc:
                raise ValueError(redact_text(str(exc), camera.url)) from None
            try:
                if self.oracle_scene is not None:
                    check_oracle_camera(self.oracle_scene, camera.camera_id)
                # Last, once the camera is known to start: a failed start takes no run number.
                offset = track_id_offset(self.store.next_camera_run(camera.camera_id))
            except BaseException:
                source.close()
                raise
            live = LiveCamera(
                camera, source, lambda: self._pipeline_for(config), ground, self._inbox,
                1.0 / self.settings.live_view_fps, offset, self._discard, paced=config.is_live or config.realtime,
            )  # fmt: skip
            self._cameras[camera.camera_id] = live
            self._final_published.discard(camera.camera_id)
            live.start()
            self._put_status(live.status())  # the first report at once, not a status_interval_s later
        log.info("camera %s: started (%s)", camera.camera_id, config.redacted_url)

    def stop_camera(self, camera_id: str) -> None:
        """Stop a camera and record its live tracks; nothing more is published for it. Unknown: no-op."""
        with self._lock:
            camera = self._cameras.pop(camera_id, None)
        if camera is None:
            return
        camera.request_stop()
        self._wait_flushed(camera)
        log.info("camera %s: stopped", camera_id)

    # ---- more than the API needs -----------------------------------------------------------------------

    def start_cameras(self, cameras: Iterable[CameraRecord]) -> dict[str, str]:
        """Start each camera; one that cannot be used does not stop the others: its status becomes "failed"
        with the reason. Returns camera id -> reason for those that failed."""
        failed = {}
        for camera in cameras:
            try:
                self.start_camera(camera)
            except ValueError as exc:
                failed[camera.camera_id] = str(exc)
                self._put_status(
                    CameraStatus(
                        camera_id=camera.camera_id, state="failed", url=redact_url(camera.url),
                        last_error=str(exc), updated_wall=time.time(),
                    )
                )  # fmt: skip
        return failed

    @property
    def camera_ids(self) -> list[str]:
        """Cameras started and not stopped (including those whose stream has ended or failed)."""
        with self._lock:
            return sorted(self._cameras)

    def camera_status(self, camera_id: str) -> CameraStatus:
        """The camera's status now (KeyError when it is not running)."""
        with self._lock:
            return self._cameras[camera_id].status()

    @property
    def decisions(self) -> int:
        """Tracklet emissions associated so far (a live track's interim ones included)."""
        return self._association.decisions

    # ---- internals -------------------------------------------------------------------------------------

    def _source_config(self, camera: CameraRecord) -> SourceConfig:
        try:
            return camera_source_config(camera, self.settings, realtime=self.realtime, loop=self.loop)
        except ValidationError as exc:
            raise ValueError(f"camera {camera.camera_id!r}: {_one_line(exc)}") from None

    def _pipeline_for(self, config: SourceConfig) -> CameraPipeline:
        pipeline = self._make_pipeline(config.camera_id)
        if self.oracle_scene is not None and config.loop:
            pipeline = looped_replay(pipeline, config.path)
        return pipeline

    def _wait_flushed(self, camera: LiveCamera) -> None:
        camera.join(STOP_TIMEOUT_S)
        if not camera.ended.flushed.wait(STOP_TIMEOUT_S if self._association.alive else 0):
            log.warning("camera %s: its live tracks were not all recorded in time", camera.camera_id)

    def _publish_statuses(self) -> None:
        """Status thread: every camera's report each ``status_interval_s``; an ended camera's last one once."""
        while not self._stopping.wait(self.settings.status_interval_s):
            with self._lock:  # held while publishing, so a stopped camera never reports after stop_camera
                for camera_id, camera in self._cameras.items():
                    if camera_id in self._final_published:
                        continue
                    ended = not camera.alive
                    self._put_status(camera.status())
                    if ended:
                        self._final_published.add(camera_id)

    def _put_status(self, status: CameraStatus) -> None:
        try:
            self.store.put_camera_status(status)
        except Exception as exc:  # the store is away: the next report will try again
            log.warning("camera %s: status not published (%s)", status.camera_id, exc)
