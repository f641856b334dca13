"""Video files as frame sources (PyAV), and ``open_source``, which picks the reader for a config's URL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import av
import av.error

from service.ingest.config import SourceConfig
from service.ingest.rtsp import RtspReader
from service.ingest.source import FpsMeter, FrameRate, ReaderState, ReaderStatus, SourceError
from trackers.types import Frame

# Used for timestamps only when a file declares no frame rate and its frames carry no pts.
FALLBACK_FPS = 25.0
REENCODE_HINT = "re-encode it, e.g. `ffmpeg -i {path} -c:v libx264 -pix_fmt yuv420p fixed.mp4`"
# FFmpeg errors that mean "this build has no decoder for the codec", not "the data is damaged".
_UNSUPPORTED_CODEC_ERRORS = (av.error.DecoderNotFoundError, av.error.PatchWelcomeError, NotImplementedError)


@dataclass(frozen=True)
class VideoInfo:
    """What a probe of a file found. fps: frames per second; size: (width, height) pixels."""

    fps: float
    size: tuple[int, int]
    codec: str


def _unreadable(path: Path, reason: str) -> SourceError:
    return SourceError(
        f"cannot read {path} as a video ({reason}); is it a complete video file? A file cut short or still "
        f"being written cannot be opened: copy it again, or {REENCODE_HINT.format(path=path)}"
    )


def _open_container(path: Path) -> av.container.InputContainer:
    """Open ``path`` for decoding, turning every way it can fail into one SourceError naming the file."""
    if not path.exists():
        raise SourceError(f"video file not found: {path} (looked at {path.resolve()}); check the path")
    if path.is_dir():
        raise SourceError(f"{path} is a folder, not a video file; give the path of a video file inside it")
    if path.stat().st_size == 0:
        raise SourceError(f"video file {path} is empty (0 bytes); copy or record it again")
    try:
        container = av.open(str(path))
    except PermissionError:
        raise SourceError(f"cannot read {path}: permission denied; make it readable by this user") from None
    except (av.error.FFmpegError, OSError) as exc:
        raise _unreadable(path, getattr(exc, "strerror", None) or str(exc)) from None
    if not container.streams.video:
        container.close()
        raise SourceError(f"{path} has no video stream (audio or data only); give a video file")
    if container.streams.video[0].codec_context is None:
        container.close()
        raise SourceError(
            f"{path}: its video codec cannot be decoded by this build; {REENCODE_HINT.format(path=path)}"
        )
    return container


def _decode(container: av.container.InputContainer, path: Path) -> Iterator[tuple[av.VideoFrame, int]]:
    """Decoded frames of the first video stream with their 0-based decode position. Packets that fail to
    decode are skipped (a damaged stretch mid-file should not end the file); an unsupported codec raises."""
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"  # frame threads: several times faster on multi-core machines
    position = 0
    try:
        for packet in container.demux(stream):
            try:
                decoded = packet.decode()
            except _UNSUPPORTED_CODEC_ERRORS:
                raise SourceError(
                    f"{path}: codec {stream.codec_context.name!r} cannot be decoded by this build; "
                    + REENCODE_HINT.format(path=path)
                ) from None
            except av.error.InvalidDataError:
                continue
            for frame in decoded:
                yield frame, position
                position += 1
    except av.error.FFmpegError:
        return  # a container damaged past this point: what decoded so far is what the file holds


def probe_video(path: Path) -> VideoInfo:
    """Check that ``path`` holds at least one decodable video frame; raise SourceError naming it if not."""
    with _open_container(path) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else FALLBACK_FPS
        for frame, _ in _decode(container, path):
            return VideoInfo(fps=fps, size=(frame.width, frame.height), codec=stream.codec_context.name)
    raise SourceError(
        f"{path} has a video stream but no frame of it could be decoded (the data is damaged); "
        f"copy it again, or {REENCODE_HINT.format(path=path)}"
    )


class FileReader:
    """Frames of a video file: timestamps in seconds from the file's pts (frame 1 at 0.0), optionally paced
    to real time and looped, decimated to ``process_fps``. The file is probed at construction, so a bad file
    fails there.

    Frame indices count the file's frames (1-based, on across loop passes): skipped and dropped frames
    leave gaps. Paced (``realtime``), a frame that is already late by more than one processing period when
    the consumer asks for it is dropped and counted: a slow consumer sees the replay's newest frames, never
    falls behind it."""

    def __init__(self, config: SourceConfig) -> None:
        self.config = config
        self.path = config.path
        self.info = probe_video(self.path)
        self._closed = threading.Event()
        self._fps = FpsMeter()
        self._lock = threading.Lock()
        self._state: ReaderState = "streaming"
        self._rate = FrameRate(config.process_fps)
        self._frames_received = 0
        self._frames_skipped = 0
        self._frames_dropped = 0
        self._last_frame_time: float | None = None

    def frames(self) -> Iterator[Frame]:
        """Frames in file order; with ``loop`` the file restarts at its end and indices and timestamps keep
        increasing. Ends at the end of the file (without loop) or when ``close()`` is called."""
        period = 1.0 / self.info.fps
        # Paced: how late a frame may be before it is dropped (one processing period, at least one frame).
        late_s = max(period, 1.0 / self.config.process_fps if self.config.process_fps else 0.0)
        start = time.monotonic()
        offset = 0.0  # seconds that earlier loop passes took
        previous: float | None = None
        try:
            while not self._closed.is_set():
                decoded_this_pass = 0
                with _open_container(self.path) as container:
                    first_time: float | None = None
                    for frame, position in _decode(container, self.path):
                        if first_time is None:
                            first_time = frame.time if frame.time is not None else 0.0
                        local = frame.time - first_time if frame.time is not None else position * period
                        timestamp = offset + local
                        # pts can repeat or step back in damaged files; timestamps must still increase.
                        if previous is not None and timestamp <= previous:
                            timestamp = previous + period
                        previous = timestamp
                        decoded_this_pass += 1
                        index = self._count_received()
                        if not self._rate.admit(timestamp):
                            self._count("_frames_skipped")
                            continue
                        if self.config.realtime:
                            wait_s = start + timestamp - time.monotonic()
                            if wait_s < -late_s:
                                self._count("_frames_dropped")
                                continue
                            if self._closed.wait(max(wait_s, 0.0)):
                                return
                        if self._closed.is_set():
                            return
                        yield Frame(self.config.camera_id, index, timestamp, frame.to_ndarray(format="bgr24"))
                if not self.config.loop or decoded_this_pass == 0:
                    return
                offset = previous + period if previous is not None else offset
        finally:
            self.close()

    def _count_received(self) -> int:
        """Count a decoded frame; its 1-based index in the file (on across loop passes)."""
        with self._lock:
            self._frames_received += 1
            self._last_frame_time = time.time()
            index = self._frames_received
        self._fps.tick()
        return index

    def _count(self, counter: str) -> None:
        with self._lock:
            setattr(self, counter, getattr(self, counter) + 1)

    def status(self) -> ReaderStatus:
        with self._lock:
            return ReaderStatus(
                camera_id=self.config.camera_id,
                url=self.config.redacted_url,
                state=self._state,
                frames_received=self._frames_received,
                frames_skipped=self._frames_skipped,
                frames_dropped=self._frames_dropped,
                reconnects=0,
                received_fps=self._fps.rate(),
                last_frame_time=self._last_frame_time,
                last_error=None,
                queued=0,
                process_fps=self.config.process_fps,
            )

    def close(self) -> None:
        """Stop: an iteration in progress (in this or another thread) ends before its next frame."""
        self._closed.set()
        with self._lock:
            self._state = "closed"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_source(config: SourceConfig) -> FileReader | RtspReader:
    """The reader for ``config.url``: an RtspReader for rtsp://, a FileReader for a path or file://."""
    return RtspReader(config) if config.is_live else FileReader(config)
