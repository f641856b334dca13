"""`crosscam run` end to end on the smoke scene, and its errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from trackers.association import Associator
from trackers.detection import DetectorConfig
from trackers.metrics import read_mtmc, score_mtmc

runner = CliRunner()
SHIPPED = DetectorConfig.from_yaml().weights


def test_oracle_run_scores_and_snapshots(smoke_scene: Path, tmp_path: Path) -> None:
    out, report, state = tmp_path / "pred.txt", tmp_path / "report.json", tmp_path / "state"
    args = ["run", "--scene", str(smoke_scene), "--out", str(out), "--oracle", "--embedder", "colourhog"]
    result = runner.invoke(app, [*args, "--refine", "--report", str(report), "--snapshot", str(state)])
    assert result.exit_code == 0, result.output
    pred = read_mtmc(out, ground_truth=False)
    gt = read_mtmc(smoke_scene / "gt" / "gt.txt", ground_truth=True)
    # every written identity was seen by two or more cameras (the CityFlow protocol)
    for gid in set(pred.obj_id.tolist()):
        assert len(set(pred.camera_id[pred.obj_id == gid].tolist())) >= 2
    assert set(pred.camera_id.tolist()) <= {1, 2, 3}
    assert score_mtmc(gt, pred).idf1 > 0.8  # ground-truth boxes: only tracking and association can fail
    summary = json.loads(report.read_text())
    assert summary["refined"] and summary["rows_written"] == len(pred)
    assert set(summary["cameras"]) == {"cam01", "cam02", "cam03"}
    restored = Associator.restore(state)
    assert len(restored.tracklets) == summary["tracklets"]
    # `crosscam eval mtmc` reads the same file
    scored = runner.invoke(
        app, ["eval", "mtmc", "--gt", str(smoke_scene / "gt" / "gt.txt"), "--pred", str(out), "--json"]
    )
    assert scored.exit_code == 0 and json.loads(scored.stdout)["idf1"] == pytest.approx(
        score_mtmc(gt, pred).idf1
    )


def test_all_identities_writes_single_camera_vehicles_too(smoke_scene: Path, tmp_path: Path) -> None:
    base = ["run", "--scene", str(smoke_scene), "--oracle", "--embedder", "colourhog", "--max-frames", "20"]
    assert runner.invoke(app, [*base, "--out", str(tmp_path / "multi.txt")]).exit_code == 0
    assert runner.invoke(app, [*base, "--out", str(tmp_path / "all.txt"), "--all-identities"]).exit_code == 0
    everyone = read_mtmc(tmp_path / "all.txt", ground_truth=False)
    multi = read_mtmc(tmp_path / "multi.txt", ground_truth=False)
    assert len(everyone) > len(multi) and everyone.frame_id.max() <= 20


@pytest.mark.skipif(not SHIPPED.is_file(), reason=f"{SHIPPED} not trained yet")
def test_detector_run_writes_predictions(smoke_scene: Path, tmp_path: Path) -> None:
    out = tmp_path / "pred.txt"
    args = [
        "run",
        "--scene",
        str(smoke_scene),
        "--out",
        str(out),
        "--embedder",
        "colourhog",
        "--max-frames",
        "15",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert out.is_file() and "identities" in result.output


def test_errors_are_one_line(tmp_path: Path, smoke_scene: Path) -> None:
    missing = runner.invoke(app, ["run", "--scene", str(tmp_path / "nope"), "--out", str(tmp_path / "p.txt")])
    assert missing.exit_code == 2 and "no such scene folder" in missing.stderr
    empty = runner.invoke(app, ["run", "--scene", str(tmp_path), "--out", str(tmp_path / "p.txt")])
    assert empty.exit_code == 2 and "no cam*.mp4 videos" in empty.stderr
    bad_config = tmp_path / "assoc.yaml"
    bad_config.write_text("similarity_threshold: 3\n")
    result = runner.invoke(
        app,
        [
            "run",
            "--scene",
            str(smoke_scene),
            "--out",
            str(tmp_path / "p.txt"),
            "--association-config",
            str(bad_config),
        ],
    )
    assert result.exit_code == 2 and str(bad_config) in result.stderr
    assert "Traceback" not in result.output


def test_corrupt_camera_video_is_named(tmp_path: Path, smoke_scene: Path) -> None:
    scene = tmp_path / "scene"
    shutil.copytree(smoke_scene, scene, ignore=shutil.ignore_patterns("masks", "yolo", "reid"))
    (scene / "cam02.mp4").write_bytes(b"\x00garbage" * 100)
    result = runner.invoke(app, ["run", "--scene", str(scene), "--out", str(tmp_path / "p.txt"), "--oracle"])
    assert result.exit_code == 2 and "cam02.mp4" in result.stderr


def test_calibration_is_optional_and_a_bad_one_is_named(tmp_path: Path, smoke_scene: Path) -> None:
    scene = tmp_path / "scene"
    shutil.copytree(smoke_scene, scene, ignore=shutil.ignore_patterns("masks", "yolo", "reid", "calibration"))
    args = [
        "run",
        "--scene",
        str(scene),
        "--out",
        str(tmp_path / "p.txt"),
        "--oracle",
        "--embedder",
        "colourhog",
    ]
    # without ground positions association still runs, on time and appearance alone; world columns are -1
    assert runner.invoke(app, args).exit_code == 0
    pred = read_mtmc(tmp_path / "p.txt", ground_truth=False)
    assert len(pred) == 0 or (pred.world_xy == -1).all()
    (scene / "calibration").mkdir()
    (scene / "calibration" / "cam01.json").write_text("{bad")
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "cam01.json: not a calibration file" in result.stderr
