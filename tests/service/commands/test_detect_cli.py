"""``crosscam detect``: the product's detector over a folder of images or a video, as a CSV; bad input is one
line and loses nothing else."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from service.cli import app
from trackers.detection import DetectorConfig

runner = CliRunner()
SHIPPED = DetectorConfig.from_yaml().weights
SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
COCO_TFLITE = SHARED / "weights" / "yolov8n_coco_int8.tflite"
needs_weights = pytest.mark.skipif(not SHIPPED.is_file(), reason=f"{SHIPPED} not trained yet")


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@needs_weights
def test_a_folder_of_images_gives_one_row_per_box_and_a_bad_image_is_skipped(
    smoke_scene: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    capture = cv2.VideoCapture(str(smoke_scene / "cam01.mp4"))
    for k in range(3):
        cv2.imwrite(str(folder / f"f{k}.jpg"), capture.read()[1])
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "boxes.csv"
    result = runner.invoke(app, ["detect", "--images", str(folder), "--out", str(out)])
    assert result.exit_code == 1, result.output  # some boxes written, one image skipped
    assert "broken.jpg" in result.stderr and "cannot be decoded as an image" in result.stderr
    found = rows(out)
    assert list(found[0]) == ["file", "x1", "y1", "x2", "y2", "score", "label"]
    assert {r["file"] for r in found} <= {"f0.jpg", "f1.jpg", "f2.jpg"} and len(found) >= 3
    for r in found:
        assert 0 <= float(r["x1"]) < float(r["x2"]) <= 640 and 0.25 <= float(r["score"]) <= 1


@needs_weights
def test_a_video_gives_rows_by_frame_number(smoke_scene: Path, tmp_path: Path) -> None:
    out = tmp_path / "video.csv"
    args = ["detect", "--video", str(smoke_scene / "cam02.mp4"), "--max-frames", "5", "--out", str(out)]
    result = runner.invoke(app, [*args, "--confidence", "0.5"])
    assert result.exit_code == 0, result.output
    found = rows(out)
    assert found and {int(r["file"]) for r in found} <= set(range(1, 6))
    assert min(float(r["score"]) for r in found) >= 0.5


@pytest.mark.skipif(not COCO_TFLITE.is_file(), reason="no COCO teacher in ../shared/data")
def test_coco_weights_label_boxes_with_their_vehicle_types(tmp_path: Path) -> None:
    out = tmp_path / "coco.csv"
    gold = SHARED / "real" / "gold" / "depan_jalan2" / "images"
    folder = tmp_path / "two"
    folder.mkdir()
    for image in sorted(gold.glob("*.jpg"))[:2]:
        (folder / image.name).symlink_to(image)
    args = [
        "detect",
        "--images",
        str(folder),
        "--out",
        str(out),
        "--weights",
        str(COCO_TFLITE),
        "--imgsz",
        "640",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    labels = {r["label"] for r in rows(out)}
    assert "motorcycle" in labels and labels <= {"car", "motorcycle", "bus", "truck"}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([], "exactly one of --images DIR and --video FILE"),
        (["--images", "/nonexistent"], "is not a folder"),
        (["--video", "/nonexistent.mp4"], "not found"),
        (["--images", ".", "--weights", "/nonexistent.pt"], "no image"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    result = runner.invoke(app, ["detect", "--out", str(tmp_path / "o.csv"), *args])
    assert result.exit_code == 2 and needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_weights_of_another_task_are_one_line(tmp_path: Path, smoke_scene: Path) -> None:
    from ultralytics import YOLO

    weights = tmp_path / "classifier.pt"
    YOLO("yolov8n-cls.yaml").save(weights)
    result = runner.invoke(
        app,
        [
            "detect",
            "--video",
            str(smoke_scene / "cam01.mp4"),
            "--out",
            str(tmp_path / "o.csv"),
            "--weights",
            str(weights),
        ],
    )
    assert result.exit_code == 2 and "is a classify model" in result.stderr
