"""Benchmark: the scale-out deployment on one machine against the single-process run, on one scene.

    .venv/bin/python bench/scaleout.py [--redis-url redis://127.0.0.1:6379/0] [--modes after,live]
        [--out runs/bench/scaleout] [--smoke]

Scale-out here is what the deployment runs, as separate processes through a real Redis: one ``crosscam
worker`` per camera, one ``crosscam associator`` and the API (``crosscam serve``). Its result is read back
from the Redis store (every identity's trajectory points) as AI City MTMC rows, checked against what the API
serves, and scored like the single-process ``track_scene`` run against the scene's ``gt/gt.txt``.

Online association depends on the order it sees tracklets in. The single-process run merges the cameras in
time order; separate workers deliver in arrival order. Two modes:

- ``after``: the workers run flat out (``--no-realtime``) and publish everything, then the associator starts
  with ``--batch`` the number of entries published, so it reads the whole stream as one batch and sorts it
  into the single-process order (emission time, camera, track id; flushed tracklets last, by track end).
- ``live``: the associator runs from the start and the workers replay their files in real time
  (``--realtime``), so arrival order is time order, as with live cameras.

Default: the default preset, seed 1 (generated under ``<out>/scenes`` when missing), the shipped detector and
Re-ID embedder. ``--smoke``: the smoke-sized scene, ground-truth boxes (oracle) and the colourhog embedder.
Speed is camera-seconds of video per second of wall time (all cameras together; the scale-out's wall time runs
from the first worker's start to the associator having drained the stream). Writes ``<out>/scaleout.json`` and
``<out>/scaleout.png``. Target (issue 8): |IDF1 scale-out - IDF1 single process| <= 0.01.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.store import IdentityQuery, StateStore
from trackers.metrics import MTMCBoxes, MTMCScore, read_mtmc, score_mtmc
from trackers.multicam import camera_numbers, mtmc_boxes, mtmc_rows

REPO = Path(__file__).resolve().parents[1]
TOLERANCE = 0.01  # issue 8: scale-out IDF1 within this of the single-process run
MODES = ("after", "live")
PAGE = 1000  # identities / trajectory points per store or API page (the API's largest)
START_TIMEOUT_S = 120.0  # the API loading its embedder, on 2 busy cores
PROCESS_STOP_TIMEOUT_S = 30.0
POLL_S = 0.05


# ---- the scale-out's result as AI City rows -------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One trajectory point of an identity: camera id, frame (1-based), box (x1, y1, x2, y2; px), ground
    position (x, y; m) or None."""

    global_id: int
    camera_id: str
    frame: int
    xyxy: tuple[float, float, float, float]
    world: tuple[float, float] | None


def rows_of_points(points: Iterable[Point]) -> MTMCBoxes:
    """AI City rows of trajectory points, as ``trackers.multicam.mtmc_rows`` makes them from tracklets: camera
    numbers from the ids (``cam07`` -> 7), one box per (camera, frame, identity), the first one kept. The
    caller passes only identities seen by enough cameras (``min_cameras``)."""
    points = list(points)
    if not points:
        return MTMCBoxes.empty()
    numbers = camera_numbers(p.camera_id for p in points)
    camera = np.array([numbers[p.camera_id] for p in points], dtype=np.int64)
    obj = np.array([p.global_id for p in points], dtype=np.int64)
    frame = np.array([p.frame for p in points], dtype=np.int64)
    xyxy = np.array([p.xyxy for p in points], dtype=np.float64)
    world = np.array([p.world if p.world is not None else (np.nan, np.nan) for p in points], dtype=np.float64)
    return mtmc_boxes(camera, obj, frame, xyxy, world)


def store_points(store: StateStore, min_cameras: int = 2) -> Iterator[Point]:
    """Every trajectory point of every identity the store holds that was seen by ``min_cameras`` or more
    cameras (the CityFlow protocol scores only those)."""
    offset = 0
    while True:
        page = store.list_identities(IdentityQuery(min_cameras=min_cameras, offset=offset, limit=PAGE))
        for identity in page.items:
            start = 0
            while True:
                points = store.trajectory(identity.global_id, offset=start, limit=PAGE)
                for p in points.items:
                    yield Point(identity.global_id, p.camera_id, p.frame, tuple(p.xyxy), p.world)
                start += len(points.items)
                if not points.items or start >= points.total:
                    break
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return


def store_mtmc_rows(store: StateStore, min_cameras: int = 2) -> MTMCBoxes:
    """The AI City MTMC rows of what a (scale-out) run left in ``store``; see ``rows_of_points``."""
    return rows_of_points(store_points(store, min_cameras))


