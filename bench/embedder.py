"""Benchmark: Re-ID embedder throughput (crops per second) and peak memory, per runtime backend and batch size.

    .venv/bin/python bench/embedder.py [--weights models/weights/reid_vit.pt] [--batches 1,8,32]
        [--seconds 5] [--threads 2] [--backends torch,onnx[,trt-fp16,trt-int8]] [--out runs/bench/embedder]

Each backend runs in its own process (so its peak resident memory is its own), embeds batches of real-sized
vehicle crops (random pixels: the work does not depend on content) through the full ``embed`` path, the
shared preprocessing included, for ``--seconds`` per batch size after a warm-up. TensorRT rows run when an
NVIDIA GPU and the tensorrt package are present (the engines are built first, INT8 calibrated on the same
kind of crops). Prints one JSON document; writes ``<out>/embedder.json`` and ``<out>/embedder.png``.
Target (issue 5): ONNX Runtime >= 1.5x torch at batch 32 on 2 CPU cores; checked for the fp32 export and for
the int8-weight export (``crosscam export onnx --int8``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing as mp
import platform
import sys
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _figures import save_figure
from _memory import peak_rss_mib

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_SPEEDUP = 1.5
CPU_BACKENDS = ("torch", "onnx", "onnx-int8")
GPU_BACKENDS = ("trt-fp16", "trt-int8")


def crops(n: int, seed: int = 0) -> list[np.ndarray]:
    """``n`` BGR uint8 crops of the sizes the town's cameras give (40-160 px a side)."""
    rng = np.random.default_rng(seed)
    return [
        rng.integers(0, 256, (int(rng.integers(40, 160)), int(rng.integers(40, 160)), 3), dtype=np.uint8)
        for _ in range(n)
    ]


def open_backend(name: str, weights: Path, work: Path, threads: int):
    if name == "torch":
        import torch

        from models.reid.embedder import load_reid_embedder

        torch.set_num_threads(threads)

        return load_reid_embedder(weights)
    from export.backends import open_exported

    onnx = work / "reid.onnx"
    if name == "onnx":
        return open_exported(onnx, "cpu", threads)
    if name == "onnx-int8":
        return open_exported(work / "reid-int8.onnx", "cpu", threads)
    import cv2

    from export.tensorrt_build import build_engine

    calib = work / "calib"
    calib.mkdir(exist_ok=True)
    for i, crop in enumerate(crops(256, seed=1)):
        cv2.imwrite(str(calib / f"{i:04d}.png"), crop)
    engine = build_engine(onnx, work / f"{name}.engine", fp16=True, int8=name == "trt-int8", calib_dir=calib)
    return open_exported(engine, "cuda:0")


def measure(
    name: str, weights: str, work: str, batches: list[int], seconds: float, threads: int, queue
) -> None:
    """Child process: crops/s per batch size for one backend, and the process's peak RSS."""
    embedder = open_backend(name, Path(weights), Path(work), threads)
    rows = []
    for batch in batches:
        sample = crops(batch, seed=batch)
        for _ in range(3):  # warm-up: first calls allocate and (TensorRT, ORT) pick kernels
            embedder.embed(sample)
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            embedder.embed(sample)
            done += batch
        elapsed = time.perf_counter() - started
        rows.append(
            {
                "batch": batch,
                "crops_per_s": round(done / elapsed, 1),
                "ms_per_batch": round(1e3 * elapsed * batch / done, 2),
            }
        )
    queue.put({"backend": name, "rows": rows, "peak_rss_mib": round(peak_rss_mib(), 1)})


def chart(results: list[dict], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    batches = [r["batch"] for r in results[0]["rows"]]
    width = 0.8 / len(results)
    for i, result in enumerate(results):
        xs = np.arange(len(batches)) + i * width
        ax.bar(xs, [r["crops_per_s"] for r in result["rows"]], width, label=result["backend"])
    ax.set_xticks(np.arange(len(batches)) + 0.4 - width / 2, [f"batch {b}" for b in batches])
    ax.set_ylabel("crops / s")
    ax.set_title("Re-ID embedder throughput")
    ax.legend()
    save_figure(fig, path)


def main() -> None:
    from models.reid.embedder import DEFAULT_REID_WEIGHTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=DEFAULT_REID_WEIGHTS)
    parser.add_argument("--batches", default="1,8,32")
    parser.add_argument("--seconds", type=float, default=5.0, help="timed seconds per backend and batch size")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for torch and ONNX Runtime")
    parser.add_argument("--backends", default=None, help="default: torch,onnx plus TensorRT when available")
    parser.add_argument("--out", type=Path, default=Path("runs/bench/embedder"))
    args = parser.parse_args()
    import torch

    has_trt = torch.cuda.is_available() and importlib.util.find_spec("tensorrt") is not None
    backends = (
        args.backends.split(",") if args.backends else [*CPU_BACKENDS, *(GPU_BACKENDS if has_trt else ())]
    )
    batches = [int(b) for b in args.batches.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    from export.onnx_export import export_onnx
    from models.reid.embedder import reid_module

    ctx = mp.get_context("spawn")  # a fresh interpreter per backend: clean peak memory, no shared threads
    results = []
    with tempfile.TemporaryDirectory() as work:
        module, spec = reid_module(args.weights)
        export_onnx(module, spec, Path(work) / "reid.onnx")
        export_onnx(module, spec, Path(work) / "reid-int8.onnx", int8=True)
        for name in backends:
            queue = ctx.Queue()
            child = ctx.Process(
                target=measure,
                args=(name, str(args.weights), work, batches, args.seconds, args.threads, queue),
            )
            child.start()
            results.append(queue.get())
            child.join()
    by = {r["backend"]: {row["batch"]: row["crops_per_s"] for row in r["rows"]} for r in results}
    checks = {}
    for variant in ("onnx", "onnx-int8"):
        if "torch" in by and variant in by and 32 in by["torch"]:
            speedup = by[variant][32] / by["torch"][32]
            checks[f"{variant}_over_torch_batch32"] = round(speedup, 2)
            checks[f"{variant}_target_met"] = speedup >= TARGET_SPEEDUP
    report = {
        "weights": str(args.weights),
        "input_size": list(spec.input_size),
        "dim": spec.dim,
        "threads": args.threads,
        "device": torch.cuda.get_device_name(0)
        if torch.cuda.is_available()
        else platform.processor() or "cpu",
        "results": results,
        "checks": checks,
    }
    (args.out / "embedder.json").write_text(json.dumps(report, indent=2))
    chart(results, args.out / "embedder.png")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
