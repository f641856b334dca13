"""``crosscam serve`` as an operator runs it: a real process on a real port, stopped by SIGTERM; bad settings
give one line and exit code 2."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from service.cli import app
from service.recorder import Recorder
from service.scene_run import scene_videos
from service.store import CameraRecord
from trackers.types import Tracklet

REPO = Path(__file__).resolve().parents[3]
START_TIMEOUT_S = 60.0  # imports and the first frames, on two busy cores
IDENTITY_TIMEOUT_S = 30.0  # the 4 s smoke scene in real time: its tracks are recorded when it ends
STOP_TIMEOUT_S = 30.0

runner = CliRunner()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_env() -> dict[str, str]:
    """This environment without any service setting a developer may have exported (an in-memory store)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CROSSCAM_") and k != "REDIS_URL"}


@pytest.fixture
def start_serve() -> Iterator[Callable[..., tuple[subprocess.Popen[str], str]]]:
    """``start(*args, **env)``: ``crosscam serve ARGS --port <free>`` as a process; -> (process, base URL)."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str, **env: str) -> tuple[subprocess.Popen[str], str]:
        port = free_port()
        command = [sys.executable, "-m", "service.cli", "serve", *args, "--port", str(port)]
        process = subprocess.Popen(
            command, cwd=REPO, env={**service_env(), **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        started.append(process)
        return process, f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for_identities(base: str) -> dict:
    deadline = time.monotonic() + IDENTITY_TIMEOUT_S
    while (page := httpx.get(f"{base}/api/v1/identities").json())["total"] == 0:
        assert time.monotonic() < deadline, f"no identity within {IDENTITY_TIMEOUT_S} s"
        time.sleep(0.5)
    return page


def stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM, as a service manager stops it; the output, after checking it exited cleanly."""
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=STOP_TIMEOUT_S)
    assert process.returncode == 0, output
    assert "Traceback" not in output and output.rstrip().endswith("stopped")
    return output


def wait_until_ready(process: subprocess.Popen[str], base: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"serve exited with {process.returncode} before it was ready:\n{process.stdout.read()}"
            )
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"serve was not ready within {START_TIMEOUT_S} s")


def test_serve_runs_the_scene_live_and_stops_cleanly_on_sigterm(start_serve, smoke_scene: Path) -> None:
    process, base = start_serve("--scene", str(smoke_scene), "--oracle", "--embedder", "colourhog")
    wait_until_ready(process, base)
    assert httpx.get(f"{base}/readyz").json() == {"status": "ready", "store": "memory"}
    cameras = httpx.get(f"{base}/api/v1/cameras").json()
    assert [c["camera_id"] for c in cameras] == list(scene_videos(smoke_scene))
    assert all(c["has_calibration"] and c["url"].startswith("file://") for c in cameras)

    page = wait_for_identities(base)
    identity = httpx.get(f"{base}/api/v1/identities/{page['items'][0]['global_id']}").json()
    assert identity["tracklets"] and identity["n_points"] > 0
    status = httpx.get(f"{base}/api/v1/cameras/cam01/status").json()
    assert status["state"] in {"streaming", "finished"} and status["frames_processed"] > 0
    assert httpx.get(f"{base}/api/v1/cameras/cam01/live.jpg").headers["content-type"] == "image/jpeg"

    output = stop(process)
    assert f"{base}/" in output and f"{base}/docs" in output and f"{base}/metrics" in output


