"""Training the vehicle detector: ultralytics YOLOv8n from scratch on synthetic-town frames.

Each scene folder written by ``crosscam synth`` holds a detector set in YOLO format (``<scene>/yolo``); training
takes several scenes (both of their splits) and validates on held-out scenes made with other seeds, so the
reported mAP is measured on frames of traffic the model never saw. The weights are small (~6 MB) and are
shipped under ``models/weights/`` with a manifest: sha256, the exact command, the metrics.
"""

from __future__ import annotations

import platform
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

import export  # noqa: F401  (sets ultralytics' no-install default before ultralytics is loaded)
from models.manifest import write_manifest

ARCHITECTURE = "yolov8n.yaml"  # built untrained from ultralytics' own model definition: nothing is downloaded
CLASS_NAMES = {0: "vehicle"}


class TrainingDataError(ValueError):
    """A scene folder that holds no usable detector set."""


def _image_dirs(scene: Path, splits: tuple[str, ...]) -> list[str]:
    yolo = Path(scene) / "yolo"
    if not (yolo / "data.yaml").is_file():
        raise TrainingDataError(
            f"{scene} holds no detector set ({yolo / 'data.yaml'} is missing); "
            f"make one with `crosscam synth --out {scene}`"
        )
    names = yaml.safe_load((yolo / "data.yaml").read_text()).get("names")
    if {int(k): v for k, v in dict(names).items()} != CLASS_NAMES:
        raise TrainingDataError(
            f"{scene}: detector classes are {names}, expected {CLASS_NAMES} (output.yolo_classes)"
        )
    dirs = [str((yolo / "images" / s).resolve()) for s in splits if any((yolo / "images" / s).glob("*.jpg"))]
    if not dirs:
        raise TrainingDataError(f"{scene}: no images under {yolo / 'images'}")
    return dirs


def write_data_yaml(train_scenes: list[Path], val_scenes: list[Path], out: Path) -> Path:
    """An ultralytics data.yaml over several scenes: all images of the training scenes, the val split of the
    held-out ones (ultralytics finds each image's labels by swapping ``images`` for ``labels`` in its path)."""
    data = {
        "train": [d for s in train_scenes for d in _image_dirs(s, ("train", "val"))],
        "val": [d for s in val_scenes for d in _image_dirs(s, ("val",))],
        "names": CLASS_NAMES,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def evaluate_detector(
    weights: Path, data_yaml: Path, imgsz: int, device: str = "cpu", single_cls: bool = False
) -> dict[str, float]:
    """mAP50, mAP50-95, precision and recall of ``weights`` on the val images of ``data_yaml``, and the best F1
    with the confidence it is reached at; ``single_cls``: every class counts as one (vehicle), as for a model
    and a set with different classes."""
    from ultralytics import YOLO

    metrics = YOLO(str(weights)).val(
        data=str(data_yaml),
        imgsz=imgsz,
        batch=16,
        device=device,
        plots=False,
        workers=0,
        verbose=False,
        single_cls=single_cls,
    )
    f1 = np.asarray(metrics.box.f1_curve).reshape(-1, len(metrics.box.px)).mean(axis=0)  # over classes
    best = int(np.argmax(f1))
    return {
        "mAP50": round(float(metrics.box.map50), 4),
        "mAP50-95": round(float(metrics.box.map), 4),
        "precision": round(float(metrics.box.mp), 4),
        "recall": round(float(metrics.box.mr), 4),
        "best_f1": round(float(f1[best]), 4),
        "best_f1_confidence": round(float(metrics.box.px[best]), 3),
    }


def train_yolo(
    data_yaml: Path, init: str | Path, workdir: Path, seed: int, device: str, **train_args: Any
) -> tuple[Path, float]:
    """Train an ultralytics YOLO from ``init`` (a model yaml: from scratch; weights: from them, the head
    rebuilt when the class count differs) on ``data_yaml``; (best weights, seconds). ``train_args``:
    ultralytics train arguments (epochs, time, imgsz, batch, lr0 ...)."""
    from ultralytics import YOLO

    started = time.perf_counter()
    YOLO(str(init)).train(
        data=str(data_yaml),
        device=device,
        workers=train_args.pop("workers", 0),  # 2 cores: data-loading workers only compete with training
        plots=False,  # plotting fetches fonts from the internet
        seed=seed,
        project=str(workdir.resolve()),
        name="run",
        exist_ok=True,
        verbose=False,
        **train_args,
    )
    return workdir / "run" / "weights" / "best.pt", time.perf_counter() - started


def software() -> dict[str, str]:
    from ultralytics import __version__ as ultralytics_version

    return {"ultralytics": ultralytics_version, "python": platform.python_version()}


def train_detector(
    train_scenes: list[Path],
    val_scenes: list[Path],
    out_weights: Path,
    command: str,
    epochs: int = 60,
    imgsz: int = 416,
    batch: int = 16,
    time_hours: float | None = None,
    seed: int = 0,
    device: str = "cpu",
    workdir: Path = Path("runs/train/detector"),
) -> dict[str, Any]:
    """Train YOLOv8n from scratch; copy the best weights to ``out_weights`` and write ``<out>.json`` (manifest).

    ``time_hours`` (optional) bounds the run by wall time: ultralytics then fits the epoch count (and its
    learning-rate schedule) to that budget.
    """
    data_yaml = write_data_yaml(train_scenes, val_scenes, workdir / "data.yaml")
    best, train_seconds = train_yolo(
        data_yaml,
        ARCHITECTURE,
        workdir,
        seed,
        device,
        epochs=epochs,
        time=time_hours,
        imgsz=imgsz,
        batch=batch,
    )
    metrics = evaluate_detector(best, data_yaml, imgsz, device)
    out_weights.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(best, out_weights)
    return write_manifest(
        out_weights,
        {
            "architecture": ARCHITECTURE,
            "classes": CLASS_NAMES,
            "imgsz": imgsz,
            "command": command,
            "train_scenes": [str(s) for s in train_scenes],
            "val_scenes": [str(s) for s in val_scenes],
            "metrics_on_val_scenes": metrics,
            "train_seconds": round(train_seconds, 1),
            "device": device,
            "software": software(),
        },
    )
