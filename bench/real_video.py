"""Benchmark: crosscam on real cameras. Detection scored on hand-labelled real frames, tracking on real clips.

    .venv/bin/python bench/real_video.py [--weights W ...] [--imgsz 320 416 512 640] [--rates 5 10]
        [--gold DIR ...] [--clips PATH ...] [--max-seconds 30] [--threads 1] [--smoke] [--out runs/bench/real_video]

Detection, for each gold set (``../shared/data/real/gold/*``: images/ + labels.csv, never trained on):
precision, recall and F1 at the detector config's confidence and AP50 (class-agnostic, IoU 0.5, boxes down to
confidence 0.01), and ms per frame, for
- the shipped detector at its shipped config, and at every ``--imgsz`` (the trade-off table of size vs F1 vs
  CPU time);
- the teacher (``../shared/data/weights/yolov8n_coco_int8.tflite``) through crosscam's detector at 640, and
  raw (ultralytics' own per-class NMS, no riders joined: the figure the issue quotes);
- any ``--weights`` given, at the config's imgsz (or 640 for a fixed-size export).
ms per frame is detection alone (decoded image in, boxes out) with torch on ``--threads`` threads (one core by
default: the figure the sizing table uses); a LiteRT model uses its own thread pool.

Tracking, for each real clip (``../shared/data/real/clips`` and ``../shared/data/videos``): the clip (at most
``--max-seconds``) through ``crosscam track``'s pipeline (shipped detector and config, the colour+HOG
embedder, DeepSORT) at each ``--rates`` processing rate: frames processed, processed frames per second of
wall time, confirmed tracks, and ms per frame of each stage.

Prints one JSON document; writes ``<out>/real_video.json``, a contact sheet per gold set
(``gold_<set>.png``: hand-drawn boxes white, the shipped detector's hits green and false alarms red) and one
of the clips (``clips.png``: a tracked frame of each), and ``imgsz.png`` (F1 and ms against imgsz).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
from _figures import save_figure

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
TEACHER = SHARED / "weights" / "yolov8n_coco_int8.tflite"
TEACHER_IMGSZ = 640
SHEET_IMAGES = 6
SMOKE = {"images": 4, "seconds": 3.0, "imgsz": [416], "clips": 2}


def default_gold() -> list[Path]:
    return sorted(p for p in (SHARED / "real" / "gold").glob("*") if (p / "labels.csv").is_file())


def default_clips() -> list[Path]:
    from models.distill.clips import find_clips

    folders = [p for p in (SHARED / "real" / "clips", SHARED / "videos") if p.is_dir()]
    return find_clips(folders) if folders else []


def truncated(gold, images: int | None):
    from trackers.metrics.gold import GoldSet

    if images is None:
        return gold
    kept = gold.images[:images]
    return GoldSet(gold.name, kept, {p.name: gold.boxes.get(p.name, np.zeros((0, 4))) for p in kept})


def score(config, gold_sets) -> dict:
    from trackers.metrics.gold import score_detector_config

    results = score_detector_config(config, gold_sets)
    return {
        name: {**r.scores.as_dict(), "ms_per_frame": round(r.ms_per_frame, 1)} for name, r in results.items()
    }


def raw_teacher_scores(gold_sets, weights: Path) -> dict:
    """The teacher as ultralytics runs it by default: per-class NMS, vehicle classes by id, no riders joined."""
    import cv2
    from ultralytics import YOLO

    from trackers.metrics.detection import ImageBoxes, score_detections

    model = YOLO(str(weights))
    ids = [i for i, n in model.names.items() if n in ("car", "motorcycle", "bus", "truck")]
    out = {}
    for gold in gold_sets:
        images, seconds = [], 0.0
        for path in gold.images:
            image = cv2.imread(str(path))
            started = time.perf_counter()
            boxes = model.predict(image, imgsz=TEACHER_IMGSZ, conf=0.01, classes=ids, verbose=False)[0].boxes
            seconds += time.perf_counter() - started
            images.append(
                ImageBoxes(
                    gold.boxes.get(path.name, np.zeros((0, 4))), boxes.xyxy.numpy(), boxes.conf.numpy()
                )
            )
        scores = score_detections(images, confidence=0.25)
        out[gold.name] = {**scores.as_dict(), "ms_per_frame": round(1000 * seconds / len(gold.images), 1)}
    return out


def gold_sheet(config, gold, path: Path) -> Path:
    """Hand-drawn boxes (white) and the detector's boxes at its confidence: hits green, false alarms red."""
    import cv2

    from models.distill.sheet import GREEN, RED, WHITE, draw_boxes, write_sheet
    from trackers.detection import YoloDetector
    from trackers.metrics.detection import match_image
    from trackers.types import Frame

    detector = YoloDetector(config)
    tiles = []
    for index, image_path in enumerate(
        gold.images[:: max(1, len(gold.images) // SHEET_IMAGES)][:SHEET_IMAGES]
    ):
        image = cv2.imread(str(image_path))
        found = detector.detect(Frame(gold.name, index + 1, 0.0, image))
        truth = gold.boxes.get(image_path.name, np.zeros((0, 4)))
        hits = match_image(truth, found.xyxy, found.confidence)
        image = draw_boxes(image, truth, [WHITE] * len(truth), "")
        colours = [GREEN if h else RED for h in hits]
        tiles.append(
            draw_boxes(
                image, found.xyxy, colours, f"{gold.name} {image_path.name}: {hits.sum()}/{len(truth)}"
            )
        )
    return write_sheet(tiles, path, columns=3, tile_width=520)


def track_clip(
    clip: Path, rate: float, max_seconds: float, detector_config
) -> tuple[dict, np.ndarray | None]:
    """One clip through the tracking pipeline at ``rate`` processed frames per second: its figures, and its
    last tracked frame with the boxes drawn."""
    from models.distill.sheet import GREEN, draw_boxes
    from service.ingest import SourceConfig, open_source
    from trackers.appearance import ColourHogEmbedder
    from trackers.deepsort import DeepSortTracker
    from trackers.detection import YoloDetector
    from trackers.pipeline import CameraPipeline, tracks_to_mot

    source = open_source(SourceConfig(camera_id=clip.stem, url=str(clip), process_fps=rate))
    pipeline = CameraPipeline(YoloDetector(detector_config), ColourHogEmbedder(), DeepSortTracker())
    history, last = [], None
    started = time.perf_counter()
    with source:
        for frame, detections, tracks in pipeline.run(source.frames()):
            history.append((detections, tracks))
            last = (frame, tracks)
            if frame.timestamp >= max_seconds:
                break
    wall = time.perf_counter() - started
    rows = tracks_to_mot(history)
    figures = {
        "frames_processed": len(history),
        "processed_fps": round(len(history) / wall, 2),
        "confirmed_tracks": len(np.unique(rows.obj_id)),
        "ms_per_stage": pipeline.times.mean_ms(),
    }
    image = None
    if last is not None:
        frame, tracks = last
        image = draw_boxes(frame.image, tracks.xyxy, [GREEN] * len(tracks), f"{clip.name} at {rate:g} fps")
    return figures, image


def imgsz_figure(table: dict, path: Path) -> Path:
    import matplotlib.pyplot as plt

    sizes = sorted(int(s) for s in table)
    fig, (f1_axis, ms_axis) = plt.subplots(1, 2, figsize=(10, 4))
    for name in next(iter(table.values()))["sets"]:
        f1_axis.plot(sizes, [table[str(s)]["sets"][name]["f1"] for s in sizes], marker="o", label=name)
    f1_axis.plot(sizes, [table[str(s)]["mean_f1"] for s in sizes], marker="s", color="black", label="mean")
    f1_axis.set(xlabel="imgsz (px)", ylabel="F1 at the shipped confidence", title="Detection on gold sets")
    f1_axis.legend(fontsize=8)
    ms_axis.plot(sizes, [table[str(s)]["mean_ms_per_frame"] for s in sizes], marker="o")
    ms_axis.set(xlabel="imgsz (px)", ylabel="ms per frame", title="CPU time (detection)")
    return save_figure(fig, path)


def mean_of(sets: dict, key: str) -> float:
    return round(float(np.mean([s[key] for s in sets.values()])), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--weights", type=Path, nargs="*", default=[], help="More detection weights to score."
    )
    parser.add_argument("--imgsz", type=int, nargs="*", default=[320, 416, 480, 512, 640])
    parser.add_argument("--rates", type=float, nargs="*", default=[5.0, 10.0])
    parser.add_argument("--gold", type=Path, nargs="*", default=None)
    parser.add_argument("--clips", type=Path, nargs="*", default=None)
    parser.add_argument("--max-seconds", type=float, default=30.0, help="Seconds of each clip tracked.")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: a per-core figure).")
    parser.add_argument("--smoke", action="store_true", help="A few images, seconds and sizes (tests).")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "bench" / "real_video")
    args = parser.parse_args()

    import torch

    from trackers.detection import DetectorConfig
    from trackers.metrics.gold import read_gold_set

    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    gold_sets = [read_gold_set(p) for p in (args.gold if args.gold is not None else default_gold())]
    clips = args.clips if args.clips is not None else default_clips()
    sizes, max_seconds = args.imgsz, args.max_seconds
    if args.smoke:
        gold_sets = [truncated(g, SMOKE["images"]) for g in gold_sets]
        clips, sizes, max_seconds = clips[: SMOKE["clips"]], SMOKE["imgsz"], SMOKE["seconds"]
    shipped = DetectorConfig.from_yaml(device="cpu")
    report: dict = {
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor(),
            "torch_threads": args.threads,
        },
        "protocol": "class-agnostic, IoU 0.5; P/R/F1 at the config's confidence; AP50 all-point, boxes >= 0.01",
        "shipped": {
            "weights": str(shipped.weights),
            "imgsz": shipped.imgsz,
            "confidence": shipped.confidence,
        },
        "detection": {},
        "imgsz": {},
        "tracking": {},
    }
    if gold_sets:
        detection = report["detection"]
        detection["shipped"] = score(shipped, gold_sets)
        if TEACHER.is_file():
            teacher = shipped.model_copy(update={"weights": TEACHER, "imgsz": TEACHER_IMGSZ})
            detection["teacher (crosscam detector, 640)"] = score(teacher, gold_sets)
            detection["teacher (raw ultralytics, 640)"] = raw_teacher_scores(gold_sets, TEACHER)
        for weights in args.weights:
            detection[str(weights)] = score(shipped.model_copy(update={"weights": weights}), gold_sets)
        for sets in detection.values():
            sets["mean"] = {"f1": mean_of(sets, "f1"), "ap50": mean_of(sets, "ap50")}
        for size in sizes:
            sets = score(shipped.model_copy(update={"imgsz": size}), gold_sets)
            report["imgsz"][str(size)] = {
                "sets": sets,
                "mean_f1": mean_of(sets, "f1"),
                "mean_ap50": mean_of(sets, "ap50"),
                "mean_ms_per_frame": mean_of(sets, "ms_per_frame"),
            }
        if len(sizes) > 1:
            imgsz_figure(report["imgsz"], args.out / "imgsz.png")
        for gold in gold_sets:
            gold_sheet(shipped, gold, args.out / f"gold_{gold.name}.png")
    tiles = []
    for clip in clips:
        report["tracking"][clip.name] = {}
        for rate in args.rates:
            figures, image = track_clip(clip, rate, max_seconds, shipped)
            report["tracking"][clip.name][f"{rate:g}"] = figures
            if image is not None and rate == max(args.rates):
                tiles.append(image)
    if tiles:
        from models.distill.sheet import write_sheet

        write_sheet(tiles, args.out / "clips.png", columns=3, tile_width=480)
    text = json.dumps(report, indent=2)
    (args.out / "real_video.json").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