def test_serve_restarts_the_cameras_a_redis_store_holds(
    start_serve, smoke_scene: Path, tmp_path: Path, redis_url: str, redis_prefix: str, redis_store_factory
) -> None:
    # A scene folder with cam02 only (and the ground truth of both): cam01 comes from the store alone.
    scene = tmp_path / "scene"
    (scene / "calibration").mkdir(parents=True)
    (scene / "cam02.mp4").symlink_to(smoke_scene / "cam02.mp4")
    (scene / "calibration" / "cam02.json").symlink_to(smoke_scene / "calibration" / "cam02.json")
    (scene / "mot").mkdir()
    for cam in ("cam01", "cam02"):
        (scene / "mot" / cam).symlink_to(smoke_scene / "mot" / cam, target_is_directory=True)
    before = redis_store_factory(redis_prefix)
    before.put_camera(
        CameraRecord(camera_id="cam01", url=(smoke_scene / "cam01.mp4").as_uri(), added_wall=time.time())
    )

    process, base = start_serve(
        "--scene", str(scene), "--oracle", "--embedder", "colourhog",
        REDIS_URL=redis_url, CROSSCAM_REDIS_PREFIX=redis_prefix,
    )  # fmt: skip
    wait_until_ready(process, base)
    assert httpx.get(f"{base}/readyz").json()["store"] == "redis"
    assert [c["camera_id"] for c in httpx.get(f"{base}/api/v1/cameras").json()] == ["cam01", "cam02"]
    deadline = time.monotonic() + IDENTITY_TIMEOUT_S
    while not httpx.get(f"{base}/api/v1/identities", params={"camera": "cam01"}).json()["total"]:
        assert time.monotonic() < deadline, "the restarted camera recorded nothing"
        time.sleep(0.5)
    stop(process)

    after = redis_store_factory(redis_prefix)  # a new connection: what the next start will find
    assert {after.get_camera_status(c).state for c in ("cam01", "cam02")} <= {"stopped", "finished"}
    assert after.counts().tracklets > 0


def test_api_only_serves_the_store_and_runs_no_camera(
    start_serve, smoke_scene: Path, redis_url: str, redis_prefix: str, redis_store_factory
) -> None:
    store = redis_store_factory(redis_prefix)
    store.put_camera(
        CameraRecord(camera_id="cam01", url=(smoke_scene / "cam01.mp4").as_uri(), added_wall=time.time())
    )
    process, base = start_serve("--api-only", REDIS_URL=redis_url, CROSSCAM_REDIS_PREFIX=redis_prefix)
    wait_until_ready(process, base)
    assert [c["camera_id"] for c in httpx.get(f"{base}/api/v1/cameras").json()] == ["cam01"]
    gid = store.allocate_identity_id()  # what an associator process records shows up at once
    Recorder(store).record(
        Tracklet("cam01", 5, np.array([1.0, 0.0]), 2, np.array([1, 2]), np.array([0.0, 0.1]),
                 np.zeros((2, 4)), np.zeros((2, 2))),
        gid,
    )  # fmt: skip
    assert httpx.get(f"{base}/api/v1/identities/{gid}").json()["tracklet_ids"] == ["cam01:5"]
    time.sleep(2.0)  # no worker runs in this process: the camera never reports
    assert httpx.get(f"{base}/api/v1/cameras/cam01/status").json()["state"] == "pending"
    output = stop(process)
    assert "API only" in output and "recording every live track" not in output


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--port", "0"], {}, "--port"),
        ([], {"CROSSCAM_PORT": "eighty"}, "CROSSCAM_PORT"),
        (["--redis-url", "http://127.0.0.1:6379"], {}, "--redis-url"),
        (["--embedder", "sift"], {}, "sift"),
        (["--oracle"], {}, "--scene"),
        (["--api-only"], {}, "REDIS_URL"),
        (["--api-only", "--oracle", "--scene", "/no/such/scene"], {}, "--api-only"),
    ],
)
def test_bad_settings_give_one_line_and_exit_code_2(args: list[str], env: dict[str, str], named: str) -> None:
    result = runner.invoke(app, ["serve", *args], env=env)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], result.stderr


def test_a_port_in_use_is_named_with_the_fix() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["serve", "--port", str(port)], env={"REDIS_URL": None})
    assert result.exit_code == 2
    assert result.stderr.strip() == result.stderr.strip().splitlines()[0]
    assert f"port {port}" in result.stderr and "already in use" in result.stderr and "--port" in result.stderr
