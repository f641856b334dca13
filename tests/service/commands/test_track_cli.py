from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from trackers.detection import DetectorConfig
from trackers.metrics import read_mot

runner = CliRunner()
SHIPPED = DetectorConfig.from_yaml().weights


@pytest.mark.parametrize(
    ("video", "needle"),
    [("/nonexistent/cam.mp4", "not found"), ("ftp://host/stream", "unsupported URL scheme 'ftp'")],
)
def test_bad_sources_are_one_line_errors(tmp_path: Path, video: str, needle: str) -> None:
    result = runner.invoke(app, ["track", "--video", video, "--out", str(tmp_path / "o.txt")])
    assert result.exit_code == 2
    assert needle in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_corrupt_video_is_explained(tmp_path: Path) -> None:
    bad = tmp_path / "cam.mp4"
    bad.write_bytes(b"\x00\x01garbage" * 200)
    result = runner.invoke(app, ["track", "--video", str(bad), "--out", str(tmp_path / "o.txt")])
    assert result.exit_code == 2 and str(bad) in result.stderr


@pytest.mark.skipif(not SHIPPED.is_file(), reason=f"{SHIPPED} not trained yet")
def test_track_writes_mot_rows(smoke_scene: Path, tmp_path: Path) -> None:
    out = tmp_path / "cam01.txt"
    result = runner.invoke(app, ["track", "--video", str(smoke_scene / "cam01.mp4"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = read_mot(out, ground_truth=False)
    assert len(rows) > 0 and rows.frame_id.max() <= 40


@pytest.mark.skipif(not SHIPPED.is_file(), reason=f"{SHIPPED} not trained yet")
def test_track_several_cameras_writes_one_file_each(smoke_scene: Path, tmp_path: Path) -> None:
    args = ["track", "--out", str(tmp_path), "--max-frames", "15"]
    for cam in ("cam01", "cam03"):
        args += ["--video", str(smoke_scene / f"{cam}.mp4")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    for cam in ("cam01", "cam03"):
        assert read_mot(tmp_path / f"{cam}.txt", ground_truth=False).frame_id.max() <= 15


def test_camera_ids_must_match_videos(tmp_path: Path, smoke_scene: Path) -> None:
    video = str(smoke_scene / "cam01.mp4")
    result = runner.invoke(
        app,
        [
            "track",
            "--video",
            video,
            "--video",
            video,
            "--out",
            str(tmp_path),
            "--camera-id",
            "a",
            "--camera-id",
            "a",
        ],
    )
    assert result.exit_code == 2 and "distinct --camera-id" in result.stderr
