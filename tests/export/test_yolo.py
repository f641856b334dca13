"""The ultralytics runtime: formats and their runtimes, vehicle classes by name, riders, clear errors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from export.yolo import Boxes, DetectorError, YoloRuntime, weights_format
from trackers.metrics.detection import match_image
from trackers.metrics.gold import read_gold_set

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "models" / "weights" / "detector_yolov8n.pt"
SHARED = REPO.parent / "shared" / "data"
COCO_TFLITE = SHARED / "weights" / "yolov8n_coco_int8.tflite"
VEHICLES = ["car", "truck", "bus", "motorcycle"]

needs_coco = pytest.mark.skipif(
    not COCO_TFLITE.is_file() or importlib.util.find_spec("ai_edge_litert") is None,
    reason="the COCO teacher (../shared/data/weights) or its runtime (crosscam[tflite]) is absent",
)


def _save_untrained(path: Path, yaml_name: str, names: dict[int, str] | None = None) -> Path:
    from ultralytics import YOLO
    from ultralytics.nn.tasks import DetectionModel

    model = YOLO(yaml_name)
    if names is not None:
        model.model = DetectionModel(yaml_name, nc=len(names), verbose=False)
        model.model.names = names
    model.save(path)
    return path


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("det.pt", "pt"),
        ("det.onnx", "onnx"),
        ("det.engine", "engine"),
        ("det.torchscript", "torchscript"),
        ("det_int8.tflite", "litert"),
        ("det_openvino_model", "openvino"),
        ("det_ncnn_model", "ncnn"),
    ],
)
def test_the_format_comes_from_the_suffix_or_folder_name(name: str, fmt: str) -> None:
    assert weights_format(Path(name)) == fmt


def test_a_file_of_no_ultralytics_format_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"x")
    with pytest.raises(DetectorError, match=r"model\.bin are in no format ultralytics runs"):
        YoloRuntime(path, "cpu", VEHICLES, True, 416)


@pytest.mark.skipif(importlib.util.find_spec("openvino") is not None, reason="OpenVINO is installed here")
def test_a_missing_runtime_names_the_pip_extra(tmp_path: Path) -> None:
    folder = tmp_path / "det_openvino_model"
    folder.mkdir()
    with pytest.raises(DetectorError, match=r"openvino runtime .*pip install 'crosscam\[openvino\]'"):
        YoloRuntime(folder, "cpu", VEHICLES, True, 416)


def test_weights_of_another_task_are_refused(tmp_path: Path) -> None:
    weights = _save_untrained(tmp_path / "classifier.pt", "yolov8n-cls.yaml")
    with pytest.raises(DetectorError, match="is a classify model; a detection model"):
        YoloRuntime(weights, "cpu", VEHICLES, True, 64)


def test_a_model_without_vehicle_classes_lists_its_names(tmp_path: Path) -> None:
    weights = _save_untrained(tmp_path / "pets.pt", "yolov8n.yaml", {0: "cat", 1: "dog"})
    with pytest.raises(
        DetectorError, match=r"no class named car, truck, bus, motorcycle \(their classes: cat, dog\)"
    ):
        YoloRuntime(weights, "cpu", VEHICLES, True, 64)


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped detector")
def test_a_one_class_model_passes_through_whatever_its_class_is_called() -> None:
    runtime = YoloRuntime(SHIPPED, "cpu", ["lorry"], True, 416)
    assert runtime.vehicle_ids == list(runtime.names)


def test_boxes_shift_concat_and_subset_keep_their_columns() -> None:
    a = Boxes(
        np.array([[0, 0, 2, 2]], np.float32), np.array([0.5], np.float32), np.array([2]), np.array(["car"])
    )
    b = a.shifted(10, 20)
    assert b.xyxy.tolist() == [[10, 20, 12, 22]]
    both = Boxes.concat([a, b])
    assert len(both) == 2 and both.subset(np.array([1])).labels.tolist() == ["car"]
    assert len(Boxes.concat([])) == 0


@needs_coco
def test_a_coco_model_works_by_class_names_and_reports_vehicle_types() -> None:
    runtime = YoloRuntime(COCO_TFLITE, "cpu", VEHICLES, True, 640)
    assert sorted(runtime.names[i] for i in runtime.vehicle_ids) == sorted(VEHICLES)
    capture = cv2.VideoCapture(str(SHARED / "videos" / "degirum" / "Traffic.mp4"))
    images = [capture.read()[1] for _ in range(5)]
    found = runtime.predict(images, 640, 0.05, 0.6, 100)  # far, small cars: the COCO model is unsure of them
    labels = {label for boxes in found for label in boxes.labels}
    assert "car" in labels and labels <= set(VEHICLES)
    assert sum(len(b) for b in found) >= 15  # a busy motorway: 4-8 cars in every frame


@needs_coco
@pytest.mark.skipif(
    not (SHARED / "real" / "gold" / "depan_jalan2").is_dir(), reason="no depan_jalan2 gold set"
)
def test_riders_joined_to_their_motorcycles_match_hand_drawn_boxes() -> None:
    gold = read_gold_set(SHARED / "real" / "gold" / "depan_jalan2")
    hits = {}
    for merge in (False, True):
        runtime = YoloRuntime(COCO_TFLITE, "cpu", VEHICLES, merge, 640)
        hits[merge] = 0
        for path in gold.images[:8]:
            boxes = runtime.predict([cv2.imread(str(path))], 640, 0.25, 0.6, 100)[0]
            hits[merge] += int(match_image(gold.boxes[path.name], boxes.xyxy, boxes.confidence).sum())
    # Hand-drawn two-wheelers include their riders: joined boxes match many more of them.
    assert hits[True] >= hits[False] + 5, hits
