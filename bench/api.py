"""Benchmark: REST API read latency over a Redis-backed store of 10,000 identities, 50 concurrent clients.

    .venv/bin/python bench/api.py [--identities 10000] [--requests N] [--clients 50] [--max-seconds S]
        [--load wrk|httpx] [--server-workers 2] [--client-processes 1]
        [--redis-url redis://127.0.0.1:6379/0] [--out runs/bench/api] [--smoke]

The API (``create_app`` over a ``RedisStore`` under a fresh ``bench-<uuid>`` prefix) runs under uvicorn in
``--server-workers`` child processes sharing one free loopback port (SO_REUSEPORT: the kernel spreads the
connections). The store is filled directly: each identity has 1-3 tracklets on distinct cameras (of 8),
each tracklet ~50 trajectory points (5 s at 10 Hz) and a 192-float embedding. Then ``--clients`` concurrent
keep-alive connections with no think time send requests, each run ending after ``--max-seconds`` (wrk: 15 s
a run) or ``--requests`` answers (wrk: 100,000; httpx: 5,000, all clients together), whichever comes first:
GET /api/v1/identities/{id}, GET /api/v1/identities/{id}/trajectory?limit=100 and
GET /api/v1/identities?camera=...&limit=50, ids and cameras drawn uniformly.

``--load wrk`` (the default when Debian's ``wrk`` is installed: ``apt-get install wrk``) drives the clients
from wrk (C, one thread, ``bench/api_wrk.lua``): one run per query kind, one of the target's reads (identity
and trajectory, half each) and one of the mix (40 / 40 / 20 % with the list query),
so a Python load generator does not take the CPU the server is measured on. ``--load httpx`` runs the mix
from ``httpx.AsyncClient``s spread over ``--client-processes`` processes, and reports each kind within it.
Two server workers by default: one per core of the 2-core machine, as a deployment runs a replica per core.
Latency is wall time per request as the client sees it (ms). The report adds the same mix from one client
alone (the service time) and the store calls of each route timed directly (the store's share). Closed-loop
clients wait about clients / throughput on average, so the target needs ~2,000 requests/s. Prints JSON; writes
``<out>/api.json`` and ``<out>/api.png``; wipes its Redis prefix at the end.
Target: p99 <= 50 ms for GET identity and GET trajectory page with 10,000 identities and 50 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import shutil
import socket
import sys
import time
import uuid
from pathlib import Path

import httpx
import matplotlib.pyplot as plt
import numpy as np
from _api_load import CAMERAS, QUERY_MIX, load, request_plan, run_clients, run_wrk
from _figures import save_figure
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.settings import ServiceSettings
from service.store import TrackletRecord, TrajectoryPoint, tracklet_id
from service.store.redis import RedisStore

TARGET_P99_MS = 50.0
TARGET_KINDS = ("identity", "trajectory", "reads")
POINTS_PER_TRACKLET = 50
POINT_HZ = 10.0
EMBEDDING_DIM = 192  # the shipped Re-ID model's
SCENE_S = 3600.0  # identities first appear anywhere in this hour
SERVER_START_TIMEOUT_S = 30.0
WARMUP_REQUESTS = 200
# Requests of the same mix from one client alone: the service time, without waiting behind other clients.
UNLOADED_REQUESTS = 300
LOOPBACK = "127.0.0.1"
WRK_KINDS = ("identity", "trajectory", "list", "reads", "mix")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def serve(redis_url: str, prefix: str, port: int) -> None:
    """One server process: the API over the benchmark's Redis prefix on ``port`` (shared), until terminated."""
    import uvicorn

    from service.api.app import create_app

    settings = ServiceSettings(_env_file=None, REDIS_URL=redis_url, redis_prefix=prefix, log_level="warning")
    app = create_app(settings, RedisStore(redis_url, prefix=prefix))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # every worker listens on the one port
    sock.bind((LOOPBACK, port))
    config = uvicorn.Config(app, log_level="warning", access_log=False, backlog=4096)
    uvicorn.Server(config).run(sockets=[sock])


