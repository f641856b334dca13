"""Fixtures shared by the service tests: a real Redis server and fresh stores on it; subprocesses cleaned up.

``redis_url`` finds a Redis: the one on 127.0.0.1:6379 (db 0) if it answers, else a ``redis-server`` started
on a free loopback port for the session (and stopped after), else every Redis test skips, saying why.
Every Redis store works under its own key prefix (``crosscam-test-<uuid4 hex>``), so tests sharing a server
never see each other's keys; the prefix is wiped when the test ends.

Real RTSP servers on loopback (no mocks), for the ingest and live-runtime tests:
Two servers, because neither does both transports:
- Debian's ``rtsp-server-perl`` relays what ffmpeg publishes (``ffmpeg -re ... -f rtsp rtsp://127.0.0.1:SRC/name``)
  to readers (``rtsp://127.0.0.1:CLIENT/name``); it speaks RTP over UDP only (a TCP SETUP gets 400).
  It is the one with a separate publisher, so it serves the UDP, restart and slow-consumer tests.
- GStreamer's ``gst-rtsp-server`` (system python3 + gi) serves a live test pattern over RTP-in-TCP.
Every port is chosen free at start and every socket binds 127.0.0.1, so parallel runs do not collide.
``scripts/install-system-deps.sh`` installs both; without them these tests skip, saying so.
"""

from __future__ import annotations

import random
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

from service.store.base import StateStore
from service.store.memory import MemoryStore

if TYPE_CHECKING:
    from service.store.redis import RedisStore

LOOPBACK = "127.0.0.1"
DEFAULT_REDIS_URL = f"redis://{LOOPBACK}:6379/0"
SERVER_START_TIMEOUT_S = 10.0
SERVER_STOP_TIMEOUT_S = 5.0
PROCESS_EXIT_TIMEOUT_S = 30.0  # a killed subprocess is gone long before this
PING_TIMEOUT_S = 1.0
NO_REDIS_REASON = (
    "no Redis: nothing answers on 127.0.0.1:6379 and redis-server is not on PATH "
    "(install it, e.g. `apt-get install redis-server`, to run the Redis store tests)"
)


def _answers_ping(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=PING_TIMEOUT_S, socket_timeout=PING_TIMEOUT_S)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()


def _start_redis_server(binary: str, workdir: str) -> tuple[subprocess.Popen[bytes], str]:
    """A throw-away redis-server on a free loopback port, nothing persisted to disk."""
    port = free_tcp_port()
    process = subprocess.Popen(
        [
            binary,
            "--bind",
            LOOPBACK,
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://{LOOPBACK}:{port}/0"
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"redis-server exited with code {process.returncode} before listening on {port}"
            )
        if _answers_ping(url):
            return process, url
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"redis-server did not answer on port {port} within {SERVER_START_TIMEOUT_S} s")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A reachable Redis URL (the local server's db 0, or one started for this session); skips without one."""
    if _answers_ping(DEFAULT_REDIS_URL):
        yield DEFAULT_REDIS_URL
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(NO_REDIS_REASON)
    with tempfile.TemporaryDirectory(prefix="crosscam-redis-") as workdir:
        process, url = _start_redis_server(binary, workdir)
        try:
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=SERVER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _new_prefix() -> str:
    return f"crosscam-test-{uuid.uuid4().hex}"


@pytest.fixture
def redis_prefix() -> str:
    """A fresh, unique Redis key prefix (nobody else's keys live under it)."""
    return _new_prefix()


@pytest.fixture
def redis_store_factory(redis_url: str) -> Iterator[Callable[[str], RedisStore]]:
    """``make(prefix)``: a RedisStore on a NEW connection pool (like a restarted service). Every prefix it was
    given is wiped, and every store it opened closed, when the test ends."""
    from service.store.redis import RedisStore

    opened: list[RedisStore] = []
    prefixes: set[str] = set()

    def make(prefix: str) -> RedisStore:
        store = RedisStore(redis_url, prefix=prefix)
        opened.append(store)
        prefixes.add(prefix)
        return store

    yield make
    for store in opened:
        store.close()
    for prefix in prefixes:
        # A new store per prefix: the test may have closed (or broken) the ones it was given.
        cleaner = RedisStore(redis_url, prefix=prefix)
        try:
            cleaner.wipe()
        finally:
            cleaner.close()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[StateStore]:
    """A fresh, empty state store: the in-memory one, then a Redis one under a unique prefix (wiped after)."""
    if request.param == "memory":
        yield MemoryStore()
        return
    make: Callable[[str], RedisStore] = request.getfixturevalue("redis_store_factory")
    yield make(_new_prefix())


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen]]:
    """A list for the subprocesses a test starts (``crosscam`` commands); each is killed at teardown if it is
    still running, whatever happened, and its pipes closed."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=PROCESS_EXIT_TIMEOUT_S)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


# ---- RTSP servers and a test video --------------------------------------------------------------------

INSTALL_HINT = "run `bash scripts/install-system-deps.sh` (as root) to install it"
PERL_SERVER = Path("/usr/bin/rtsp-server-perl")
SYSTEM_PYTHON = Path("/usr/bin/python3")  # the Debian python that python3-gi is built for

VIDEO_SIZE = (320, 240)  # (width, height) pixels
VIDEO_FPS = 10.0
VIDEO_FRAMES = 60
SERVER_START_TIMEOUT_S = 10.0
PROCESS_STOP_TIMEOUT_S = 5.0
# rtsp-server-perl hands out RTP port pairs upwards from this base (one pair per SETUP, never reused), so a
# random base below Linux's ephemeral range (32768+) keeps two runs, and the OS, off each other's ports.
RTP_BASE_RANGE = (20000, 30000)

GST_SERVER_SCRIPT = """
import sys
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer
Gst.init(None)
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service("0")
factory = GstRtspServer.RTSPMediaFactory()
# A live moving test pattern, JPEG over RTP (I420: RTP/JPEG carries 4:2:0 only).
factory.set_launch(
    "( videotestsrc is-live=true pattern=ball ! video/x-raw,format=I420,width=320,height=240,framerate=10/1"
    " ! jpegenc ! rtpjpegpay name=pay0 pt=26 )"
)
factory.set_shared(True)
factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
server.get_mount_points().add_factory("/cam", factory)
server.attach(None)
print(server.get_bound_port(), flush=True)
GLib.MainLoop().run()
"""


def free_tcp_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout_s: float = SERVER_START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode} before listening on {port}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not listen on {LOOPBACK}:{port} within {timeout_s:g} s")


def stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` and wait; SIGKILL if it does not exit in time."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(PROCESS_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(PROCESS_STOP_TIMEOUT_S)


@pytest.fixture
def free_port() -> int:
    """A loopback TCP port where nothing answers."""
    return free_tcp_port()


@pytest.fixture(scope="session")
def test_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 frames, 10 fps, 320x240 MPEG-4 (mp4v): a red rectangle moving right over grey."""
    path = tmp_path_factory.mktemp("ingest") / "moving_box.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), VIDEO_FPS, VIDEO_SIZE)
    assert writer.isOpened(), "OpenCV cannot write mp4v video here"
    width, height = VIDEO_SIZE
    for i in range(VIDEO_FRAMES):
        image = np.full((height, width, 3), 60, np.uint8)
        x = 10 + 4 * i
        cv2.rectangle(image, (x, 90), (x + 40, 150), (0, 0, 255), thickness=-1)
        writer.write(image)
    writer.release()
    return path