def api_points(client: httpx.Client, min_cameras: int = 2) -> Iterator[Point]:
    """``store_points``, read through the REST API (``client`` has the service's base URL)."""
    offset = 0
    while True:
        page = _get(client, "/api/v1/identities", min_cameras=min_cameras, offset=offset, limit=PAGE)
        for identity in page["items"]:
            gid, start = identity["global_id"], 0
            while True:
                points = _get(client, f"/api/v1/identities/{gid}/trajectory", offset=start, limit=PAGE)
                for p in points["items"]:
                    world = tuple(p["world"]) if p["world"] is not None else None
                    yield Point(gid, p["camera_id"], p["frame"], tuple(p["xyxy"]), world)
                start += len(points["items"])
                if not points["items"] or start >= points["total"]:
                    break
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return


def _get(client: httpx.Client, path: str, **params: int) -> dict:
    response = client.get(path, params=params)
    response.raise_for_status()
    return response.json()


# ---- the processes ------------------------------------------------------------------------------------


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float) -> None:
    """Poll ``condition`` every POLL_S until it holds; AssertionError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting until {what}")
        time.sleep(POLL_S)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Crosscam:
    """Starts ``crosscam`` commands as subprocesses of one deployment (one Redis URL and key prefix), their
    output in ``logs/<name>.out`` / ``.err`` (files, not pipes: a chatty process never blocks on a full
    pipe); ``stop_all`` kills whatever is still running."""

    redis_url: str
    prefix: str
    logs: Path
    env: dict[str, str] = field(default_factory=dict)
    started: list[subprocess.Popen] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        self.logs.mkdir(parents=True, exist_ok=True)
        full_env = {
            **os.environ, "REDIS_URL": self.redis_url, "CROSSCAM_REDIS_PREFIX": self.prefix,
            **self.env, **(env or {}),
        }  # fmt: skip
        with open(self.logs / f"{name}.out", "wb") as out, open(self.logs / f"{name}.err", "wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "service.cli", *args], cwd=REPO, env=full_env, stdout=out, stderr=err
            )
        process.name = name  # type: ignore[attr-defined]  # for the messages below
        self.started.append(process)
        return process

    def output(self, process: subprocess.Popen, stream: str = "out") -> str:
        return (self.logs / f"{process.name}.{stream}").read_text(errors="replace")  # type: ignore[attr-defined]

    def finish(self, process: subprocess.Popen, timeout_s: float) -> str:
        """Wait for ``process`` to exit 0; its stdout. AssertionError with its stderr otherwise."""
        try:
            code = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{process.name} still running after {timeout_s:.0f} s") from None  # type: ignore[attr-defined]
        if code != 0:
            raise AssertionError(f"{process.name} exited {code}: {self.output(process, 'err')[-2000:]}")  # type: ignore[attr-defined]
        return self.output(process)

    def stop(self, process: subprocess.Popen, timeout_s: float = PROCESS_STOP_TIMEOUT_S) -> str:
        """SIGTERM (a clean stop: the associator snapshots, a worker flushes) and ``finish``."""
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        return self.finish(process, timeout_s)

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=PROCESS_STOP_TIMEOUT_S)


def worker_args(scene: Path, camera: str, embedder: str, oracle: bool, realtime: bool) -> list[str]:
    args = ["worker", "--camera", camera, "--embedder", embedder]
    args.append("--realtime" if realtime else "--no-realtime")
    if oracle:
        args += ["--oracle-gt", str(scene / "mot" / camera / "gt" / "gt.txt")]
    return args


def worker_summary(stdout: str) -> dict:
    """The JSON line a ``crosscam worker`` prints last (camera_id, run, frames, emissions, tracklets)."""
    return json.loads(stdout.strip().splitlines()[-1])


def start_api(crosscam: Crosscam, embedder: str) -> tuple[subprocess.Popen, str]:
    """``crosscam serve`` on a free loopback port, started while the store has no camera: given a Redis store,
    serve runs the cameras it finds in-process, and here the workers run them. Returns it and its base URL
    once /readyz answers."""
    port = free_port()
    api = crosscam.start("api", ["serve", "--port", str(port)], {"CROSSCAM_EMBEDDER": embedder})
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if api.poll() is not None:
            raise AssertionError(
                f"crosscam serve exited {api.returncode}: {crosscam.output(api, 'err')[-2000:]}"
            )
        try:
            return httpx.get(f"{base}/readyz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, "crosscam serve answered /readyz", START_TIMEOUT_S)
    return api, base


def register_scene(store: StateStore, scene: Path) -> list[str]:
    """Every camera of ``scene`` in the store (file URL, calibration), as POST /api/v1/cameras records them;
    written to the store directly because the API would also start them in its own process."""
    from service.commands.serve import scene_cameras

    cameras = scene_cameras(scene)
    for camera in cameras:
        store.put_camera(camera)
    return [c.camera_id for c in cameras]


# ---- the two runs ---------------------------------------------------------------------------------------


def scene_timing(scene: Path) -> tuple[float, int]:
    """(frames per second, frames per camera) of a scene made by ``crosscam synth`` (its scene.json)."""
    meta = json.loads((scene / "scene.json").read_text())
    return float(meta["config"]["fps"]), int(meta["counts"]["frames_per_camera"])


def score_row(gt: MTMCBoxes, pred: MTMCBoxes) -> dict:
    score: MTMCScore = score_mtmc(gt, pred)
    return {"idf1": round(score.idf1, 4), "idp": round(score.idp, 4), "idr": round(score.idr, 4)}


def single_process(scene: Path, embedder: str, oracle: bool) -> dict:
    """``track_scene`` (what ``crosscam run`` does) with the shipped configs, scored."""
    from service.embedders import build_embedder
    from service.scene_run import track_scene
    from trackers.association import AssociationConfig
    from trackers.deepsort import DeepSortConfig
    from trackers.detection import DetectorConfig

    run = track_scene(
        scene, build_embedder(embedder), None if oracle else DetectorConfig.from_yaml(),
        DeepSortConfig.from_yaml(), AssociationConfig.from_yaml(), progress=False,
    )  # fmt: skip
    associator = run.association.associator
    rows = mtmc_rows(associator.tracklets.values(), associator.gid_of)
    return {
        **score_row(read_mtmc(scene / "gt" / "gt.txt", ground_truth=True), rows),
        "tracklets": len(associator.tracklets),
        "wall_s": round(run.wall_s, 2),
        "camera_seconds_per_second": round(run.camera_seconds_per_second, 3),
    }


def scale_out(
    scene: Path, redis_url: str, mode: str, embedder: str, oracle: bool, workdir: Path, worker_threads: int
) -> dict:
    """One scale-out run under a fresh key prefix (wiped after): API, one worker per camera, associator."""
    import redis

    from service.store.redis import RedisStore
    from service.streams import stream_drained

    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    prefix = f"crosscam-bench-scaleout-{uuid.uuid4().hex[:12]}"
    # One intra-op thread per worker by default: N workers on few cores would otherwise oversubscribe them.
    threads = {"OMP_NUM_THREADS": str(worker_threads)}
    crosscam = Crosscam(redis_url, prefix, workdir / mode / "logs")
    store = RedisStore(redis_url, prefix=prefix)
    client = redis.Redis.from_url(redis_url)
    fps, frames = scene_timing(scene)
    timeout_s = max(120.0, 4 * len(list(scene.glob("cam*.mp4"))) * frames / fps)  # ~0.25 camera-s/s at worst
    try:
        api, base = start_api(crosscam, embedder)
        cameras = register_scene(store, scene)
        snapshots = ["associator", "--snapshot-dir", str(workdir / mode / "snapshots")]
        start = time.perf_counter()
        associator = crosscam.start("associator", snapshots) if mode == "live" else None
        workers = [
            crosscam.start(cam, worker_args(scene, cam, embedder, oracle, realtime=mode == "live"), threads)
            for cam in cameras
        ]
        summaries = [worker_summary(crosscam.finish(w, timeout_s)) for w in workers]
        published_s = time.perf_counter() - start
        if associator is None:
            # One batch of everything: sorting a batch restores the single-process order within it only.
            whole = max(1, sum(s["emissions"] for s in summaries))
            associator = crosscam.start("associator", [*snapshots, "--batch", str(whole)])
        wait_until(lambda: stream_drained(client, prefix), "the associator drained the stream", timeout_s)
        wall = time.perf_counter() - start
        crosscam.stop(associator)
        gt = read_mtmc(scene / "gt" / "gt.txt", ground_truth=True)
        rows = store_mtmc_rows(store)
        with httpx.Client(base_url=base, timeout=30.0) as http:
            api_rows = rows_of_points(api_points(http))
        crosscam.stop(api)
        seconds = sum(s["frames"] for s in summaries) / fps
        return {
            **score_row(gt, rows),
            "api_rows_equal_store_rows": _same_rows(rows, api_rows),
            "tracklets": store.counts().tracklets,
            "tracklets_published": sum(s["tracklets"] for s in summaries),
            "emissions_published": sum(s["emissions"] for s in summaries),
            "workers": len(workers),
            "publish_s": round(published_s, 2),
            "wall_s": round(wall, 2),
            "camera_seconds_per_second": round(seconds / wall, 3),
        }
    finally:
        crosscam.stop_all()
        client.close()
        store.wipe()
        store.close()


def _same_rows(a: MTMCBoxes, b: MTMCBoxes) -> bool:
    order_a = np.lexsort([a.obj_id, a.frame_id, a.camera_id])
    order_b = np.lexsort([b.obj_id, b.frame_id, b.camera_id])
    return len(a) == len(b) and all(
        np.array_equal(getattr(a, f)[order_a], getattr(b, f)[order_b])
        for f in ("camera_id", "obj_id", "frame_id", "xywh", "world_xy")
    )


# ---- the benchmark ------------------------------------------------------------------------------------


def ensure_scene(root: Path, smoke: bool, seed: int = 1) -> Path:
    from synth.config import load_scene_config
    from synth.scene import generate_scene, scene_matches

    cfg = load_scene_config("default", seed=seed, smoke=smoke)
    folder = root / f"default_seed{seed}{'_smoke' if smoke else ''}"
    if not scene_matches(folder, cfg):
        generate_scene(cfg, folder, force=True, progress=False)
    return folder


def plot(report: dict, path: Path) -> Path:
    import matplotlib.pyplot as plt
    from _figures import save_figure

    runs = [("single process", report["single_process"])] + [
        (f"scale-out: {mode}", row) for mode, row in report["scale_out"].items()
    ]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    x = np.arange(len(runs))
    left.bar(x, [r["idf1"] for _, r in runs], color=["tab:gray"] + ["tab:blue"] * (len(runs) - 1))
    single = report["single_process"]["idf1"]
    left.axhspan(single - TOLERANCE, single + TOLERANCE, color="tab:green", alpha=0.25, label="target: ±0.01")
    for i, (_, r) in enumerate(runs):
        left.text(i, r["idf1"], f"{r['idf1']:.3f}", ha="center", va="bottom", fontsize=8)
    left.set_xticks(x, [name for name, _ in runs], fontsize=8)
    left.set_ylim(0, 1)
    left.set_ylabel("MTMC IDF1 (CityFlow protocol)")
    left.legend(loc="lower right", fontsize=8)
    right.bar(x, [r["camera_seconds_per_second"] for _, r in runs], color="tab:orange")
    right.set_xticks(x, [name for name, _ in runs], fontsize=8)
    right.set_ylabel("camera-seconds of video per second")
    fig.suptitle(f"{report['scene']}: {report['embedder']}, {report['detector']}")
    return save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument(
        "--modes",
        default=",".join(MODES),
        help=f"comma separated, of {', '.join(MODES)} (e.g. --modes after)",
    )
    parser.add_argument("--worker-threads", type=int, default=1, help="OMP_NUM_THREADS of each worker")
    parser.add_argument("--out", type=Path, default=Path("runs/bench/scaleout"))
    parser.add_argument(
        "--smoke", action="store_true", help="smoke-sized scene, ground-truth boxes, colourhog (seconds)"
    )
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:  # before the single-process run, not minutes into the benchmark
        parser.error(f"--modes: {', '.join(unknown) or 'none given'}; choose from {', '.join(MODES)}")
    args.out.mkdir(parents=True, exist_ok=True)
    scene = ensure_scene(args.out / "scenes", args.smoke)
    embedder, oracle = ("colourhog", True) if args.smoke else ("reid", False)
    report: dict = {
        "scene": scene.name,
        "embedder": embedder,
        "detector": "ground truth (oracle)" if oracle else "shipped YOLO",
        "cores": os.cpu_count(),
        "single_process": single_process(scene, embedder, oracle),
        "scale_out": {},
    }
    print(json.dumps({"single_process": report["single_process"]}), flush=True)
    for mode in modes:
        row = scale_out(scene, args.redis_url, mode, embedder, oracle, args.out / "work", args.worker_threads)
        row["idf1_gap"] = round(abs(row["idf1"] - report["single_process"]["idf1"]), 4)
        row["within_tolerance"] = row["idf1_gap"] <= TOLERANCE
        report["scale_out"][mode] = row
        print(json.dumps({mode: row}), flush=True)
    report["tolerance"] = TOLERANCE
    report["figure"] = str(plot(report, args.out / "scaleout.png"))
    (args.out / "scaleout.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