def fill(store: RedisStore, identities: int, rng: random.Random) -> dict:
    """Record ``identities`` identities through the store (ids 1..N); returns what was written."""
    tracklets = points = 0
    started = time.perf_counter()
    for gid in tqdm(range(1, identities + 1), desc="fill identities", unit="id", mininterval=1.0):
        t = rng.uniform(0.0, SCENE_S)
        for local, camera_id in enumerate(rng.sample(CAMERAS, rng.randint(1, 3)), start=1):
            n = rng.randint(POINTS_PER_TRACKLET - 5, POINTS_PER_TRACKLET + 5)
            embedding = np.asarray([rng.gauss(0.0, 1.0) for _ in range(EMBEDDING_DIM)])
            embedding /= np.linalg.norm(embedding)
            record = TrackletRecord(
                tracklet_id=tracklet_id(camera_id, gid * 10 + local),
                camera_id=camera_id,
                local_track_id=gid * 10 + local,
                global_id=gid,
                t_start=t,
                t_end=t + (n - 1) / POINT_HZ,
                n_obs=n,
                embedding=tuple(round(float(v), 4) for v in embedding),
            )
            x = rng.uniform(0.0, 1200.0)
            track = [
                TrajectoryPoint(
                    tracklet_id=record.tracklet_id,
                    camera_id=camera_id,
                    frame=int(t * POINT_HZ) + i + 1,
                    t=round(t + i / POINT_HZ, 3),
                    xyxy=(round(x + 2.0 * i, 1), 300.0, round(x + 2.0 * i + 80.0, 1), 360.0),
                    world=(round(0.3 * i, 2), round(12.0 - 0.1 * i, 2)),
                )
                for i in range(n)
            ]
            store.record_tracklet(record, track)
            tracklets += 1
            points += n
            t = record.t_end + rng.uniform(5.0, 60.0)  # the next camera sees it a little later
    return {
        "identities": identities,
        "tracklets": tracklets,
        "points": points,
        "fill_s": round(time.perf_counter() - started, 1),
    }


def wait_until_up(base_url: str, servers: list[multiprocessing.Process]) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        for server in servers:
            if not server.is_alive():
                raise SystemExit(f"an API server process exited with code {server.exitcode} before answering")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(
        f"the API server did not answer {base_url}/healthz within {SERVER_START_TIMEOUT_S:.0f} s"
    )


def percentile_chart(runs: dict[str, dict], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))

    def nines(p: float) -> float:  # 90 -> 1, 99 -> 2, 99.9 -> 3: spreads out the tail
        return -np.log10(1 - p / 100)

    for kind, run in runs.items():
        pct = run["percentiles_ms"]
        x = [nines(float(p)) for p in pct]
        ax.plot(x, list(pct.values()), marker="o", label=f"{kind} ({run['count']})")
    ax.axhline(TARGET_P99_MS, color="grey", linestyle="--", label="target p99")
    ticks = (50, 90, 99, 99.9)
    ax.set_xticks([nines(p) for p in ticks], [str(p) for p in ticks])
    ax.set(
        yscale="log", xlabel="percentile", ylabel="latency ms (client side)", title="API read latency (wrk)"
    )
    ax.legend()
    save_figure(fig, path)


def store_latency(store: RedisStore, identities: int, rng: random.Random, n: int) -> dict:
    """ms per kind of what each route asks the store, called directly (no HTTP): the store's share."""
    from service.store import IdentityQuery

    calls = {
        "identity": lambda gid: store.tracklets_of(store.get_identity(gid).global_id),
        "trajectory": lambda gid: store.trajectory(gid, limit=100),
        "list": lambda gid: store.list_identities(IdentityQuery(camera=rng.choice(CAMERAS), limit=50)),
    }
    out = {}
    for kind, call in calls.items():
        values = []
        for _ in range(n):
            gid = rng.randint(1, identities)
            started = time.perf_counter()
            call(gid)
            values.append((time.perf_counter() - started) * 1e3)
        out[kind] = summarise(values)
    return out


def by_kind(latencies: list[tuple[str, float]]) -> dict:
    return {kind: summarise([ms for k, ms in latencies if k == kind]) for kind, _ in QUERY_MIX}


def summarise(values: list[float]) -> dict:
    if not values:
        return {"count": 0, "p50_ms": None, "p99_ms": None, "mean_ms": None}
    lat = np.asarray(values)
    return {
        "count": len(values),
        "p50_ms": round(float(np.percentile(lat, 50)), 2),
        "p99_ms": round(float(np.percentile(lat, 99)), 2),
        "mean_ms": round(float(lat.mean()), 2),
    }


