"""Finding clips, probing them, planning their keyframes, reading chosen frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.distill.clips import ClipError, ClipInfo, find_clips, plan_keyframes, probe_clip, read_frames
from models.distill.config import load_distill_config

FPS = 10.0  # the fixtures' clips


def info(fps: float, frames: int) -> ClipInfo:
    return ClipInfo(Path("cam/clip.mp4"), fps, frames, (640, 360), "0" * 64)


def test_keyframes_every_half_second_with_a_neighbour_either_side() -> None:
    sampling = load_distill_config().sampling.model_copy(update={"min_keyframes": 1})
    plan = plan_keyframes(info(25.0, 750), sampling)  # 30 s at 25 fps
    assert plan.offset == 5  # 0.2 s
    assert plan.keyframes[:3] == (5, 17, 29) and all(k + 5 < 750 for k in plan.keyframes)  # 0.5 s: 12 frames
    assert len(plan.keyframes) == 62
    assert plan.wanted() == {i for k in plan.keyframes for i in (k - 5, k, k + 5)}


def test_long_clips_are_capped_and_short_ones_sampled_closer() -> None:
    sampling = load_distill_config().sampling
    long = plan_keyframes(info(3.0, 781), sampling)  # NGSIM: 3 fps, 260 s
    assert len(long.keyframes) == sampling.max_keyframes and long.offset == 1
    short = plan_keyframes(info(25.0, 362), sampling)  # 14.5 s: 29 keyframes at 0.5 s would be too few
    assert len(short.keyframes) >= 55
    tiny = plan_keyframes(info(30.0, 20), sampling)  # 20 frames: every frame that has both neighbours
    assert tiny.keyframes == tuple(range(6, 14))


def test_probe_and_read_the_wanted_frames(car_clip: Path) -> None:
    clip = probe_clip(car_clip)
    assert (clip.fps, clip.frame_count, clip.size) == (FPS, 40, (320, 240)) and len(clip.sha256) == 64
    assert [i for i, _ in read_frames(car_clip, {0, 7, 39, 55})] == [0, 7, 39]  # 55 is past the end


def test_a_clip_that_cannot_be_decoded_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x01not a video" * 1000)
    with pytest.raises(ClipError, match=r"cannot decode .*broken\.mp4 as a video.*ffmpeg"):
        probe_clip(bad)


def test_folders_are_searched_for_videos_and_missing_paths_named(tmp_path: Path, clip_writer) -> None:
    (tmp_path / "a").mkdir()
    clip_writer(tmp_path / "a" / "x.mp4", 3)
    (tmp_path / "a" / "notes.txt").write_text("not a clip")
    assert find_clips([tmp_path]) == [tmp_path / "a" / "x.mp4"]
    with pytest.raises(ClipError, match="does not exist"):
        find_clips([tmp_path / "nope.mp4"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ClipError, match="holds no video file"):
        find_clips([tmp_path / "empty"])