@dataclass
class PerlRtspServer:
    """A running rtsp-server-perl: publishers push to ``source_port``, readers pull from ``client_port``."""

    client_port: int
    source_port: int
    video: Path
    publishers: list[subprocess.Popen] = field(default_factory=list)

    def client_url(self, name: str, credentials: str = "") -> str:
        return f"rtsp://{credentials}{LOOPBACK}:{self.client_port}/{name}"

    def publish(self, name: str, video: Path | None = None) -> subprocess.Popen:
        """Start ffmpeg publishing ``video`` (default: the test video) in a loop, in real time, to mount
        ``name``."""
        command = [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
            "-i", str(video or self.video), "-c", "copy", "-f", "rtsp", f"rtsp://{LOOPBACK}:{self.source_port}/{name}",
        ]  # fmt: skip
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
        self.publishers.append(process)
        return process

    def stop(self, publisher: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
        stop_process(publisher, sig)


@pytest.fixture(scope="session")
def perl_rtsp_server(test_video: Path) -> Iterator[PerlRtspServer]:
    """rtsp-server-perl on loopback with free ports, and one publisher on mount ``cam`` for the session."""
    if not PERL_SERVER.exists():
        pytest.skip(f"rtsp-server-perl is not installed ({PERL_SERVER} missing); {INSTALL_HINT}")
    if shutil.which("ffmpeg") is None:
        pytest.skip(f"ffmpeg is not installed (it publishes the test stream); {INSTALL_HINT}")
    client_port, source_port = free_tcp_port(), free_tcp_port()
    while source_port == client_port:  # each probe socket is closed before the next, so the OS may repeat one
        source_port = free_tcp_port()
    rtp_base = random.randrange(*RTP_BASE_RANGE) // 2 * 2
    command = [
        str(PERL_SERVER), "--clientport", str(client_port), "--serverport", str(source_port),
        "--client_listen_address", LOOPBACK, "--source_listen_address", LOOPBACK,
        "--rtp_start_port", str(rtp_base), "--loglevel", "0",
    ]  # fmt: skip
    server = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    handle = PerlRtspServer(client_port, source_port, test_video)
    try:
        wait_for_port(client_port, server)
        wait_for_port(source_port, server)
        handle.publish("cam")
        yield handle
    finally:
        for publisher in handle.publishers:
            stop_process(publisher)
        stop_process(server)


@pytest.fixture(scope="session")
def gst_rtsp_url() -> Iterator[str]:
    """rtsp:// URL of a GStreamer RTSP server on loopback (TCP transport only) serving a live pattern."""
    check = [str(SYSTEM_PYTHON), "-c", "import gi; gi.require_version('GstRtspServer', '1.0')"]
    if not SYSTEM_PYTHON.exists() or subprocess.run(check, capture_output=True, check=False).returncode:
        pytest.skip(f"GStreamer RTSP server (python3-gi, gir1.2-gst-rtsp-server-1.0) missing; {INSTALL_HINT}")
    server = subprocess.Popen(
        [str(SYSTEM_PYTHON), "-c", GST_SERVER_SCRIPT],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        # The script prints its bound port once listening; a server that never gets there must not hang us.
        ready, _, _ = select.select([server.stdout], [], [], SERVER_START_TIMEOUT_S)
        port = int(server.stdout.readline() or 0) if ready else 0
        if not port:
            raise RuntimeError(f"GStreamer RTSP server did not start (exit code {server.poll()})")
        wait_for_port(port, server)
        yield f"rtsp://{LOOPBACK}:{port}/cam"
    finally:
        stop_process(server)
