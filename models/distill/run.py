"""Distilling the detector: pseudo-label real clips with a teacher, mix in the town's exact labels, train the
student from the current weights, and ship it with a manifest that records everything it was made from.

The manifest carries the teacher's and every clip's sha256, the frames and pseudo-labels used (per clip, by
verdict), every threshold (the whole config), and the student's scores on the pseudo-labelled validation
frames and on the town's held-out scene. Scores on hand-labelled real frames are added by the caller
(``crosscam train detector``), which owns the detection stage they are measured through.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from models.detector import evaluate_detector, software, train_yolo
from models.distill.clips import find_clips
from models.distill.config import DistillConfig
from models.distill.dataset import DatasetWriter, add_town, real_val_yaml, town_val_yaml
from models.distill.labelling import pseudo_label
from models.distill.sheet import write_sheet
from models.distill.teacher import TiledTeacher
from models.manifest import sha256, write_manifest


def build_training_set(
    teacher_weights: Path,
    real: list[Path],
    town_train: list[Path],
    town_val: list[Path],
    cfg: DistillConfig,
    workdir: Path,
) -> tuple[Path, dict[str, Any]]:
    """Write the student's training set under ``workdir/dataset`` (made afresh); (its data.yaml, a report of
    the clips and counts). The report is also written as ``workdir/distill_report.json``, and the
    pseudo-labels of a few keyframes per clip as ``workdir/pseudo_labels.png``."""
    clips = find_clips(real)
    root = workdir / "dataset"
    if root.exists():
        shutil.rmtree(root)
    writer = DatasetWriter(root, cfg.classes)
    teacher = TiledTeacher(teacher_weights, cfg.teacher, cfg.device)
    labelling = pseudo_label(clips, teacher.label, cfg, writer)
    add_town(writer, town_train, "train", cfg.town)
    add_town(writer, town_val, "val", cfg.town)
    data_yaml = writer.write_yaml()
    report = {
        "teacher": {
            "path": str(teacher_weights),
            "sha256": sha256(teacher_weights),
            "names": teacher.runtime.names,
        },
        "clips": labelling.clips,
        "images": dict(writer.images),
        "boxes": dict(writer.boxes),
        "town_train_scenes": [str(s) for s in town_train],
        "town_val_scenes": [str(s) for s in town_val],
        "config": cfg.model_dump(mode="json"),
    }
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "distill_report.json").write_text(json.dumps(report, indent=2) + "\n")
    if labelling.sheet:
        report["pseudo_label_sheet"] = str(write_sheet(labelling.sheet, workdir / "pseudo_labels.png"))
    return data_yaml, report


def distill_detector(
    teacher_weights: Path,
    real: list[Path],
    town_train: list[Path],
    town_val: list[Path],
    init: Path,
    out_weights: Path,
    cfg: DistillConfig,
    command: str,
    workdir: Path = Path("runs/train/distill"),
) -> dict[str, Any]:
    """Build the training set, train the student from ``init``, copy it to ``out_weights`` and write its
    manifest (``<out>.json``); returns the manifest."""
    data_yaml, report = build_training_set(teacher_weights, real, town_train, town_val, cfg, workdir)
    t = cfg.train
    best, seconds = train_yolo(
        data_yaml,
        init,
        workdir,
        cfg.seed,
        cfg.device,
        epochs=t.epochs,
        time=t.time_hours,
        imgsz=t.imgsz,
        batch=t.batch,
        lr0=t.lr0,
        close_mosaic=t.close_mosaic,
        workers=t.workers,
    )
    metrics = {
        "pseudo_labelled_val": evaluate_detector(best, data_yaml, t.imgsz, cfg.device, single_cls=True)
    }
    real_yaml = real_val_yaml(data_yaml.parent, cfg.classes, workdir / "real_val.yaml")
    if real_yaml is not None:
        # The real frames alone: their F1-best confidence is the shipped config's (no hand label involved).
        metrics["real_pseudo_labelled_val"] = evaluate_detector(
            best, real_yaml, t.imgsz, cfg.device, single_cls=True
        )
    if town_val:
        town_yaml = town_val_yaml(town_val, cfg.classes, workdir / "town_val.yaml")
        metrics["town_heldout"] = evaluate_detector(best, town_yaml, t.imgsz, cfg.device, single_cls=True)
    out_weights.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(best, out_weights)
    return write_manifest(
        out_weights,
        {
            "architecture": "yolov8n.yaml",
            "initialised_from": {"path": str(init), "sha256": sha256(init)},
            "classes": dict(enumerate(cfg.classes)),
            "imgsz": t.imgsz,
            "command": command,
            **{
                k: report[k]
                for k in ("teacher", "clips", "images", "boxes", "town_train_scenes", "town_val_scenes")
            },
            "config": report["config"],
            "metrics": metrics,
            "train_seconds": round(seconds, 1),
            "device": cfg.device,
            "software": software(),
        },
    )
