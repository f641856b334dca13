"""What every reader shares: the consumer-facing protocol, its status snapshot, and the user-facing error."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol, Self

from trackers.types import Frame

ReaderState = Literal["connecting", "streaming", "reconnecting", "closed"]

# Frame rate is measured over this many recent seconds: long enough to smooth network jitter, short enough
# that a stall shows as 0 fps within a few seconds.
FPS_WINDOW_S = 3.0


class SourceError(ValueError):
    """A source cannot be used (missing, unreadable or empty file...); the message names it and the fix."""


@dataclass(frozen=True)
class ReaderStatus:
    """A snapshot of one reader, safe to publish: the URL and error are redacted.

    frames_received counts decoded frames (delivered, skipped, queued or dropped); frames_skipped those left
    out by the processing rate (``process_fps``, the policy); frames_dropped those discarded because the
    consumer fell behind; reconnects the connection attempts made after a failure; received_fps the
    decoded-frame rate over the last ``FPS_WINDOW_S`` seconds; last_frame_time the wall clock (Unix seconds)
    of the newest frame; last_error the failure of the current outage, cleared once frames flow again;
    queued the frames waiting for the consumer; process_fps the processing rate (None: every frame).
    """

    camera_id: str
    url: str
    state: ReaderState
    frames_received: int
    frames_skipped: int
    frames_dropped: int
    reconnects: int
    received_fps: float
    last_frame_time: float | None
    last_error: str | None
    queued: int
    process_fps: float | None = None


class Source(Protocol):
    """A camera's frames, for one consumer. Use as a context manager, or call ``close()``."""

    def frames(self) -> Iterator[Frame]:
        """Frames in order until the source ends or ``close()`` is called."""
        ...

    def status(self) -> ReaderStatus: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...


class FpsMeter:
    """Frames per second over a sliding window of arrival times (monotonic seconds). Thread-safe.

    The rate is the frames of the window over the window's length (or the time since the first frame,
    early on), not over the span of those frames: a burst after a reconnect reads as a few more frames in
    the window, never as a rate of hundreds."""

    def __init__(self, window_s: float = FPS_WINDOW_S) -> None:
        self._window_s = window_s
        self._times: deque[float] = deque()
        self._first: float | None = None
        self._lock = threading.Lock()

    def tick(self, now: float | None = None) -> None:
        """Record one frame arriving at ``now`` (time.monotonic() when None)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if self._first is None:
                self._first = now
            self._times.append(now)
            self._prune(now)

    def rate(self, now: float | None = None) -> float:
        """Frames per second over the last window; 0.0 before two frames have arrived."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._prune(now)
            if self._first is None or len(self._times) < 2:
                return 0.0
            span = min(self._window_s, now - self._first)
            return len(self._times) / span if span > 0 else 0.0

    def _prune(self, now: float) -> None:
        while self._times and self._times[0] < now - self._window_s:
            self._times.popleft()


class FrameRate:
    """The processing-rate policy: admits frames at most ``fps`` per second of stream time, the source frame
    nearest to each point of a regular grid (25 -> 10 fps keeps 2 or 3 of every 5 frames, 10 on average), so
    a decimated camera's frames stay evenly spaced. ``fps`` None admits every frame. Not thread-safe: one
    per reader."""

    def __init__(self, fps: float | None) -> None:
        self._period = None if fps is None else 1.0 / fps
        self._next: float | None = None  # the grid point the next admitted frame is nearest to
        self._last: float | None = None
        self._interval: float | None = None  # the source's frame interval, smoothed (s)

    def admit(self, timestamp: float) -> bool:
        """Whether the frame at ``timestamp`` (s, stream clock) is processed."""
        if self._period is None:
            return True
        if self._last is not None:
            interval = timestamp - self._last
            self._interval = interval if self._interval is None else 0.9 * self._interval + 0.1 * interval
        self._last = timestamp
        # A frame less than half a source interval early is nearer the grid point than the next frame will
        # be: at equal rates every frame is kept, whatever the arrival jitter.
        early = 0.5 * min(self._interval or 0.0, self._period)
        if self._next is not None and timestamp < self._next - early:
            return False
        on_grid = self._next is not None and timestamp < self._next + self._period
        self._next = (self._next if on_grid else timestamp) + self._period  # a long gap restarts the grid
        return True