def chart(latencies: list[tuple[str, float]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    all_ms = [ms for _, ms in latencies] or [1.0]
    bins = np.geomspace(max(min(all_ms), 0.1), max(max(all_ms), TARGET_P99_MS * 1.2), 60)
    for kind, _ in QUERY_MIX:
        values = [ms for k, ms in latencies if k == kind]
        if values:
            ax.hist(values, bins=bins, histtype="step", linewidth=1.5, label=f"{kind} ({len(values)})")
    ax.axvline(TARGET_P99_MS, color="grey", linestyle="--", label="target p99")
    ax.set(xscale="log", xlabel="latency ms (client side)", ylabel="requests", title="API read latency")
    ax.legend()
    save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identities", type=int, default=10_000)
    parser.add_argument(
        "--requests", type=int, default=None, help="request cap per run (default: wrk 100000, httpx 5000)"
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--max-seconds", type=float, default=None, help="length of a run (s; default: wrk 15, httpx 120)"
    )
    parser.add_argument("--server-workers", type=int, default=2, help="uvicorn processes sharing the port")
    parser.add_argument(
        "--load",
        choices=("wrk", "httpx"),
        default="wrk" if shutil.which("wrk") else "httpx",
        help="load generator (default: wrk when installed)",
    )
    parser.add_argument("--client-processes", type=int, default=1, help="load-generator processes")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--out", type=Path, default=Path("runs/bench/api"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: 200 identities, 300 requests, 2 s")
    args = parser.parse_args()
    wrk = args.load == "wrk"
    args.requests = args.requests or (100_000 if wrk else 5_000)
    args.max_seconds = args.max_seconds or (15.0 if wrk else 120.0)
    if args.smoke:
        args.identities, args.requests, args.clients, args.max_seconds = 200, 300, 10, 2.0
    rng = random.Random(args.seed)
    prefix = f"bench-{uuid.uuid4().hex}"
    store = RedisStore(args.redis_url, prefix=prefix)
    store.ping()  # an unreachable Redis stops here with the fix in the message
    port = free_port()
    base_url = f"http://{LOOPBACK}:{port}"
    spawn = multiprocessing.get_context("spawn")
    servers = [
        spawn.Process(target=serve, args=(args.redis_url, prefix, port), daemon=True)
        for _ in range(args.server_workers)
    ]
    try:
        written = fill(store, args.identities, rng)
        for server in servers:
            server.start()
        wait_until_up(base_url, servers)
        warmup = request_plan(WARMUP_REQUESTS * args.server_workers, args.identities, rng)
        asyncio.run(run_clients(base_url, warmup, args.clients, 30.0))
        alone = asyncio.run(
            run_clients(base_url, request_plan(UNLOADED_REQUESTS, args.identities, rng), 1, 30.0)
        )[0]
        in_store = store_latency(store, args.identities, rng, UNLOADED_REQUESTS)
        if args.load == "wrk":
            runs = {
                kind: run_wrk(
                    base_url,
                    kind,
                    args.identities,
                    args.clients,
                    args.requests,
                    args.max_seconds,
                    args.seed + i,
                )
                for i, kind in enumerate(tqdm(WRK_KINDS, desc="wrk runs", unit="run"))
            }
        else:
            plan = request_plan(args.requests, args.identities, rng)
            latencies, errors, elapsed_s = load(
                base_url, plan, args.clients, args.client_processes, args.max_seconds
            )
    finally:
        for server in servers:
            if server.is_alive():
                server.terminate()
                server.join(timeout=10)
        store.wipe()
        store.close()
    common = {
        **written,
        "load": args.load,
        "clients": args.clients,
        "server_workers": args.server_workers,
        "cpu_cores": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "requests_planned": args.requests,
    }
    if args.load == "wrk":
        loaded = {kind: {k: v for k, v in run.items() if k != "percentiles_ms"} for kind, run in runs.items()}
        measured = {
            "latency": loaded,
            "latency_percentiles_ms": {k: r["percentiles_ms"] for k, r in runs.items()},
        }
    else:
        loaded = by_kind(latencies)
        measured = {
            "client_processes": args.client_processes,
            "requests_answered": len(latencies),
            "errors": {"total": sum(errors.values()), **errors},
            "elapsed_s": round(elapsed_s, 2),
            "requests_per_s": round(len(latencies) / elapsed_s, 1) if elapsed_s > 0 else None,
            "latency": {**loaded, "overall": summarise([ms for _, ms in latencies])},
        }
    report = {
        **common,
        **measured,
        "latency_one_client": by_kind(alone),
        "latency_store_calls": in_store,
        "target": {"p99_ms": TARGET_P99_MS, "kinds": list(TARGET_KINDS)},
        "checks": {
            f"{kind}_p99_target_met": loaded[kind]["p99_ms"] is not None
            and loaded[kind]["p99_ms"] <= TARGET_P99_MS
            for kind in TARGET_KINDS
            if kind in loaded  # the httpx mix has no separate "reads" run
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "api.json").write_text(json.dumps(report, indent=2))
    if args.load == "wrk":
        percentile_chart(runs, args.out / "api.png")
    else:
        chart(latencies, args.out / "api.png")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
