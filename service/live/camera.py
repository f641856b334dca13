"""One live camera: a thread runs its source through its own pipeline and hands each frame's result to the
associator thread; ``status()`` reads the source and the pipeline whenever the runtime publishes.

A camera whose source fails (or whose pipeline raises) ends alone: its state becomes "failed" with the error,
redacted, and every other camera keeps going.

What a camera publishes is built by the functions here also for a camera in its own process
(``service.camera_worker``): its ground plane, its status, its live view's JPEG.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

import cv2
import numpy as np

from service.ingest import FpsMeter, ReaderStatus, Source, SourceConfig, redact_text
from service.live.messages import CameraEnded, CameraStarted, FrameResult
from service.scene_run import describe_error
from service.settings import ServiceSettings
from service.store import CameraRecord, CameraStatus
from service.track_ids import renumbered
from trackers.calibration import GroundPlane
from trackers.pipeline import CameraPipeline

log = logging.getLogger(__name__)

# Live views are for a person watching a page: quality 80 keeps a 640x360 frame near 30 kB.
JPEG_QUALITY = 80
# How long a blocked hand-off waits before checking whether the associator thread is still there (s).
PUT_POLL_S = 0.25


def encode_jpeg(image: np.ndarray) -> bytes:
    """image: (H, W, 3) uint8 BGR -> JPEG bytes."""
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError(f"cannot encode a {image.shape} frame as JPEG")
    return buffer.tobytes()


def ground_plane(camera: CameraRecord) -> GroundPlane | None:
    """The camera's ground plane from its stored calibration (None without one: no world positions); a
    CalibrationError (a ValueError) naming the camera when the calibration cannot be used."""
    if camera.calibration is None:
        return None
    return GroundPlane.from_mapping(camera.calibration, f"camera {camera.camera_id!r}")


def camera_source_config(
    camera: CameraRecord, settings: ServiceSettings, realtime: bool, loop: bool = False
) -> SourceConfig:
    """The source of a stored camera: its own transport and processing rate, else the service's; a file is
    replayed ``realtime`` (and ``loop``-ed) as asked, a live stream is real time anyway. Raises pydantic's
    ValidationError for an unusable URL."""
    options = {
        "camera_id": camera.camera_id,
        "url": camera.url,
        "transport": camera.transport or settings.rtsp_transport,
        "process_fps": camera.process_fps or settings.process_fps,
    }
    if SourceConfig(**options).is_live:
        return SourceConfig(**options)
    return SourceConfig(**options, realtime=realtime, loop=loop)


class ProcessingMeter:
    """A camera's frames through its pipeline: how many, how fast lately, and how late the latest was
    (seconds from its capture to the end of its processing). Thread-safe enough for one writer."""

    def __init__(self) -> None:
        self.frames = 0
        self.lag_s: float | None = None
        self._fps = FpsMeter()

    def record(self, capture_wall: float | None) -> None:
        """One frame processed; ``capture_wall``: when it was captured (Unix s), None when unknown."""
        self.frames += 1
        self._fps.tick()
        if capture_wall is not None:
            self.lag_s = max(0.0, time.time() - capture_wall)

    @property
    def fps(self) -> float:
        return self._fps.rate()


def camera_status(
    reader: ReaderStatus,
    processed: ProcessingMeter,
    stage_ms: dict[str, float],
    ended_state: str | None = None,
    error: str | None = None,
) -> CameraStatus:
    """What a camera reports (a thread here, or a ``crosscam worker`` process): its reader's health (URL and
    error already redacted) and its pipeline's progress. ``ended_state``: "finished", "failed" or "stopped"
    once the camera has ended (its rates and lag then read 0 / null), else the reader's state shows;
    ``error``, when given, is shown instead of the reader's last one."""
    running = ended_state is None
    return CameraStatus(
        camera_id=reader.camera_id,
        state=ended_state or reader.state,
        url=reader.url,
        received_fps=round(reader.received_fps, 2) if running else 0.0,
        processed_fps=round(processed.fps, 2) if running else 0.0,
        process_fps=reader.process_fps,
        lag_s=None if processed.lag_s is None or not running else round(processed.lag_s, 3),
        frames_received=reader.frames_received,
        frames_processed=processed.frames,
        frames_skipped=reader.frames_skipped,
        frames_dropped=reader.frames_dropped,
        queue_depth=reader.queued,
        reconnects=reader.reconnects,
        last_frame_wall=reader.last_frame_time,
        last_error=error or reader.last_error,
        stage_ms=stage_ms,
        updated_wall=time.time(),
    )


