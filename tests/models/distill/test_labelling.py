"""Pseudo-labelling clips with the real COCO teacher: labels written, bad clips skipped with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.distill.clips import ClipError, probe_clip
from models.distill.config import load_distill_config
from models.distill.dataset import DatasetWriter
from models.distill.labelling import DistillDataError, Keyframe, label_clip, pseudo_label, repeat_factors
from models.distill.teacher import TiledTeacher, tile_rects

REAL_CLIP = Path(__file__).resolve().parents[3].parent / "shared/data/real/clips/otvision_cars_truck.mp4"
CFG = load_distill_config(smoke=True)


@pytest.fixture(scope="module")
def teacher(teacher_weights: Path) -> TiledTeacher:
    return TiledTeacher(teacher_weights, CFG.teacher, "cpu")


def test_tiles_cover_the_frame_with_the_overlap_asked_for() -> None:
    rects = tile_rects(640, 480, 2, 0.25)
    assert rects == [(0, 0, 366, 274), (274, 0, 640, 274), (0, 206, 366, 480), (274, 206, 640, 480)]
    assert tile_rects(640, 480, 1, 0.25) == []


def test_rare_types_are_repeated_by_the_square_root_rule() -> None:
    keyframes = [Keyframe(f"k{i}", "train", frozenset({"car"})) for i in range(96)]
    keyframes += [Keyframe(f"m{i}", "train", frozenset({"car", "motorcycle"})) for i in range(4)]
    # motorcycle in 4 % of keyframes: factor sqrt(0.3 / 0.04) = 2.7 -> 3 copies in all, 2 more.
    assert repeat_factors(keyframes, 0.3) == {f"m{i}": 2 for i in range(4)}
    assert repeat_factors(keyframes, 0.0) == {}


@pytest.mark.skipif(not REAL_CLIP.is_file(), reason="the real clips of ../shared/data are absent")
def test_a_real_clip_is_pseudo_labelled_into_images_and_labels(teacher: TiledTeacher, tmp_path: Path) -> None:
    writer = DatasetWriter(tmp_path, CFG.classes)
    report, keyframes, _ = label_clip(probe_clip(REAL_CLIP), teacher.label, CFG, writer)
    assert report["keyframes"] == len(keyframes) >= 2 and report["labels_kept"] >= 2
    assert len(report["sha256"]) == 64 and set(report["boxes_by_verdict"]) <= {
        "sure", "supported", "parked", "flicker", "static", "unsure_static", "small", "huge", "nested",
    }  # fmt: skip
    for keyframe in keyframes:
        assert (tmp_path / "images" / keyframe.split / f"{keyframe.name}.jpg").is_file()
        lines = (tmp_path / "labels" / keyframe.split / f"{keyframe.name}.txt").read_text().splitlines()
        assert all(line.startswith("0 ") and len(line.split()) == 5 for line in lines)


def test_a_clip_where_the_teacher_finds_nothing_is_skipped_and_leaves_nothing(
    teacher: TiledTeacher, tmp_path: Path, clip_writer
) -> None:
    empty = clip_writer(tmp_path / "empty_road.mp4", 30, with_car=False)
    writer = DatasetWriter(tmp_path / "set", CFG.classes)
    with pytest.raises(ClipError, match=r"the teacher found no vehicle in .*empty_road\.mp4"):
        label_clip(probe_clip(empty), teacher.label, CFG, writer)
    assert not any((tmp_path / "set" / "images" / "train").iterdir())


def test_bad_clips_are_skipped_with_their_reason_and_none_left_is_an_error(
    teacher: TiledTeacher, tmp_path: Path, clip_writer
) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"garbage" * 100)
    empty = clip_writer(tmp_path / "empty.mp4", 30, with_car=False)
    writer = DatasetWriter(tmp_path / "set", CFG.classes)
    with pytest.raises(
        DistillDataError, match=r"no real clip could be pseudo-labelled .*broken\.mp4.*empty\.mp4"
    ):
        pseudo_label([broken, empty], teacher.label, CFG, writer)
    if REAL_CLIP.is_file():
        result = pseudo_label([broken, REAL_CLIP], teacher.label, CFG, writer)
        assert [("skipped" in c) for c in result.clips] == [True, False]
        assert "cannot decode" in result.clips[0]["skipped"] and result.used[0]["labels_kept"] > 0
