"""Distillation fixtures: small clips written here (a car driving over a fixed background), the real footage
and the COCO teacher of ../shared/data when present."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared" / "data"
COCO_TFLITE = SHARED / "weights" / "yolov8n_coco_int8.tflite"
SIZE = (320, 240)  # width, height px
FPS = 10.0


def background() -> np.ndarray:
    """(H, W, 3) a grey road with a kerb and a fixed dark bar (scenery)."""
    image = np.full((SIZE[1], SIZE[0], 3), 120, dtype=np.uint8)
    image[180:, :] = 90
    cv2.rectangle(image, (20, 20), (60, 40), (40, 40, 40), -1)
    return image


def car_box(k: int) -> tuple[int, int, int, int]:
    """The moving car's box (x1, y1, x2, y2) px in frame k (0-based): 6 px per frame to the right."""
    x = 10 + 6 * k
    return x, 100, x + 50, 130


def write_clip(path: Path, frames: int, with_car: bool = True) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    for k in range(frames):
        image = background()
        if with_car:
            x1, y1, x2, y2 = car_box(k)
            cv2.rectangle(image, (x1, y1), (x2, y2), (30, 30, 200), -1)
        writer.write(image)
    writer.release()
    return path


@pytest.fixture(scope="session")
def car_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clips") / "car.mp4", 40)


@pytest.fixture(scope="session")
def clip_writer():
    """write_clip(path, frames, with_car=True) -> path: a 320x240, 10 fps clip of a car over a fixed road."""
    return write_clip


@pytest.fixture(scope="session")
def teacher_weights() -> Path:
    if not COCO_TFLITE.is_file() or importlib.util.find_spec("ai_edge_litert") is None:
        pytest.skip("the COCO teacher (../shared/data/weights) or its runtime (crosscam[tflite]) is absent")
    return COCO_TFLITE