class LiveCamera:
    """Runs ``source`` through ``make_pipeline()`` in a thread, putting ``CameraStarted``, one ``FrameResult``
    per frame and a final ``CameraEnded`` on ``out``.

    Each frame's time is ``t = (wall clock when the stream started) + frame.timestamp``: Unix seconds for a
    live stream or a file replayed in real time, so cameras started at different moments share one clock and
    restarts never make time go backwards. Track ids are the tracker's plus ``track_id_offset`` (this run's,
    ``service.track_ids``).
    ``live_view_period_s``: seconds between frames sent with their image (for the live view). ``paced``: the
    source delivers frames at its own rate (a live stream, a file replayed in real time).
    """

    def __init__(
        self,
        camera: CameraRecord,
        source: Source,
        make_pipeline: Callable[[], CameraPipeline],
        ground: GroundPlane | None,
        out: queue.Queue,
        live_view_period_s: float,
        track_id_offset: int = 0,
        discard: threading.Event | None = None,
        paced: bool = False,
    ) -> None:
        self.camera_id = camera.camera_id
        self.source = source
        self.track_id_offset = track_id_offset
        self.paced = paced
        self.stopping = threading.Event()
        self.ended = CameraEnded(self.camera_id)
        self.processed = ProcessingMeter()
        self.error: str | None = None
        self._url = camera.url
        self._make_pipeline = make_pipeline
        self._ground = ground
        self._out = out
        self._period_s = live_view_period_s
        self._discard = discard or threading.Event()  # set when nobody consumes ``out`` any more
        self._pipeline: CameraPipeline | None = None
        self._end_state: str | None = None  # "finished" | "failed" | "stopped" once the thread is over
        self._thread = threading.Thread(target=self._run, name=f"live-{self.camera_id}", daemon=True)

    def start(self) -> LiveCamera:
        self._put(CameraStarted(self.camera_id, self._ground, self.stopping))
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Ask the thread to end after the frame in hand (closing the source ends a wait for the next one)."""
        self.stopping.set()
        self.source.close()

    def join(self, timeout_s: float | None = None) -> None:
        self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def status(self) -> CameraStatus:
        """What the camera reports now (URL and error redacted)."""
        return camera_status(
            self.source.status(),
            self.processed,
            self._stage_ms(self._pipeline),
            ended_state=self._end_state,
            error=self.error,
        )

    def _stage_ms(self, pipeline: CameraPipeline | None) -> dict[str, float]:
        if pipeline is None:
            return {}
        stage_ms = pipeline.times.mean_ms()
        if self.paced:
            # The pipeline's "decode" is the time it waited for each frame: for a source that delivers at its
            # own pace (a camera, a file replayed in real time) that is mostly the frame period, not decoding.
            stage_ms.pop("decode", None)
        return stage_ms

    def _run(self) -> None:
        try:
            # Built here, not in the caller: loading a detector takes seconds, and the API answers at once.
            pipeline = self._pipeline = self._make_pipeline()
            next_view = 0.0
            with self.source:
                t0 = time.time()
                for frame, detections, tracks in pipeline.run(self.source.frames()):
                    if self.stopping.is_set():
                        break
                    jpeg = None
                    if (now := time.monotonic()) >= next_view:
                        jpeg, next_view = encode_jpeg(frame.image), now + self._period_s
                    self._put(
                        FrameResult(
                            self.camera_id, frame.frame_index, t0 + frame.timestamp, frame.size,
                            detections, renumbered(tracks, self.track_id_offset), jpeg,
                        )
                    )  # fmt: skip
                    self.processed.record(t0 + frame.timestamp if self.paced else None)
            self._end_state = "stopped" if self.stopping.is_set() else "finished"
        except Exception as exc:  # one camera's failure must not stop the others: record it and end this one
            self.error = redact_text(describe_error(exc), self._url)
            self._end_state = "failed"
            log.warning("camera %s failed: %s", self.camera_id, self.error)
        finally:
            self.source.close()  # also when the pipeline could not be built and the source never opened
            self._put(self.ended)

    def _put(self, item: object) -> None:
        """Hand ``item`` on; a full queue holds this camera back (a live reader then drops its oldest frames,
        keeping latency bounded) unless nobody consumes the queue any more."""
        while not self._discard.is_set():
            try:
                self._out.put(item, timeout=PUT_POLL_S)
                return
            except queue.Full:
                continue
