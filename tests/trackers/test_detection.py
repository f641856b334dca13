"""The YOLO detector wrapper: config contract, clear errors for bad weights, real detections, ONNX parity."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from trackers.config import ConfigError
from trackers.detection import DetectorConfig, DetectorError, YoloDetector
from trackers.metrics.mot import iou_matrix
from trackers.types import Frame

SHIPPED = DetectorConfig.from_yaml().weights
needs_weights = pytest.mark.skipif(
    not SHIPPED.is_file(), reason=f"{SHIPPED} not trained yet (crosscam train detector)"
)


def test_shipped_yaml_sets_every_key_and_every_key_is_documented() -> None:
    keys = set(yaml.safe_load(DetectorConfig.default_path().read_text()))
    assert keys == set(DetectorConfig.model_fields)
    assert all(f.description for f in DetectorConfig.model_fields.values())


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("missing.pt", None, "do not exist"),
        ("model.bin", b"x", "in no format ultralytics runs"),
        ("corrupt.pt", b"\x00not a model" * 100, "not a readable ultralytics detection model"),
    ],
)
def test_bad_weights_give_one_clear_error(
    tmp_path: Path, name: str, content: bytes | None, needle: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DetectorError, match=needle) as err:
        YoloDetector(DetectorConfig.from_yaml(weights=path))
    assert str(path) in str(err.value)


def test_bad_config_value_names_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "det.yaml"
    cfg.write_text(DetectorConfig.default_path().read_text().replace("confidence: 0.25", "confidence: 3"))
    with pytest.raises(ConfigError, match="confidence"):
        DetectorConfig.from_yaml(cfg)


def _frames_with_truth(scene: Path, camera: str, every: int = 8) -> list[tuple[Frame, np.ndarray]]:
    gt = np.loadtxt(scene / "mot" / camera / "gt" / "gt.txt", delimiter=",", ndmin=2)
    cap = cv2.VideoCapture(str(scene / f"{camera}.mp4"))
    out, index = [], 0
    while True:
        ok, image = cap.read()
        if not ok:
            break
        index += 1
        if index % every == 1:
            rows = gt[(gt[:, 0] == index) & (gt[:, 5] >= 20)]  # boxes at least 20 px tall
            xyxy = np.column_stack([rows[:, 2:4], rows[:, 2:4] + rows[:, 4:6]])
            out.append((Frame(camera, index, index / 10.0, image), xyxy))
    return out


def _iou(a_xyxy: np.ndarray, b_xyxy: np.ndarray) -> np.ndarray:
    def xywh(x: np.ndarray) -> np.ndarray:
        return np.column_stack([x[:, :2], x[:, 2:] - x[:, :2]])

    return iou_matrix(xywh(a_xyxy), xywh(b_xyxy))


@needs_weights
def test_shipped_detector_finds_the_vehicles_of_an_unseen_scene(smoke_scene: Path) -> None:
    detector = YoloDetector(DetectorConfig.from_yaml())
    found = total = 0
    for frame, truth in _frames_with_truth(smoke_scene, "cam01", every=2) + _frames_with_truth(
        smoke_scene, "cam03", every=2
    ):
        det = detector.detect(frame)
        assert det.camera_id == frame.camera_id and det.frame_index == frame.frame_index
        total += len(truth)
        if len(truth) and len(det):
            found += int((_iou(truth, det.xyxy).max(axis=1) >= 0.5).sum())
    assert total > 30
    assert found / total >= 0.8, f"recall {found}/{total}"


@needs_weights
def test_onnx_export_gives_the_same_detections(smoke_scene: Path, tmp_path: Path) -> None:
    from export.detector import export_detector

    onnx = export_detector(SHIPPED, tmp_path / "det.onnx")
    torch_det = YoloDetector(DetectorConfig.from_yaml())
    onnx_det = YoloDetector(DetectorConfig.from_yaml(weights=onnx))
    compared = 0
    for frame, _ in _frames_with_truth(smoke_scene, "cam02", every=10):
        a, b = torch_det.detect(frame), onnx_det.detect(frame)
        confident = a.confidence > 0.5
        if not confident.any():
            continue
        assert len(b), "ONNX Runtime found nothing where torch did"
        iou = _iou(a.xyxy[confident], b.xyxy)
        best = iou.argmax(axis=1)
        assert (iou.max(axis=1) > 0.95).all()
        assert np.abs(a.confidence[confident] - b.confidence[best]).max() < 0.02
        compared += int(confident.sum())
    assert compared > 10


SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
COCO_TFLITE = SHARED / "weights" / "yolov8n_coco_int8.tflite"


@needs_weights
def test_a_one_class_model_labels_its_detections_with_its_class_name(smoke_scene: Path) -> None:
    detector = YoloDetector(DetectorConfig.from_yaml())
    frame, _ = _frames_with_truth(smoke_scene, "cam01", every=40)[0]
    det = detector.detect(frame)
    assert len(det) and set(det.labels) == {detector.names[0]}


@pytest.mark.skipif(
    not COCO_TFLITE.is_file() or not (SHARED / "videos").is_dir(),
    reason="the COCO teacher or the real videos of ../shared/data are absent",
)
def test_coco_weights_find_cars_on_real_traffic_video_by_class_name() -> None:
    detector = YoloDetector(DetectorConfig.from_yaml(weights=COCO_TFLITE, imgsz=640, confidence=0.1))
    cap = cv2.VideoCapture(str(SHARED / "videos" / "intel-sample-videos" / "car-detection.mp4"))
    labels = []
    for index in range(1, 121):
        ok, image = cap.read()
        assert ok
        det = detector.detect(Frame("real", index, index / 12.5, image))
        assert np.array_equal(det.labels, [detector.names[int(c)] for c in det.class_id])
        labels.extend(det.labels)
    assert labels.count("car") >= 10  # a few cars drive through in these 10 s
    assert set(labels) <= {"car", "truck", "bus", "motorcycle"}
