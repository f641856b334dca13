from __future__ import annotations

from pathlib import Path

import numpy as np
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


SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
REAL_25FPS = SHARED / "videos" / "degirum" / "Traffic2.mp4"  # a real junction camera, 25 fps, 14.5 s


@pytest.fixture(scope="module")
def town_30s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three town cameras, 30 s at 10 fps: long enough that a track's first frames weigh little in IDF1."""
    from synth.config import load_scene_config
    from synth.scene import generate_scene

    out = tmp_path_factory.mktemp("town") / "scene"
    generate_scene(
        load_scene_config("default", seed=3, smoke=True, overrides=["duration_s=30"]), out, progress=False
    )
    return out


def _track(videos: list[Path], out: Path, *options: str) -> None:
    args = ["track", "--out", str(out), *options]
    for video in videos:
        args += ["--video", str(video)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output


def _idf1_on_processed_frames(scene: Path, results: Path) -> float:
    """Mean IDF1 over the cameras, each scored on the frames it processed (the ground truth of skipped
    frames left out)."""
    from trackers.metrics import MOTBoxes, score_mot

    scores = []
    for cam in ("cam01", "cam02", "cam03"):
        gt = read_mot(scene / "mot" / cam / "gt" / "gt.txt", ground_truth=True)
        pred = read_mot(results / f"{cam}.txt", ground_truth=False)
        step = int(np.median(np.diff(np.unique(pred.frame_id))))
        processed = (gt.frame_id - 1) % step == 0  # the reader keeps frames 1, 1 + step, ...
        kept = MOTBoxes(
            gt.frame_id[processed], gt.obj_id[processed], gt.xywh[processed], gt.confidence[processed]
        )
        scores.append(score_mot(kept, pred).idf1)
    return float(np.mean(scores))


@pytest.mark.slow
@pytest.mark.skipif(not SHIPPED.is_file(), reason=f"{SHIPPED} not trained yet")
def test_the_town_tracked_at_lower_processing_rates_keeps_its_idf1(town_30s: Path, tmp_path: Path) -> None:
    videos = [town_30s / f"cam0{i}.mp4" for i in (1, 2, 3)]
    idf1 = {}
    for rate in ("10", "5", "2.5"):
        _track(videos, tmp_path / rate, "--process-fps", rate)
        idf1[rate] = _idf1_on_processed_frames(town_30s, tmp_path / rate)
    assert idf1["10"] > 0.75, idf1
    assert idf1["5"] >= 0.9 * idf1["10"] and idf1["2.5"] >= 0.9 * idf1["10"], idf1


@pytest.mark.slow
@pytest.mark.skipif(
    not REAL_25FPS.is_file() or not SHIPPED.is_file(), reason="no real 25 fps clip or weights"
)
def test_a_real_25fps_clip_at_5fps_keeps_its_confirmed_tracks(tmp_path: Path) -> None:
    tracks = {}
    for name, options in {"full": ["--all-frames"], "5": ["--process-fps", "5"]}.items():
        out = tmp_path / f"{name}.txt"
        _track([REAL_25FPS], out, *options)
        rows = read_mot(out, ground_truth=False)
        tracks[name] = len(np.unique(rows.obj_id))
    assert tracks["full"] >= 10, tracks  # a busy junction: cars and motorbikes through the whole clip
    assert tracks["5"] >= 0.8 * tracks["full"], tracks
