"""RtspReader against real RTSP servers on loopback (see conftest): frames over UDP and TCP, resuming after
the publisher restarts, unreachable cameras, credentials never shown, and bounded latency for slow consumers."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pytest

from service.ingest import RtspReader, SourceConfig, open_source, redact_url
from trackers.types import Frame

if TYPE_CHECKING:
    from .conftest import PerlRtspServer

# Short timeouts and back-off keep the tests quick; production defaults are seconds longer.
FAST = {"connect_timeout_s": 2.0, "read_timeout_s": 2.0, "reconnect_backoff_s": (0.2, 0.5, 1.0)}
MIN_FRAMES = 20
FRAMES_WITHIN_S = 10.0
RESUME_WITHIN_S = 15.0
CLOSE_WITHIN_S = 2.0
SECRET = "s3cr3t-pw"


def rtsp_reader(url: str, **options: object) -> RtspReader:
    return RtspReader(SourceConfig(camera_id="c001", url=url, **{**FAST, **options}))


def collect(reader: RtspReader, count: int, within_s: float) -> list[Frame]:
    """Up to ``count`` frames, waiting at most ``within_s`` seconds in all."""
    frames: list[Frame] = []
    deadline = time.monotonic() + within_s
    while len(frames) < count and (left := deadline - time.monotonic()) > 0:
        if (frame := reader.read(timeout_s=left)) is not None:
            frames.append(frame)
    return frames


def wait_for(predicate: Callable[[], bool], within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def assert_live_sequence(frames: list[Frame]) -> None:
    assert np.all(np.diff([f.frame_index for f in frames]) > 0)
    assert np.all(np.diff([f.timestamp for f in frames]) > 0)
    assert all(f.image.shape == (240, 320, 3) and f.image.dtype == np.uint8 for f in frames)


def assert_closes_promptly(reader: RtspReader) -> None:
    start = time.monotonic()
    reader.close()
    assert time.monotonic() - start <= CLOSE_WITHIN_S
    assert reader.status().state == "closed"
    assert reader._thread is not None and not reader._thread.is_alive()


def test_frames_over_udp(perl_rtsp_server: PerlRtspServer) -> None:
    reader = rtsp_reader(perl_rtsp_server.client_url("cam"), transport="udp")
    with reader:
        frames = collect(reader, MIN_FRAMES, FRAMES_WITHIN_S)
        status = reader.status()
        assert len(frames) >= MIN_FRAMES
        assert frames[0].frame_index == 1
        assert_live_sequence(frames)
        assert status.state == "streaming" and status.frames_received >= MIN_FRAMES
        assert 5.0 < status.received_fps < 15.0  # the publisher sends 10 fps
        assert status.last_frame_time == pytest.approx(time.time(), abs=2.0)
        assert_closes_promptly(reader)


def test_frames_over_tcp(gst_rtsp_url: str) -> None:
    reader = rtsp_reader(gst_rtsp_url, transport="tcp", connect_timeout_s=5.0)
    with reader:
        frames = collect(reader, MIN_FRAMES, FRAMES_WITHIN_S)
        assert len(frames) >= MIN_FRAMES
        assert_live_sequence(frames)
        assert_closes_promptly(reader)


def test_transport_the_server_refuses_is_named(perl_rtsp_server: PerlRtspServer) -> None:
    # rtsp-server-perl has no RTP-over-TCP: the reader must say which transport to use instead.
    with rtsp_reader(perl_rtsp_server.client_url("cam"), transport="tcp") as reader:
        assert wait_for(lambda: reader.status().last_error is not None, FAST["connect_timeout_s"] + 1)
        assert "refused transport=tcp" in reader.status().last_error
        assert "set the camera's transport to udp or auto" in reader.status().last_error


def test_udp_the_server_refuses_is_named(gst_rtsp_url: str) -> None:
    with rtsp_reader(gst_rtsp_url, transport="udp") as reader:  # this server offers TCP only
        assert wait_for(lambda: reader.status().last_error is not None, FAST["connect_timeout_s"] + 1)
        assert "set the camera's transport to tcp or auto" in reader.status().last_error


def test_auto_transport_finds_udp_and_clears_the_error_once_frames_flow(
    perl_rtsp_server: PerlRtspServer,
) -> None:
    with rtsp_reader(perl_rtsp_server.client_url("cam"), transport="auto") as reader:
        # TCP first: rtsp-server-perl refuses it; the next attempt is over UDP.
        frames = collect(reader, MIN_FRAMES, FRAMES_WITHIN_S + 2)
        status = reader.status()
        assert len(frames) >= MIN_FRAMES and status.state == "streaming"
        assert status.reconnects >= 1 and status.last_error is None


def test_auto_transport_keeps_tcp_where_the_server_offers_it(gst_rtsp_url: str) -> None:
    with rtsp_reader(gst_rtsp_url, transport="auto", connect_timeout_s=5.0) as reader:
        assert len(collect(reader, MIN_FRAMES, FRAMES_WITHIN_S)) >= MIN_FRAMES
        assert reader.status().reconnects == 0


def test_a_live_stream_is_decimated_to_its_processing_rate(perl_rtsp_server: PerlRtspServer) -> None:
    with rtsp_reader(perl_rtsp_server.client_url("cam"), transport="udp", process_fps=2.5) as reader:
        frames = collect(reader, 6, FRAMES_WITHIN_S + 3)  # the publisher sends 10 fps: every 4th frame
        status = reader.status()
        assert len(frames) >= 6
        gaps = np.diff([f.timestamp for f in frames])
        assert 0.25 < float(np.median(gaps)) < 0.55
        assert np.median(np.diff([f.frame_index for f in frames])) == 4
        assert status.frames_skipped >= 2 * len(frames) and status.process_fps == 2.5


def test_resumes_after_publisher_restart(perl_rtsp_server: PerlRtspServer) -> None:
    publisher = perl_rtsp_server.publish("restart")
    reader = rtsp_reader(perl_rtsp_server.client_url("restart"), transport="udp")
    with reader:
        before = collect(reader, 5, FRAMES_WITHIN_S)
        assert len(before) == 5
        # SIGTERM: ffmpeg sends TEARDOWN, so the server frees the mount for the next publisher (after a
        # SIGKILL, rtsp-server-perl keeps the mount and refuses a new publisher until it restarts itself).
        perl_rtsp_server.stop(publisher, signal.SIGTERM)
        while reader.read(timeout_s=0.5) is not None:  # drain what was queued before the stop
            pass
        assert wait_for(lambda: reader.status().last_error is not None, FAST["read_timeout_s"] + 2)
        outage = reader.status()
        perl_rtsp_server.publish("restart")
        restarted = time.monotonic()
        after = collect(reader, 5, RESUME_WITHIN_S)
        resumed_in = time.monotonic() - restarted
        status = reader.status()
    assert len(after) == 5, f"no frames {RESUME_WITHIN_S:g} s after the restart; status: {status}"
    assert resumed_in < RESUME_WITHIN_S
    assert outage.state == "reconnecting" and outage.received_fps < 5.0  # no spike while the camera is away
    assert status.reconnects >= 1 and status.last_error is None  # cleared once frames flow again
    assert_live_sequence(before + after)  # indices and timestamps keep increasing across the reconnect


def test_close_is_prompt_while_the_stream_stalls(perl_rtsp_server: PerlRtspServer) -> None:
    publisher = perl_rtsp_server.publish("stall")
    reader = rtsp_reader(perl_rtsp_server.client_url("stall"), transport="udp", read_timeout_s=30.0)
    try:
        assert len(collect(reader, 3, FRAMES_WITHIN_S)) == 3
        publisher.send_signal(signal.SIGSTOP)  # the publisher freezes: no packet, no error, no end
        time.sleep(1.0)
        assert reader.status().state == "streaming"  # 30 s read timeout: not yet declared stalled
        assert_closes_promptly(reader)
    finally:
        publisher.send_signal(signal.SIGCONT)
        perl_rtsp_server.stop(publisher)


def test_nothing_answers_reconnects_without_hanging(free_port: int) -> None:
    url = f"rtsp://127.0.0.1:{free_port}/x"
    reader = open_source(SourceConfig(camera_id="c001", url=url, **FAST))
    assert isinstance(reader, RtspReader)
    consumed: list[Frame] = []
    consumer = threading.Thread(target=lambda: consumed.extend(reader.frames()))
    consumer.start()
    assert wait_for(lambda: reader.status().state == "reconnecting", FAST["connect_timeout_s"] + 1)
    status = reader.status()
    assert "connection refused" in status.last_error and url in status.last_error
    assert status.frames_received == 0 and status.received_fps == 0.0 and status.last_frame_time is None
    assert_closes_promptly(reader)
    consumer.join(CLOSE_WITHIN_S)
    assert not consumer.is_alive() and consumed == []  # frames() ended on close, without raising


def test_slow_consumer_drops_oldest_and_queue_stays_bounded(perl_rtsp_server: PerlRtspServer) -> None:
    queue_size = 2
    reader = rtsp_reader(perl_rtsp_server.client_url("cam"), transport="udp", queue_size=queue_size)
    consumed: list[Frame] = []
    depths: list[int] = []
    with reader:
        assert reader.read(timeout_s=FRAMES_WITHIN_S) is not None
        for _ in range(8):
            time.sleep(0.4)  # a pipeline four times slower than the 10 fps camera
            depths.append(reader.status().queued)
            if (frame := reader.read(timeout_s=1.0)) is not None:
                consumed.append(frame)
    status = reader.status()
    assert max(depths) <= queue_size
    assert status.frames_dropped >= 10
    # Every decoded frame is accounted for: delivered, dropped, or still queued at close.
    assert status.frames_received == 1 + len(consumed) + status.frames_dropped + status.queued
    # The oldest were dropped: what the consumer gets is recent, so indices jump.
    assert np.max(np.diff([f.frame_index for f in consumed])) > 1


def test_credentials_never_shown(perl_rtsp_server: PerlRtspServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    credentials = f"operator:{SECRET}@"
    with rtsp_reader(perl_rtsp_server.client_url("cam", credentials), transport="udp") as reader:
        assert reader.read(timeout_s=FRAMES_WITHIN_S) is not None  # rtsp-server-perl ignores credentials
        assert SECRET not in str(reader.status())
    with rtsp_reader(perl_rtsp_server.client_url("no-such-mount", credentials), transport="udp") as reader:
        assert wait_for(lambda: reader.status().last_error is not None, FAST["connect_timeout_s"] + 1)
        status = reader.status()
    assert "404" in status.last_error and "operator:***@" in status.last_error
    assert SECRET not in str(status) and SECRET not in caplog.text
    with pytest.raises(ValueError) as raised:
        SourceConfig(camera_id="c001", url=f"rtsp://{credentials}camera.local:99999/x")
    assert "port" in str(raised.value) and SECRET not in str(raised.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://user:pw@10.0.0.7:554/stream1", "rtsp://user:***@10.0.0.7:554/stream1"),
        ("rtsp://user:p@ss:w0rd@cam/x?a=1", "rtsp://user:***@cam/x?a=1"),
        ("rtsp://user:pa/ss@cam/x", "rtsp://user:***@cam/x"),  # unescaped "/" in the password
        ("rtsp://user@cam/x", "rtsp://user@cam/x"),
        ("rtsp://cam/x?token=a:b@c", "rtsp://cam/x?token=a:b@c"),
        ("rtsp://cam/path@weird", "rtsp://cam/path@weird"),
        ("/videos/a.mp4", "/videos/a.mp4"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize("url", ["http://cam.local/stream", "rtmp://cam/live", "HTTPS://x/y.mp4"])
def test_unsupported_scheme_lists_supported(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported URL scheme") as raised:
        SourceConfig(camera_id="c001", url=url)
    assert "rtsp://" in str(raised.value) and "file://" in str(raised.value)


@pytest.mark.parametrize(
    "url", ["rtsp://", "rtsp:///stream", "rtsp://cam:0/x", "rtsp://cam:port/x", "rtsp://cam era/x", "file://"]
)
def test_malformed_url_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="URL"):
        SourceConfig(camera_id="c001", url=url)
