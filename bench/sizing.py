"""Benchmark: cameras per worker core. One camera's whole per-frame work on one CPU core, per embedder.

    .venv/bin/python bench/sizing.py [--frames 300] [--smoke] [--embedders reid,colourhog]
        [--scene runs/bench/sizing/scene] [--out runs/bench/sizing] [--cpu 0]

Runs each camera of the default synthetic scene (seed 1, generated into ``--scene`` when missing) through what
``crosscam worker`` runs per frame: the file source, the real ``camera_pipeline`` (shipped detector, the
shipped embedder, DeepSORT), its ``TrackletBuilder``, and the live view's JPEG at the default
CROSSCAM_LIVE_VIEW_FPS. Not included: the Redis round trips (publishing tracklets and the live view), which
depend on the network. Each embedder runs in its own spawned process pinned to one core (``--cpu``), with
torch, OpenMP, BLAS, OpenCV and ONNX Runtime each limited to one thread, so the figure is one core's, and
the peak resident memory is one worker's. After ``WARMUP_FRAMES`` untimed frames, ``--frames`` frames per
camera are timed (``--smoke``: 30).

Reports ms per frame per stage (wall clock), the whole loop's wall and CPU ms per frame, the frames/s one
core sustains (1000 / CPU ms: core-seconds are what a core budget buys, and CPU time is far less disturbed
than wall time by other load on a shared machine), and so cameras per core at 10 fps (the synthetic town's
rate) and at 5 fps, for the mean camera and for the busiest one (size by the busiest). Prints one JSON
document; writes ``<out>/sizing.json`` and ``<out>/sizing.png``. The load average is recorded: on a busy
machine the stage and wall figures run high, and wall well above CPU says so.
"""

from __future__ import annotations

import os

# Before numpy / torch / cv2 are imported: their thread pools are sized at import.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse
import json
import multiprocessing as mp
import platform
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _figures import save_figure
from _memory import peak_rss_mib

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SCENE_PRESET, SCENE_SEED = "default", 1
DEFAULT_FRAMES, SMOKE_FRAMES = 300, 30
# Untimed frames first: the first predictions allocate buffers and pick kernels.
WARMUP_FRAMES = 10
RATES_FPS = (10, 5)  # the synthetic town's frame rate, and a common reduced rate for a busy site
STAGES = ("decode", "detect", "embed", "track", "tracklets", "live_view")


def ensure_scene(scene: Path) -> Path:
    from synth.config import load_scene_config
    from synth.scene import generate_scene, scene_matches

    cfg = load_scene_config(SCENE_PRESET, seed=SCENE_SEED)
    if not scene_matches(scene, cfg):
        generate_scene(cfg, scene, force=True)
    return scene


def single_thread_embedder(kind: str):
    """The shipped embedder as ``build_embedder`` gives it, its ONNX Runtime session remade with one intra-op
    thread (ORT sizes its own pool, one per physical core; OMP_NUM_THREADS does not reach it)."""
    from service.embedders import build_embedder

    embedder = build_embedder(kind)
    try:
        from export.backends import open_exported
        from export.backends.onnx_backend import OnnxEmbedder
    except ImportError:  # no onnxruntime: build_embedder gave the torch model, limited by set_num_threads
        return embedder, type(embedder).__name__
    if isinstance(embedder, OnnxEmbedder):
        embedder = open_exported(embedder.path, "cpu", threads=1)
        threads = embedder.session.get_session_options().intra_op_num_threads
        return embedder, f"OnnxEmbedder ({embedder.path.name}, {threads} ORT thread)"
    return embedder, type(embedder).__name__


