"""`crosscam worker` and `crosscam associator` as separate processes on the smoke scene, through a real Redis:
cameras registered in the store, one worker per camera, one associator; and the workers' start-up errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import redis
from typer.testing import CliRunner

from service.cli import app
from service.store import CameraRecord, IdentityQuery
from service.streams import decode_tracklet, stream_drained, tracklet_stream
from service.track_ids import TRACK_ID_STRIDE

REPO = Path(__file__).resolve().parents[3]
WAIT_S = 60.0  # every wait on another process is bounded by this
runner = CliRunner()


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting until {what}")
        time.sleep(0.05)


def crosscam(args: list[str], env: dict[str, str], processes: list) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", *args],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    processes.append(process)
    return process


def register_cameras(store, scene: Path) -> list[str]:
    cameras = sorted(p.stem for p in scene.glob("cam*.mp4"))
    for camera in cameras:
        calibration = json.loads((scene / "calibration" / f"{camera}.json").read_text())
        url = (scene / f"{camera}.mp4").resolve().as_uri()
        store.put_camera(
            CameraRecord(camera_id=camera, url=url, calibration=calibration, added_wall=time.time())
        )
    return cameras


def test_workers_and_associator_track_the_scene_across_cameras(
    smoke_scene: Path, redis_url: str, redis_prefix: str, redis_store_factory, tmp_path: Path, processes
) -> None:
    store = redis_store_factory(redis_prefix)
    cameras = register_cameras(store, smoke_scene)
    env = {"REDIS_URL": redis_url, "CROSSCAM_REDIS_PREFIX": redis_prefix}
    associator = crosscam(["associator", "--snapshot-dir", str(tmp_path / "state")], env, processes)
    workers = {
        camera: crosscam(
            [
                "worker", "--camera", camera, "--embedder", "colourhog", "--no-realtime",
                "--oracle-gt", str(smoke_scene / "mot" / camera / "gt" / "gt.txt"),
            ],
            env,
            processes,
        )
        for camera in cameras
    }  # fmt: skip
    published = 0
    for camera, worker in workers.items():
        out, err = worker.communicate(timeout=WAIT_S)
        assert worker.returncode == 0, err.decode()
        summary = json.loads(out.decode().strip().splitlines()[-1])
        assert summary["camera_id"] == camera and summary["state"] == "stopped" and summary["frames"] == 40
        published += summary["tracklets"]
    assert published > 0
    client = redis.Redis.from_url(redis_url)
    try:
        wait_until(lambda: stream_drained(client, redis_prefix), "the associator drained the stream")
        assert store.counts().tracklets == published
        identities = store.list_identities(IdentityQuery(limit=1000)).items
        assert {c for i in identities for c in i.cameras} == set(cameras)
        assert any(len(i.cameras) >= 2 for i in identities)  # vehicles were followed from camera to camera
        for camera in cameras:
            status = store.get_camera_status(camera)
            assert status.state == "stopped" and status.frames_processed == 40 and status.last_error is None
            view = store.get_live_view(camera)
            image = cv2.imdecode(np.frombuffer(view.jpeg, np.uint8), cv2.IMREAD_COLOR)
            assert image.shape == (view.height, view.width, 3) and view.frame_index == 40

        # A restarted worker is run 2: its track ids start past run 1's, so no tracklet is overwritten.
        rerun = runner.invoke(
            app,
            [
                "worker", "--camera", cameras[0], "--embedder", "colourhog", "--no-realtime",
                "--oracle-gt", str(smoke_scene / "mot" / cameras[0] / "gt" / "gt.txt"),
            ],
            env=env,
        )  # fmt: skip
        assert rerun.exit_code == 0, rerun.output
        summary = json.loads(rerun.stdout.strip().splitlines()[-1])
        assert summary["run"] == 2
        wait_until(lambda: stream_drained(client, redis_prefix), "the associator drained the rerun")
        assert store.counts().tracklets == published + summary["tracklets"]
        rerun_ids = [
            t.local_track_id
            for i in store.list_identities(IdentityQuery(camera=cameras[0], limit=1000)).items
            for t in store.tracklets_of(i.global_id)
            if t.camera_id == cameras[0]
        ]
        assert sum(tid > TRACK_ID_STRIDE for tid in rerun_ids) == summary["tracklets"]
    finally:
        client.close()
    associator.send_signal(signal.SIGTERM)
    assert associator.wait(timeout=WAIT_S) == 0, associator.stderr.read().decode()


def test_a_worker_for_an_unknown_camera_says_how_to_add_it(
    redis_url: str, redis_prefix: str, redis_store_factory
) -> None:
    redis_store_factory(redis_prefix)  # wiped afterwards
    env = {"REDIS_URL": redis_url, "CROSSCAM_REDIS_PREFIX": redis_prefix}
    result = runner.invoke(app, ["worker", "--camera", "cam99", "--embedder", "colourhog"], env=env)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert "camera 'cam99' is not registered" in result.stderr and "POST /api/v1/cameras" in result.stderr


def test_scale_out_processes_need_a_redis_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("CROSSCAM_REDIS_URL", raising=False)
    for command in (["worker", "--camera", "cam01"], ["associator"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
        assert "needs a Redis server: pass --redis-url" in result.stderr
    unreachable = runner.invoke(app, ["associator", "--redis-url", "redis://:hunter2@127.0.0.1:1/0"])
    assert unreachable.exit_code == 2 and "cannot be reached" in unreachable.stderr
    assert "hunter2" not in unreachable.output


def test_sigterm_flushes_the_live_tracks_and_exits_0(
    smoke_scene: Path, redis_url: str, redis_prefix: str, redis_store_factory, processes
) -> None:
    store = redis_store_factory(redis_prefix)
    camera = register_cameras(store, smoke_scene)[1]
    env = {"REDIS_URL": redis_url, "CROSSCAM_REDIS_PREFIX": redis_prefix}
    gt = smoke_scene / "mot" / camera / "gt" / "gt.txt"
    # --realtime: the 40 frames take 4 s, so the worker is stopped mid-file with tracks still live
    worker = crosscam(
        ["worker", "--camera", camera, "--embedder", "colourhog", "--oracle-gt", str(gt)], env, processes
    )

    def processed() -> int:
        status = store.get_camera_status(camera)
        return status.frames_processed if status else 0

    wait_until(lambda: processed() >= 15, "the worker processed 15 frames")
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=WAIT_S)
    assert worker.returncode == 0, err.decode()
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["state"] == "stopped" and 15 <= summary["frames"] < 40
    client = redis.Redis.from_url(redis_url)
    try:
        entries = client.xrange(tracklet_stream(redis_prefix))
    finally:
        client.close()
    assert len(entries) == summary["emissions"] > 0  # the flushed tracks were published before exiting
    assert all(decode_tracklet(i.decode(), f).tracklet.final for i, f in entries)
    status = store.get_camera_status(camera)
    assert status.state == "stopped" and status.frames_processed == summary["frames"]


def test_a_source_that_fails_marks_the_camera_failed(
    redis_url: str, redis_prefix: str, redis_store_factory, tmp_path: Path
) -> None:
    store = redis_store_factory(redis_prefix)
    broken = tmp_path / "cam01.mp4"
    broken.write_bytes(b"\x00\x01 not a video" * 100)
    store.put_camera(CameraRecord(camera_id="cam01", url=broken.as_uri(), added_wall=time.time()))
    env = {"REDIS_URL": redis_url, "CROSSCAM_REDIS_PREFIX": redis_prefix}
    result = runner.invoke(app, ["worker", "--camera", "cam01", "--embedder", "colourhog"], env=env)
    assert result.exit_code == 1 and "Traceback" not in result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: camera cam01: ") and str(broken) in line
    status = store.get_camera_status("cam01")
    assert status.state == "failed" and str(broken) in status.last_error
