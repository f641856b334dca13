"""FileReader and SourceConfig for files: frames, timestamps, looping, pacing, and one clear error per bad file."""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from service.ingest import FileReader, SourceConfig, SourceError, open_source

FPS = 10.0
N_FRAMES = 60


def reader(path: Path | str, **options: object) -> FileReader:
    return FileReader(SourceConfig(camera_id="c001", url=str(path), **options))


def test_frames_in_order_with_pts_timestamps(test_video: Path) -> None:
    source = reader(test_video)
    frames = list(source.frames())
    assert [f.frame_index for f in frames] == list(range(1, N_FRAMES + 1))
    np.testing.assert_allclose([f.timestamp for f in frames], np.arange(N_FRAMES) / FPS, atol=1e-3)
    assert all(f.camera_id == "c001" and f.image.shape == (240, 320, 3) for f in frames)
    # The red box (BGR) moves right: its column centre grows with the frame index.
    red = [np.nonzero((f.image[:, :, 2] > 200) & (f.image[:, :, 0] < 80))[1].mean() for f in frames[::10]]
    assert np.all(np.diff(red) > 0)
    status = source.status()
    assert (status.state, status.frames_received, status.frames_dropped) == ("closed", N_FRAMES, 0)


def test_file_url_and_factory(test_video: Path) -> None:
    source = open_source(SourceConfig(camera_id="c001", url=f"file://{test_video}"))
    assert isinstance(source, FileReader)
    assert source.info.fps == FPS and source.info.size == (320, 240)
    with source:
        first = next(source.frames())
    assert first.frame_index == 1
    assert source.status().state == "closed"


def test_loop_replays_with_increasing_indices_and_timestamps(test_video: Path) -> None:
    source = reader(test_video, loop=True)
    frames = []
    for frame in source.frames():
        frames.append(frame)
        if len(frames) == 2 * N_FRAMES + 10:
            source.close()
    assert [f.frame_index for f in frames] == list(range(1, 2 * N_FRAMES + 11))
    assert np.all(np.diff([f.timestamp for f in frames]) > 0)
    assert frames[N_FRAMES].timestamp == pytest.approx(N_FRAMES / FPS, abs=1e-3)
    np.testing.assert_array_equal(frames[N_FRAMES].image, frames[0].image)  # the second pass starts over


def test_realtime_paces_to_file_fps(test_video: Path) -> None:
    source = reader(test_video, realtime=True)
    start = time.monotonic()
    frames = [frame for frame, _ in zip(source.frames(), range(6), strict=False)]
    elapsed = time.monotonic() - start
    source.close()
    assert elapsed >= frames[-1].timestamp - 0.02  # frame 6 is due 0.5 s after frame 1


def test_close_ends_iteration(test_video: Path) -> None:
    source = reader(test_video)
    iterator = source.frames()
    next(iterator)
    source.close()
    assert list(iterator) == []


def _zero_media_data(src: Path, dst: Path) -> None:
    """Copy ``src`` with the payload of its 'mdat' box zeroed: a valid container whose frames are garbage."""
    data = bytearray(src.read_bytes())
    at = data.index(b"mdat") - 4
    size = int.from_bytes(data[at : at + 4], "big")
    data[at + 8 : at + size] = bytes(size - 8)
    dst.write_bytes(bytes(data))


def _audio_only(dst: Path) -> None:
    with av.open(str(dst), "w") as container:
        stream = container.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 8000, 0, Fraction(1, 8000)
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)


BAD_FILES = {
    "missing": (lambda p, v: None, "not found"),
    "empty": (lambda p, v: p.write_bytes(b""), "empty"),
    "corrupt": (lambda p, v: p.write_bytes(np.random.default_rng(0).bytes(50_000)), "cannot read"),
    "text": (lambda p, v: p.write_text("camera 1 was here\n"), "cannot read"),
    "truncated": (lambda p, v: p.write_bytes(v.read_bytes()[: v.stat().st_size // 3]), "cannot read"),
    "no frame decodes": (lambda p, v: _zero_media_data(v, p), "no frame"),
    "audio only": (lambda p, v: _audio_only(p), "no video stream"),
    "folder": (lambda p, v: p.mkdir(), "folder"),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_bad_file_is_one_clear_error(kind: str, tmp_path: Path, test_video: Path) -> None:
    make, expected = BAD_FILES[kind]
    path = tmp_path / ("clip.m4a" if kind == "audio only" else "clip.mp4")
    make(path, test_video)
    with pytest.raises(SourceError) as raised:
        open_source(SourceConfig(camera_id="c001", url=str(path)))
    message = str(raised.value)
    assert str(path) in message and expected in message
    assert "\n" not in message and raised.value.__cause__ is None  # one line, no chained traceback


def test_file_only_options_rejected_for_rtsp() -> None:
    with pytest.raises(ValueError, match="video files only"):
        SourceConfig(camera_id="c001", url="rtsp://127.0.0.1/x", loop=True)


def test_config_rejects_unknown_fields_and_blank_camera() -> None:
    with pytest.raises(ValueError, match="extra"):
        SourceConfig(camera_id="c001", url="a.mp4", fps=3)
    with pytest.raises(ValueError, match="camera_id"):
        SourceConfig(camera_id="cam 1", url="a.mp4")


def test_a_file_is_decimated_to_its_processing_rate_with_source_frame_indices(test_video: Path) -> None:
    source = reader(test_video, process_fps=2.5)  # the 10 fps test video, every 4th frame
    frames = list(source.frames())
    assert [f.frame_index for f in frames] == list(range(1, N_FRAMES + 1, 4))
    np.testing.assert_allclose(np.diff([f.timestamp for f in frames]), 0.4, atol=1e-3)
    status = source.status()
    assert (status.frames_received, status.frames_skipped, status.frames_dropped) == (N_FRAMES, 45, 0)
    assert status.process_fps == 2.5


def test_a_realtime_replay_drops_late_frames_instead_of_falling_behind(test_video: Path) -> None:
    source = reader(test_video, realtime=True)
    start = time.monotonic()
    lags = []
    for frame in source.frames():
        lags.append(time.monotonic() - start - frame.timestamp)
        time.sleep(0.25)  # a consumer at 4 frames/s against a 10 fps file
    elapsed = time.monotonic() - start
    status = source.status()
    assert elapsed < N_FRAMES / FPS + 0.6  # ends with the file, not 2.5 times later
    assert max(lags) < 0.35  # every frame handed over is at most about one consumer step late
    assert status.frames_dropped >= 30 and status.frames_received == N_FRAMES
    assert status.frames_dropped + len(lags) == N_FRAMES