def measure(kind: str, scene: str, frames: int, cpu: int | None, queue) -> None:
    """Child process: every camera of ``scene`` through one worker's per-frame work, timed per stage."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    import cv2
    import torch

    from service.live.camera import encode_jpeg
    from service.scene_run import camera_pipeline, scene_videos
    from service.settings import ServiceSettings
    from trackers.calibration import load_ground_planes
    from trackers.deepsort import DeepSortConfig
    from trackers.detection import DetectorConfig
    from trackers.pipeline import StageTimes
    from trackers.tracklets import TrackletBuilder, TrackletConfig

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    cv2.setNumThreads(1)
    embedder, backend = single_thread_embedder(kind)
    det_cfg = DetectorConfig.from_yaml(device="cpu")  # a per-core figure, also on a machine with a GPU
    live_period_s = 1.0 / ServiceSettings.model_fields["live_view_fps"].default
    videos = scene_videos(Path(scene))
    planes = load_ground_planes(Path(scene) / "calibration", list(videos))
    cameras = {}
    for cam, video in videos.items():
        cameras[cam] = run_camera(
            cam, video, camera_pipeline(cam, embedder, DeepSortConfig.from_yaml(), det_cfg),
            lambda size, cam=cam: TrackletBuilder(cam, size, TrackletConfig.from_yaml(), planes.get(cam)),
            encode_jpeg, live_period_s, frames, StageTimes,
        )  # fmt: skip
    queue.put(
        {
            "embedder": kind,
            "backend": backend,
            "detector": f"{det_cfg.weights.name} at {det_cfg.imgsz} px, ultralytics torch, CPU",
            "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "torch_threads": torch.get_num_threads(),
            "peak_rss_mib": round(peak_rss_mib(), 1),
            "cameras": cameras,
        }
    )


def run_camera(cam, video, pipeline, make_builder, encode_jpeg, live_period_s, frames, stage_times) -> dict:
    """``WARMUP_FRAMES`` untimed, then up to ``frames`` timed frames of one camera (fewer if the video ends)."""
    from service.ingest import SourceConfig, open_source

    builder, next_live, detections_seen, timed = None, 0.0, 0, 0
    extra = {"tracklets": 0.0, "live_view": 0.0}
    with open_source(SourceConfig(camera_id=cam, url=str(video))) as source:
        stream = pipeline.run(source.frames())
        started, cpu_started = time.perf_counter(), time.process_time()
        for i, (frame, detections, tracks) in enumerate(stream):
            if i == WARMUP_FRAMES:  # the timed part starts here
                pipeline.times, extra, detections_seen = stage_times(), dict.fromkeys(extra, 0.0), 0
                started, cpu_started = time.perf_counter(), time.process_time()
            t0 = time.perf_counter()
            builder = builder or make_builder(frame.size)
            builder.update(frame.timestamp, detections, tracks)
            t1 = time.perf_counter()
            if frame.timestamp >= next_live:  # video time: the worker's cadence at the camera's own rate
                next_live = frame.timestamp + live_period_s
                encode_jpeg(frame.image)
            t2 = time.perf_counter()
            extra["tracklets"] += t1 - t0
            extra["live_view"] += t2 - t1
            detections_seen += len(detections)
            timed = i + 1 - WARMUP_FRAMES
            if timed >= frames:
                break
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if timed < 1:
        raise SystemExit(f"{video}: fewer than {WARMUP_FRAMES + 1} frames; regenerate the scene")
    ms = pipeline.times.mean_ms()
    ms.update({k: round(1000.0 * v / timed, 2) for k, v in extra.items()})
    wall_ms, cpu_ms = 1000.0 * wall / timed, 1000.0 * cpu / timed
    return {
        "frames": timed,
        "detections_per_frame": round(detections_seen / timed, 2),
        "ms_per_frame": {stage: ms[stage] for stage in STAGES},
        "wall_ms_per_frame": round(wall_ms, 2),
        "cpu_ms_per_frame": round(cpu_ms, 2),
        "fps_one_core": round(1000.0 / cpu_ms, 2),
    }


def summarise(result: dict) -> dict:
    """Mean over cameras and the busiest camera; cameras per core at each of ``RATES_FPS``."""
    cams = result["cameras"].values()
    mean_fps = float(np.mean([c["fps_one_core"] for c in cams]))
    worst_fps = min(c["fps_one_core"] for c in cams)
    result["mean_ms_per_frame"] = {
        stage: round(float(np.mean([c["ms_per_frame"][stage] for c in cams])), 2) for stage in STAGES
    }
    result["fps_one_core"] = {"mean_camera": round(mean_fps, 2), "busiest_camera": round(worst_fps, 2)}
    result["cameras_per_core"] = {
        f"at_{rate}_fps": {
            "mean_camera": round(mean_fps / rate, 2),
            "busiest_camera": round(worst_fps / rate, 2),
        }
        for rate in RATES_FPS
    }
    return result


def chart(results: list[dict], path: Path) -> Path:
    fig, (ax_ms, ax_cams) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [3, 2]})
    width = 0.8 / len(results)
    for i, r in enumerate(results):
        xs = np.arange(len(STAGES)) + i * width
        ax_ms.bar(xs, [r["mean_ms_per_frame"][s] for s in STAGES], width, label=r["embedder"])
        rates = np.arange(len(RATES_FPS)) + i * width
        ax_cams.bar(
            rates,
            [r["cameras_per_core"][f"at_{rate}_fps"]["busiest_camera"] for rate in RATES_FPS],
            width,
            label=r["embedder"],
        )
    ax_ms.set_xticks(np.arange(len(STAGES)) + 0.4 - width / 2, STAGES)
    ax_ms.set_ylabel("ms per frame, wall clock (mean camera)")
    ax_ms.set_title("one camera on one core, per stage")
    ax_ms.legend()
    ax_cams.set_xticks(np.arange(len(RATES_FPS)) + 0.4 - width / 2, [f"{rate} fps" for rate in RATES_FPS])
    ax_cams.set_ylabel("cameras per core (busiest camera)")
    ax_cams.set_title("sizing")
    ax_cams.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    ax_cams.legend()
    return save_figure(fig, path)


def wait_for(child, queue) -> dict:
    """The child's result, read before join (a child blocks on exit until its queued result is read)."""
    import queue as queues

    while True:
        try:
            return queue.get(timeout=5)
        except queues.Empty:
            if not child.is_alive():
                raise SystemExit(
                    f"the measuring process died (exit code {child.exitcode}); see above"
                ) from None


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=DEFAULT_FRAMES, help="timed frames per camera")
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_FRAMES} frames per camera")
    parser.add_argument("--embedders", default="reid,colourhog", help="comma-separated: reid, colourhog")
    parser.add_argument("--scene", type=Path, default=Path("runs/bench/sizing/scene"))
    parser.add_argument("--out", type=Path, default=Path("runs/bench/sizing"))
    parser.add_argument("--cpu", type=int, default=0, help="the core each measuring process is pinned to")
    args = parser.parse_args()
    frames = SMOKE_FRAMES if args.smoke else args.frames
    scene = ensure_scene(args.scene)
    load_before = os.getloadavg()
    ctx = mp.get_context("spawn")  # a fresh interpreter per embedder: its own memory, its own thread pools
    results = []
    for kind in [k for k in args.embedders.split(",") if k]:
        queue = ctx.Queue()
        child = ctx.Process(target=measure, args=(kind, str(scene), frames, args.cpu, queue))
        child.start()
        result = wait_for(child, queue)
        child.join()
        results.append(summarise(result))
    summary = {
        "scene": {"path": str(scene), "preset": SCENE_PRESET, "seed": SCENE_SEED},
        "frames_per_camera": frames,
        "warmup_frames": WARMUP_FRAMES,
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
        },
        "load_average_1m": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)},
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sizing.json").write_text(json.dumps(summary, indent=2))
    chart(results, args.out / "sizing.png")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
