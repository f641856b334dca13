"""Generates a whole scene folder: traffic, every camera rendered in parallel, and the ground-truth files.

Folder layout (all frame ids 1-based; frame k of every camera shows time (k - 1) / fps):

    scene.json                  what the scene is: status, seed, preset, full config, counts, files
    camNN.mp4                   one video per camera
    calibration/camNN.json      intrinsics, extrinsics, image<->ground homographies
    roi/camNN.jpg               region of interest (white = road and sidewalk)
    gt/gt.txt                   AI City MTMC ground truth, vehicles seen by >= 2 cameras (CityFlow protocol)
    gt/gt_all.txt               the same with every vehicle
    mot/camNN/gt/gt.txt         MOTChallenge ground truth per camera (+ seqinfo.ini)
    masks/camNN/FFFFFF.png      instance masks, uint16, pixel = vehicle id (0 = none)
    reid/                       Re-ID crops in VeRi-776 layout (see synth/reid_export.py)
    yolo/                       detector set in ultralytics YOLO format (data.yaml, images/, labels/)
    contact_sheet.png           one frame per camera with ground-truth boxes and ids
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import platform
import shutil
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml
from tqdm import tqdm

from synth.camera_worker import CameraJob, CameraOutput, render_camera
from synth.config import VEHICLE_TYPES, ConfigError, SceneConfig
from synth.contact_sheet import annotate, write_contact_sheet
from synth.groundtruth import GroundTruthBoxes, multi_camera_ids, write_aicity, write_mot
from synth.reid_export import finish_reid_set, split_identities
from synth.roads import RoadNetwork
from synth.scenery import place_scenery
from synth.traffic import simulate

SCENE_FORMAT = "crosscam-scene/1"


class SceneExistsError(ValueError):
    """The output folder already holds files."""


def scene_matches(scene_dir: Path, cfg: SceneConfig) -> bool:
    """True when ``scene_dir`` holds a complete scene made from exactly ``cfg``, so it can be reused as is."""
    record = Path(scene_dir) / "scene.json"
    if not record.is_file():
        return False
    try:
        return json.loads(record.read_text()).get("config") == cfg.model_dump(mode="json")
    except json.JSONDecodeError:
        return False  # an interrupted or damaged record: regenerate


def _check_video_codec(cfg: SceneConfig, out_dir: Path) -> None:
    """Fail before any rendering when this OpenCV build cannot write the configured FourCC."""
    probe = out_dir / ".codec_probe.mp4"
    writer = cv2.VideoWriter(
        str(probe), cv2.VideoWriter_fourcc(*cfg.output.video_fourcc), cfg.fps, cfg.image_size
    )
    ok = writer.isOpened()
    writer.release()
    probe.unlink(missing_ok=True)
    if not ok:
        raise ConfigError(
            f"OpenCV cannot write videos with output.video_fourcc={cfg.output.video_fourcc!r}; "
            "use a codec this OpenCV build has (mp4v always works)"
        )


def _prepare(out_dir: Path, force: bool) -> None:
    if out_dir.exists() and any(out_dir.iterdir()):
        if not force:
            raise SceneExistsError(
                f"{out_dir} is not empty; choose another --out or pass --force to replace it"
            )
        # --force replaces a scene, never an arbitrary folder that happens to be named by mistake.
        if not (out_dir / "scene.json").is_file():
            raise SceneExistsError(
                f"{out_dir} is not empty and holds no scene.json, so it is not a crosscam scene; "
                "refusing to delete it even with --force: choose another --out"
            )
        shutil.rmtree(out_dir)
    for sub in ("calibration", "roi", "gt", "mot"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)


def _run_cameras(jobs: list[CameraJob], workers: int, progress: bool, total: int) -> list[CameraOutput]:
    bar = tqdm(total=total, desc="render", unit="frame", disable=not progress)
    try:
        if workers <= 1:
            queue: Any = _BarQueue(bar)
            return [render_camera(job, queue) for job in jobs]
        ctx = mp.get_context("fork")
        manager_queue = ctx.Manager().Queue()
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures: list[Future[CameraOutput]] = [
                pool.submit(render_camera, job, manager_queue) for job in jobs
            ]
            while not all(f.done() for f in futures):
                _drain(manager_queue, bar, timeout=0.2)
            _drain(manager_queue, bar, timeout=0.0)
            return [f.result() for f in futures]
    finally:
        bar.close()


class _BarQueue:
    """In-process stand-in for the progress queue: advances the bar directly."""

    def __init__(self, bar: tqdm) -> None:
        self.bar = bar

    def put(self, n: int) -> None:
        self.bar.update(n)


def _drain(queue: Any, bar: tqdm, timeout: float) -> None:
    import queue as queue_mod

    try:
        bar.update(queue.get(timeout=timeout) if timeout else queue.get_nowait())
        while True:
            bar.update(queue.get_nowait())
    except queue_mod.Empty:
        return


def generate_scene(
    cfg: SceneConfig, out_dir: Path, workers: int | None = None, progress: bool = True, force: bool = False
) -> dict[str, Any]:
    """Write the scene described by ``cfg`` into ``out_dir``; returns the scene.json record."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    _prepare(out_dir, force)
    # Written first so that an interrupted run still leaves a folder recognisable (and replaceable) as a
    # scene; the complete record replaces it at the end.
    stub = {"format": SCENE_FORMAT, "status": "incomplete", "preset": cfg.preset, "seed": cfg.seed}
    (out_dir / "scene.json").write_text(json.dumps(stub, indent=2))
    _check_video_codec(cfg, out_dir)
    network = RoadNetwork(cfg.roads)
    traffic = simulate(cfg, network, progress=progress)
    occluders, lights = place_scenery(cfg, network)
    train_ids = split_identities(list(traffic.identities), cfg.output.reid_train_fraction, cfg.seed)
    jobs = [
        CameraJob(cfg, cam, out_dir, traffic.frames, traffic.identities, occluders, lights, train_ids)
        for cam in cfg.cameras
    ]
    n_workers = workers or min(len(jobs), os.cpu_count() or 1)
    outputs = _run_cameras(jobs, n_workers, progress, total=len(jobs) * cfg.n_frames)

    boxes = GroundTruthBoxes.concat([o.boxes for o in outputs])
    multi = multi_camera_ids(boxes)
    write_aicity(out_dir / "gt" / "gt_all.txt", boxes)
    write_aicity(out_dir / "gt" / "gt.txt", boxes.subset(np.isin(boxes.vehicle_id, multi)))
    for out, cam in zip(outputs, cfg.cameras, strict=True):
        write_mot(out_dir / "mot" / cam.name, out.boxes, cam.name, cfg.fps, cfg.image_size, cfg.n_frames)
    reid_counts = finish_reid_set(out_dir / "reid", [r for o in outputs for r in o.reid_records])
    names = list(VEHICLE_TYPES) if cfg.output.yolo_classes == "type" else ["vehicle"]
    (out_dir / "yolo" / "data.yaml").write_text(
        yaml.safe_dump(
            {
                "path": str((out_dir / "yolo").resolve()),
                "train": "images/train",
                "val": "images/val",
                "names": dict(enumerate(names)),
            },
            sort_keys=False,
        )
    )
    tiles = [
        annotate(o.contact_frame, o.contact_boxes, f"{o.name}  ({len(o.contact_boxes)} vehicles)")
        for o in outputs
    ]
    write_contact_sheet(out_dir / "contact_sheet.png", tiles)

    per_camera = {o.name: len(np.unique(o.boxes.vehicle_id)) for o in outputs}
    record = {
        "format": SCENE_FORMAT,
        "status": "complete",
        "preset": cfg.preset,
        "seed": cfg.seed,
        "time_sync": "frame k (1-based) of every camera shows time (k - 1) / fps seconds",
        "cameras": [
            {
                "name": cam.name,
                "camera_id": cam.camera_id,
                "video": f"{cam.name}.mp4",
                "calibration": f"calibration/{cam.name}.json",
                "roi": f"roi/{cam.name}.jpg",
                "mot_gt": f"mot/{cam.name}/gt/gt.txt",
                "masks": f"masks/{cam.name}/" if cfg.output.masks else None,
            }
            for cam in cfg.cameras
        ],
        "counts": {
            "frames_per_camera": cfg.n_frames,
            "vehicles_simulated": len(traffic.identities),
            "identities_visible": len(np.unique(boxes.vehicle_id)),
            "identities_multi_camera": len(multi),
            "identities_per_camera": per_camera,
            "gt_boxes_all": len(boxes),
            "gt_boxes_multi_camera": int(np.isin(boxes.vehicle_id, multi).sum()),
            "reid": reid_counts,
            "yolo_images": {split: sum(o.yolo_images[split] for o in outputs) for split in ("train", "val")},
            "occluders": {
                "trees": sum(o.kind == "tree" for o in occluders),
                "shrubs": sum(o.kind == "shrub" for o in occluders),
            },
        },
        "files": {
            "gt": "gt/gt.txt",
            "gt_all": "gt/gt_all.txt",
            "reid": "reid/",
            "yolo": "yolo/data.yaml",
            "contact_sheet": "contact_sheet.png",
        },
        "generation_seconds": round(time.perf_counter() - started, 2),
        "software": {"python": platform.python_version(), "numpy": np.__version__, "opencv": cv2.__version__},
        "config": cfg.model_dump(mode="json"),
    }
    (out_dir / "scene.json").write_text(json.dumps(record, indent=2))
    return record
