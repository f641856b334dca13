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

    frames_received counts decoded frames (delivered, queued or dropped); frames_dropped those discarded
    because the consumer fell behind; reconnects the connection attempts made after a failure; fps the
    received-frame rate over the last ``FPS_WINDOW_S`` seconds; last_frame_time the wall clock (Unix
    seconds) of the newest frame; last_error the most recent failure, kept after recovery; queued the
    frames waiting for the consumer.
    """

    camera_id: str
    url: str
    state: ReaderState
    frames_received: int
    frames_dropped: int
    reconnects: int
    fps: float
    last_frame_time: float | None
    last_error: str | None
    queued: int


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
    """Frames per second over a sliding window of arrival times (monotonic seconds). Thread-safe."""

    def __init__(self, window_s: float = FPS_WINDOW_S) -> None:
        self._window_s = window_s
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def tick(self, now: float | None = None) -> None:
        """Record one frame arriving at ``now`` (time.monotonic() when None)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._times.append(now)
            self._prune(now)

    def rate(self, now: float | None = None) -> float:
        """Frames per second among the frames of the last window; 0.0 with fewer than two."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._prune(now)
            if len(self._times) < 2:
                return 0.0
            span = self._times[-1] - self._times[0]
            return (len(self._times) - 1) / span if span > 0 else 0.0

    def _prune(self, now: float) -> None:
        while self._times and self._times[0] < now - self._window_s:
            self._times.popleft()
