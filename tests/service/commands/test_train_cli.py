"""``crosscam train detector`` in its real-footage mode (distillation from a teacher), at smoke sizes: the
weights and a manifest that records what they were made from; bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from models.manifest import sha256
from service.cli import app

runner = CliRunner()
SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
COCO_TFLITE = SHARED / "weights" / "yolov8n_coco_int8.tflite"
REAL_CLIP = SHARED / "real" / "clips" / "otvision_cars_truck.mp4"
GOLD = SHARED / "real" / "gold" / "depan_jalan2"
needs_footage = pytest.mark.skipif(
    not (COCO_TFLITE.is_file() and REAL_CLIP.is_file() and GOLD.is_dir()),
    reason="the COCO teacher, the real clips or the gold sets of ../shared/data are absent",
)


@pytest.mark.slow
@needs_footage
def test_a_smoke_distillation_writes_weights_and_a_manifest_of_everything_used(
    smoke_scene: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video" * 100)
    out = tmp_path / "student.pt"
    args = [
        "train", "detector", "--smoke", "--teacher", str(COCO_TFLITE), "--real", str(REAL_CLIP), "--real",
        str(broken), "--train-scene", str(smoke_scene), "--val-scene", str(smoke_scene), "--gold", str(GOLD),
        "--out", str(out), "--workdir", str(tmp_path / "work"),
    ]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["sha256"] == sha256(out) and manifest["classes"] == {"0": "vehicle"}
    assert manifest["teacher"]["sha256"] == sha256(COCO_TFLITE)
    used, skipped = manifest["clips"]
    assert used["sha256"] == sha256(REAL_CLIP) and used["labels_kept"] > 0 and used["keyframes"] >= 2
    assert "cannot decode" in skipped["skipped"] and str(broken) in skipped["skipped"]
    assert manifest["images"]["real/train"] >= 1 and manifest["images"]["town/train"] >= 1
    assert manifest["config"]["cleaning"]["sure_confidence"] == 0.5  # every threshold is recorded
    assert set(manifest["metrics"]) == {"pseudo_labelled_val", "real_pseudo_labelled_val", "town_heldout"}
    assert 0 < manifest["metrics"]["real_pseudo_labelled_val"]["best_f1_confidence"] < 1
    assert set(manifest["scores_on_gold"]["depan_jalan2"]) >= {
        "precision",
        "recall",
        "f1",
        "ap50",
        "ms_per_frame",
    }
    assert (tmp_path / "work" / "pseudo_labels.png").is_file()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--teacher", "t.tflite"], "needs both --teacher WEIGHTS and --real CLIP_OR_DIR"),
        (["--real", "clip.mp4"], "needs both --teacher WEIGHTS and --real CLIP_OR_DIR"),
        (["--train-scene", "x"], "town-only mode needs --train-scene and --val-scene"),
        (
            ["--teacher", "t.tflite", "--real", "clip.mp4", "--set", "cleaning.min_support=5"],
            "cleaning.min_support",
        ),
        (["--teacher", "t.tflite", "--real", "/nonexistent/clips"], "does not exist"),
        (["--gold", "/nonexistent/gold"], "is no gold set"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    result = runner.invoke(app, ["train", "detector", "--out", str(tmp_path / "w.pt"), *args])
    assert result.exit_code == 2, result.output
    assert needle in result.stderr and len(result.stderr.strip().splitlines()) == 1


@needs_footage
def test_a_teacher_of_another_task_is_one_line(tmp_path: Path) -> None:
    from ultralytics import YOLO

    teacher = tmp_path / "classifier.pt"
    YOLO("yolov8n-cls.yaml").save(teacher)
    args = [
        "train",
        "detector",
        "--smoke",
        "--teacher",
        str(teacher),
        "--real",
        str(REAL_CLIP),
        "--out",
        str(tmp_path / "w.pt"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "is a classify model" in result.stderr
