"""Fixtures shared by the service tests: a real Redis server and fresh stores on it; subprocesses cleaned up.

``redis_url`` finds a Redis: the one on 127.0.0.1:6379 (db 0) if it answers, else a ``redis-server`` started
on a free loopback port for the session (and stopped after), else every Redis test skips, saying why.
Every Redis store works under its own key prefix (``crosscam-test-<uuid4 hex>``), so tests sharing a server
never see each other's keys; the prefix is wiped when the test ends.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _start_redis_server(binary: str, workdir: str) -> tuple[subprocess.Popen[bytes], str]:
    """A throw-away redis-server on a free loopback port, nothing persisted to disk."""
    port = _free_port()
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
