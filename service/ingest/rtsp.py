"""Live RTSP cameras: a background thread keeps the stream connected, decodes it with PyAV, and hands the
newest frames to one consumer through a bounded queue that drops the oldest frame when the consumer lags.

Failures (refused connection, unknown path, stream ended, decode errors, a stall) never reach the consumer:
they show in ``status()`` and the thread reconnects with back-off until ``close()``.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Literal, Self

import av
import av.error

from service.ingest.config import SourceConfig, redact_text
from service.ingest.source import FpsMeter, FrameRate, ReaderState, ReaderStatus
from trackers.types import Frame

log = logging.getLogger(__name__)

CLOSE_JOIN_S = 2.0  # close() waits this long for the thread; it is a daemon, so it never blocks exit
READ_POLL_S = 0.5  # longest a blocking read runs before the thread checks close() and the stall watchdog
# Isolated decode errors are normal on a lossy link (UDP); this many in a row means the stream is broken.
MAX_CONSECUTIVE_DECODE_ERRORS = 25
MIN_TIMESTAMP_STEP_S = 1e-6  # keeps timestamps strictly increasing when two frames arrive in one clock tick


class DropOldestQueue:
    """A bounded FIFO between one producer and one consumer: ``put`` never blocks; when full it discards
    the oldest item and counts it. ``close`` wakes a waiting ``get``."""

    def __init__(self, maxsize: int) -> None:
        self._items: deque[Frame] = deque()
        self._maxsize = maxsize
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0

    def put(self, item: Frame) -> None:
        with self._cond:
            if len(self._items) >= self._maxsize:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._cond.notify()

    def get(self, timeout_s: float | None = None) -> Frame | None:
        """The oldest item; None after ``timeout_s`` seconds (None: wait for ever) or once closed."""
        with self._cond:
            self._cond.wait_for(lambda: self._items or self._closed, timeout_s)
            if self._closed or not self._items:
                return None
            return self._items.popleft()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)


class _StreamError(Exception):
    """Ends one connection with a reason worded for an operator."""


def refused_transport(exc: BaseException) -> bool:
    """Whether ``exc`` is a server refusing the RTP transport asked for (not the stream itself)."""
    # rtsp-server-perl answers a TCP SETUP with 400; GStreamer's server a refused UDP one with EPROTONOSUPPORT.
    return (
        isinstance(exc, av.error.HTTPBadRequestError) or getattr(exc, "errno", None) == errno.EPROTONOSUPPORT
    )


def _describe(exc: BaseException, phase: str, config: SourceConfig, transport: str) -> str:
    """An operator-facing reason for ``exc``, raised while ``phase`` ("connecting" or "reading") over
    ``transport``."""
    if isinstance(exc, _StreamError):
        return str(exc)
    if isinstance(exc, av.error.ExitError):  # PyAV's connect timeout interrupted FFmpeg
        return f"no answer within {config.connect_timeout_s:g} s (is the host up and the port right?)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: nothing listens at that host and port (is the camera on, the port right?)"
    if isinstance(exc, av.error.HTTPUnauthorizedError):
        return "401 Unauthorized: wrong or missing user name or password in the URL"
    if isinstance(exc, av.error.HTTPNotFoundError):
        return (
            "404 Not Found: the server has no stream at this path (check the path; is the publisher running?)"
        )
    if refused_transport(exc):
        if config.transport == "auto":
            return (
                f"the server refused transport={transport} ({exc.__class__.__name__}); trying the other one"
            )
        other = "udp" if transport == "tcp" else "tcp"
        return (
            f"the server refused transport={transport} ({exc.__class__.__name__}); set the camera's transport "
            f"to {other} or auto"
        )
    if isinstance(exc, av.error.InvalidDataError) and phase == "connecting":
        return "the answer is not a playable RTSP stream (is this the camera's RTSP port and stream path?)"
    if isinstance(exc, av.error.EOFError):
        return "the stream ended (the camera or publisher closed it)"
    reason = getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__
    return redact_text(f"{exc.__class__.__name__}: {reason}", config.url)


class RtspReader:
    """Frames of one RTSP camera. frame_index counts every decoded frame from 1 and never resets (skipped
    and dropped frames leave gaps); timestamps are seconds since ``start()`` on the monotonic wall clock, so
    a camera that restarts its own clock does not make time go backwards. Frames beyond ``process_fps`` are
    skipped before they are converted. With transport "auto" a connection that delivers nothing is retried
    over the other transport, and the one that delivers frames is kept."""

    def __init__(self, config: SourceConfig) -> None:
        if not config.is_live:
            raise ValueError(f"RtspReader needs an rtsp:// URL, got {config.redacted_url}; use FileReader")
        self.config = config
        self._queue = DropOldestQueue(config.queue_size)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._fps = FpsMeter()
        self._rate = FrameRate(config.process_fps)
        self._transport = "tcp" if config.transport == "auto" else config.transport
        self._thread: threading.Thread | None = None
        self._phase: Literal["connecting", "reading"] = "connecting"  # what a failure interrupted
        self._last_decoded = 0.0  # time.monotonic() of the newest decoded frame, for the stall watchdog
        self._t0 = 0.0  # time.monotonic() at start()
        self._state: ReaderState = "connecting"
        self._frames_received = 0
        self._frames_skipped = 0
        self._reconnects = 0
        self._last_timestamp = -MIN_TIMESTAMP_STEP_S
        self._last_frame_time: float | None = None
        self._last_error: str | None = None

    def start(self) -> Self:
        """Start the background thread (idempotent; ``frames``, ``read`` and ``with`` call it)."""
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._t0 = time.monotonic()
                self._thread = threading.Thread(
                    target=self._run, name=f"rtsp-{self.config.camera_id}", daemon=True
                )
                self._thread.start()
        return self

    def read(self, timeout_s: float | None = None) -> Frame | None:
        """The oldest queued frame, waiting up to ``timeout_s`` seconds (None: until one comes or close());
        None when none came or the reader is closed."""
        self.start()
        return self._queue.get(timeout_s)

    def frames(self) -> Iterator[Frame]:
        """Frames as they arrive, across reconnects; waits while the camera is away; ends on ``close()``."""
        self.start()
        while (frame := self._queue.get()) is not None:
            yield frame

    def status(self) -> ReaderStatus:
        with self._lock:
            return ReaderStatus(
                camera_id=self.config.camera_id,
                url=self.config.redacted_url,
                state=self._state,
                frames_received=self._frames_received,
                frames_skipped=self._frames_skipped,
                frames_dropped=self._queue.dropped,
                reconnects=self._reconnects,
                received_fps=self._fps.rate(),
                last_frame_time=self._last_frame_time,
                last_error=self._last_error,
                queued=len(self._queue),
                process_fps=self.config.process_fps,
            )

    def close(self) -> None:
        """Stop the thread and end ``frames()``; returns within ``CLOSE_JOIN_S`` seconds. The thread is gone by
        then too, except in the middle of a connection attempt, which it finishes first (at most
        ``connect_timeout_s``; it is a daemon thread and holds nothing but that socket)."""
        self._stop.set()
        self._queue.close()
        with self._lock:
            self._state = "closed"
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(CLOSE_JOIN_S)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- background thread -------------------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0  # consecutive connections that delivered no frame: indexes the back-off schedule
        while not self._stop.is_set():
            received_before = self._frames_received
            try:
                self._stream_once()
                reason = "the stream ended (the camera or publisher closed it)"
            except Exception as exc:  # any failure means reconnect; the consumer must never see it
                reason = _describe(exc, self._phase, self.config, self._transport)
            if self._stop.is_set():
                break
            if self._frames_received > received_before:
                failures = 0
            elif self.config.transport == "auto":  # nothing came over this transport: try the other next
                self._transport = "udp" if self._transport == "tcp" else "tcp"
            backoff = self.config.reconnect_backoff_s
            delay = backoff[min(failures, len(backoff) - 1)]
            failures += 1
            message = f"{self.config.redacted_url}: {reason}; reconnecting in {delay:g} s"
            log.warning("camera %s: %s", self.config.camera_id, message)
            with self._lock:
                self._state = "reconnecting"
                self._last_error = message
            if self._stop.wait(delay):
                break
            with self._lock:
                self._reconnects += 1
        with self._lock:
            self._state = "closed"

    def _stream_once(self) -> None:
        """One connection: open, decode and queue frames until the stream ends, fails, stalls or we stop."""
        options = {
            "rtsp_transport": self._transport,
            "allowed_media_types": "video",  # do not set up (and wait for) audio we would discard
        }
        # FFmpeg's blocking reads give up after READ_POLL_S (PyAV interrupts them), so the thread sees close()
        # and runs the stall watchdog promptly; an interrupted read resumes cleanly on the next demux call.
        timeout = (self.config.connect_timeout_s, min(READ_POLL_S, self.config.read_timeout_s))
        self._phase = "connecting"
        with av.open(self.config.url, options=options, timeout=timeout) as container:
            if not container.streams.video:
                raise _StreamError("the stream has no video track")
            self._phase = "reading"
            self._last_decoded = time.monotonic()
            while not self._stop.is_set():
                try:
                    self._pump(container, container.streams.video[0])
                    return  # the demuxer ran out: the camera or publisher ended the stream
                except av.error.ExitError:
                    self._check_stall("no data")

    def _pump(self, container: av.container.InputContainer, stream: av.VideoStream) -> None:
        """Demux, decode and deliver until the stream ends or we stop; ExitError when no data comes."""
        decode_errors = 0
        for packet in container.demux(stream):
            if self._stop.is_set():
                return
            try:
                decoded = packet.decode()
            except av.error.InvalidDataError as exc:
                decode_errors += 1
                if decode_errors > MAX_CONSECUTIVE_DECODE_ERRORS:
                    raise _StreamError(f"{decode_errors} packets in a row failed to decode") from exc
                continue
            for frame in decoded:
                self._deliver(frame)
                self._last_decoded = time.monotonic()
                decode_errors = 0
            # Packets that yield no picture (e.g. a broken keyframe chain) must time out too.
            self._check_stall("no decodable frame")

    def _check_stall(self, what: str) -> None:
        """The stall watchdog: raise once no frame has been decoded for ``read_timeout_s`` seconds."""
        if time.monotonic() - self._last_decoded > self.config.read_timeout_s:
            raise _StreamError(f"{what} for {self.config.read_timeout_s:g} s (stream stalled)")

    def _deliver(self, frame: av.VideoFrame) -> None:
        with self._lock:
            self._frames_received += 1
            index = self._frames_received
            timestamp = max(time.monotonic() - self._t0, self._last_timestamp + MIN_TIMESTAMP_STEP_S)
            self._last_timestamp = timestamp
            self._last_frame_time = time.time()
            if self._state != "closed":
                if self._state != "streaming":
                    log.info("camera %s: streaming from %s", self.config.camera_id, self.config.redacted_url)
                    self._last_error = None  # recovered: the error was about the outage that just ended
                self._state = "streaming"
        self._fps.tick()
        if not self._rate.admit(timestamp):
            with self._lock:
                self._frames_skipped += 1
            return
        self._queue.put(Frame(self.config.camera_id, index, timestamp, frame.to_ndarray(format="bgr24")))
