"""Benchmark: single-camera tracking on a synthetic scene, ours against ultralytics' own trackers.

    .venv/bin/python bench/sct.py [--scene runs/bench/sct/scene] [--seed 0] [--frames N] [--threads 2] [--weights W]
        [--embedders reid,colourhog] [--no-ultralytics]

Per camera, in one run on the same videos and the same detector weights: crosscam's pipeline (YOLO ->
embedder -> DeepSORT, once per embedder: the trained Re-ID model and the ColourHog stand-in) and
ultralytics ``model.track()`` with ``botsort.yaml`` and ``bytetrack.yaml``: IDF1, MOTA, HOTA, ID switches,
and milliseconds per frame (decode, detect, embed, track for ours; the whole ``track()`` call for
ultralytics). Prints a table and writes ``<out>/sct.json``.
The scene's seed must not be one the detector was trained on (see the weights' manifest).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from service.embedders import EMBEDDER_KINDS, build_embedder
from synth.config import load_scene_config
from synth.scene import generate_scene, scene_matches
from trackers.appearance import Embedder
from trackers.deepsort import DeepSortConfig, DeepSortTracker
from trackers.detection import DetectorConfig, YoloDetector
from trackers.metrics import MOTBoxes, read_mot, score_mot
from trackers.pipeline import CameraPipeline, tracks_to_mot
from trackers.types import Frame

ULTRALYTICS_TRACKERS = ("botsort.yaml", "bytetrack.yaml")


def read_frames(video: Path, camera: str, limit: int | None, fps: float) -> list[Frame]:
    cap = cv2.VideoCapture(str(video))
    frames = []
    while limit is None or len(frames) < limit:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(Frame(camera, len(frames) + 1, len(frames) / fps, image))
    return frames


def decode_ms(video: Path, limit: int | None) -> float:
    cap = cv2.VideoCapture(str(video))
    n, started = 0, time.perf_counter()
    while (limit is None or n < limit) and cap.read()[0]:
        n += 1
    return 1000.0 * (time.perf_counter() - started) / max(n, 1)


def run_ours(
    frames: list[Frame], det_cfg: DetectorConfig, embedder: Embedder
) -> tuple[MOTBoxes, dict[str, float]]:
    pipeline = CameraPipeline(YoloDetector(det_cfg), embedder, DeepSortTracker(DeepSortConfig.from_yaml()))
    history = [(d, t) for _, d, t in pipeline.run(frames)]
    return tracks_to_mot(history), pipeline.times.mean_ms()


def run_ultralytics(frames: list[Frame], det_cfg: DetectorConfig, tracker: str) -> tuple[MOTBoxes, float]:
    from ultralytics import YOLO

    model = YOLO(str(det_cfg.weights), task="detect")
    rows: list[tuple[int, int, float, float, float, float, float]] = []
    started = time.perf_counter()
    for frame in frames:
        result = model.track(
            frame.image,
            persist=True,
            tracker=tracker,
            imgsz=det_cfg.imgsz,
            conf=det_cfg.confidence,
            iou=det_cfg.iou,
            device="cpu",
            verbose=False,
        )[0]
        boxes = result.boxes
        if boxes.id is None:
            continue
        for (x1, y1, x2, y2), tid, conf in zip(
            boxes.xyxy.numpy(), boxes.id.numpy(), boxes.conf.numpy(), strict=True
        ):
            rows.append((frame.frame_index, int(tid), x1, y1, x2 - x1, y2 - y1, float(conf)))
    ms = 1000.0 * (time.perf_counter() - started) / max(len(frames), 1)
    if not rows:
        return MOTBoxes.empty(), ms
    a = np.array(rows, dtype=np.float64)
    return MOTBoxes(a[:, 0], a[:, 1], a[:, 2:6], a[:, 6]), ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", type=Path, default=Path("runs/bench/sct/scene"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--frames", type=int, default=None, help="only the first N frames of each camera")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (the machine has 2 cores)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench/sct"))
    parser.add_argument(
        "--weights", type=Path, default=None, help="detector weights (default: the shipped model)"
    )
    parser.add_argument(
        "--embedders",
        default="reid,colourhog",
        help=f"appearance models for our tracker, comma-separated, from {', '.join(EMBEDDER_KINDS)}",
    )
    parser.add_argument("--no-ultralytics", action="store_true", help="skip ultralytics' trackers")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    embedders = {kind: build_embedder(kind) for kind in args.embedders.split(",") if kind}
    cfg = load_scene_config("default", seed=args.seed)
    if not scene_matches(args.scene, cfg):
        generate_scene(cfg, args.scene, force=True)
    det_cfg = DetectorConfig.from_yaml(**({"weights": args.weights} if args.weights else {}))
    results: dict[str, dict] = {}
    for cam in cfg.cameras:
        video = args.scene / f"{cam.name}.mp4"
        gt = read_mot(args.scene / "mot" / cam.name / "gt" / "gt.txt", ground_truth=True)
        frames = read_frames(video, cam.name, args.frames, cfg.fps)
        if args.frames:
            gt = MOTBoxes(
                *(
                    getattr(gt, f)[gt.frame_id <= args.frames]
                    for f in ("frame_id", "obj_id", "xywh", "confidence")
                )
            )
        per_cam: dict[str, dict] = {}
        decode = round(decode_ms(video, args.frames), 2)
        for kind, embedder in embedders.items():
            pred, ms = run_ours(frames, det_cfg, embedder)
            ms["decode"] = decode
            per_cam[f"crosscam deepsort ({kind})"] = {
                **_score(gt, pred),
                "ms_per_frame": ms,
                "fps": round(1000 / sum(ms.values()), 1),
            }
        for tracker in () if args.no_ultralytics else ULTRALYTICS_TRACKERS:
            pred, total_ms = run_ultralytics(frames, det_cfg, tracker)
            total = total_ms + decode
            per_cam[f"ultralytics {tracker[:-5]}"] = {
                **_score(gt, pred),
                "ms_per_frame": {"decode": decode, "detect+track": round(total_ms, 2)},
                "fps": round(1000 / total, 1),
            }
        results[cam.name] = per_cam
    summary = {
        "scene": str(args.scene),
        "seed": args.seed,
        "frames_per_camera": args.frames or cfg.n_frames,
        "detector": {
            "weights": str(det_cfg.weights),
            "imgsz": det_cfg.imgsz,
            "backend": "torch (ultralytics), CPU",
        },
        "threads": args.threads,
        "cameras": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sct.json").write_text(json.dumps(summary, indent=2))
    _print(summary)
    print(json.dumps(summary, indent=2))


def _score(gt: MOTBoxes, pred: MOTBoxes) -> dict[str, float]:
    s = score_mot(gt, pred)
    return {k: round(float(getattr(s, k)), 4) for k in ("idf1", "mota", "hota", "num_switches")}


def _print(summary: dict) -> None:
    table = Table(title=f"single-camera tracking, seed {summary['seed']}")
    for col in ("camera", "tracker", "IDF1", "MOTA", "HOTA", "IDSW", "fps", "ms/frame"):
        table.add_column(col)
    for cam, rows in summary["cameras"].items():
        for name, r in rows.items():
            ms = ", ".join(f"{k} {v:.1f}" for k, v in r["ms_per_frame"].items())
            table.add_row(
                cam,
                name,
                f"{r['idf1']:.3f}",
                f"{r['mota']:.3f}",
                f"{r['hota']:.3f}",
                str(int(r["num_switches"])),
                str(r["fps"]),
                ms,
            )
    Console(width=150).print(table)  # wide: one line per tracker, also when piped to a file


if __name__ == "__main__":
    main()
