from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from service.cli import app
from trackers.metrics import read_mtmc, score_mtmc

runner = CliRunner()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_tracks_the_scene_scores_it_and_reuses_it(tmp_path: Path) -> None:
    args = ["demo", "--out", str(tmp_path), "--smoke", "--seed", "2", "--embedder", "colourhog"]
    first = runner.invoke(app, [*args, "--no-serve"])
    assert first.exit_code == 0, first.output
    assert "generating the default scene" in first.stdout
    assert "online" in first.stdout and "refined" in first.stdout and "IDF1" in first.stdout
    gt = read_mtmc(tmp_path / "scene" / "gt" / "gt.txt", ground_truth=True)
    for mode in ("online", "refined"):
        pred = read_mtmc(tmp_path / f"pred_{mode}.txt", ground_truth=False)
        # the printed IDF1 is the score of the written predictions
        assert f"{score_mtmc(gt, pred).idf1:.4f}" in first.stdout
    assert "Ctrl-C" not in first.stdout  # --no-serve: nothing is served

    # Again, now ending with the service up: it answers while it runs, and stops by itself.
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    answers: dict[str, object] = {}

    def poll() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and "cameras" not in answers:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    answers["cameras"] = httpx.get(f"{base}/api/v1/cameras", timeout=5).json()
            except httpx.TransportError:
                time.sleep(0.2)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    second = runner.invoke(app, [*args, "--port", str(port), "--serve-seconds", "4"])
    poller.join(timeout=5)
    assert second.exit_code == 0, second.output
    assert "reusing the scene" in second.stdout and "IDF1" in second.stdout
    for url in (f"{base}/", f"{base}/docs", f"{base}/metrics"):
        assert url in second.stdout
    assert "Ctrl-C to stop" in second.stdout
    assert [c["camera_id"] for c in answers["cameras"]] == ["cam01", "cam02", "cam03"]


def test_demo_names_a_port_in_use_before_any_work(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["demo", "--out", str(tmp_path), "--smoke", "--port", str(port)])
    assert result.exit_code == 2
    assert f"port {port}" in result.stderr and "already in use" in result.stderr and "--port" in result.stderr
    assert not (tmp_path / "scene").exists()  # failed before generating anything
