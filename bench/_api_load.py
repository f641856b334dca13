"""bench/api.py's two load generators: wrk (C; ``bench/api_wrk.lua``), and httpx clients in Python.

Each sends GET requests to the API from concurrent keep-alive connections with no think time and reports
client-side latency in ms: wrk as its percentiles, one run per query kind; httpx as (kind, ms) per request.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import subprocess
import time
from pathlib import Path

import httpx

CAMERAS = tuple(f"cam{i:02d}" for i in range(1, 9))
QUERY_MIX = (("identity", 0.4), ("trajectory", 0.4), ("list", 0.2))
WRK_SCRIPT = Path(__file__).resolve().parent / "api_wrk.lua"
WRK_PERCENTILES = ("1", "10", "25", "50", "75", "90", "95", "99", "99.5", "99.9")


def request_plan(n: int, identities: int, rng: random.Random) -> list[tuple[str, str]]:
    """``n`` (kind, path) requests in the benchmark's mix."""
    kinds = rng.choices([k for k, _ in QUERY_MIX], weights=[w for _, w in QUERY_MIX], k=n)
    plan = []
    for kind in kinds:
        gid = rng.randint(1, identities)
        if kind == "identity":
            plan.append((kind, f"/api/v1/identities/{gid}"))
        elif kind == "trajectory":
            plan.append((kind, f"/api/v1/identities/{gid}/trajectory?limit=100"))
        else:
            plan.append((kind, f"/api/v1/identities?camera={rng.choice(CAMERAS)}&limit=50"))
    return plan


async def run_clients(
    base_url: str, plan: list[tuple[str, str]], clients: int, max_seconds: float
) -> tuple[list[tuple[str, float]], dict[str, int], float]:
    """Send ``plan`` from ``clients`` keep-alive clients at once; returns ((kind, ms) per answered request,
    errors by kind, elapsed s). Stops taking new requests after ``max_seconds``."""
    latencies: list[tuple[str, float]] = []
    errors: dict[str, int] = {}
    queue = iter(plan)
    deadline = time.perf_counter() + max_seconds

    async def client() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0) as http:
            for kind, path in queue:
                if time.perf_counter() > deadline:
                    return
                started = time.perf_counter()
                try:
                    response = await http.get(path)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed_ms = (time.perf_counter() - started) * 1e3
                if ok:
                    latencies.append((kind, elapsed_ms))
                else:
                    errors[kind] = errors.get(kind, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, errors, time.perf_counter() - started


def client_process(
    base_url: str, plan: list[tuple[str, str]], clients: int, max_seconds: float
) -> tuple[list[tuple[str, float]], dict[str, int], float]:
    """One load-generator process: ``run_clients`` on its share of the plan."""
    return asyncio.run(run_clients(base_url, plan, clients, max_seconds))


def load(
    base_url: str, plan: list[tuple[str, str]], clients: int, processes: int, max_seconds: float
) -> tuple[list[tuple[str, float]], dict[str, int], float]:
    """``plan`` from ``clients`` clients over ``processes`` processes; returns (kind, ms) per answered request,
    errors by kind, and the throughput's time base (s): answered / sum of each process's rate."""
    if processes == 1:
        return client_process(base_url, plan, clients, max_seconds)
    shares = [
        (base_url, plan[i::processes], len(range(i, clients, processes)), max_seconds)
        for i in range(processes)
    ]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        results = pool.starmap(client_process, shares)
    latencies = [row for lat, _, _ in results for row in lat]
    errors: dict[str, int] = {}
    for _, errs, _ in results:
        for kind, n in errs.items():
            errors[kind] = errors.get(kind, 0) + n
    # Processes start a little apart: add up each one's rate rather than divide by the spread of all.
    rate = sum(len(lat) / elapsed for lat, _, elapsed in results if elapsed > 0)
    return latencies, errors, len(latencies) / rate if rate else 0.0


def run_wrk(base_url: str, kind: str, identities: int, clients: int, requests: int, max_seconds: float,
            seed: int) -> dict:  # fmt: skip
    """One wrk run of ``kind`` (a query kind or "mix") from ``clients`` connections, stopping after
    ``requests`` answers or ``max_seconds``; returns wrk's figures (ms)."""
    env = {
        **os.environ,
        "KIND": kind,
        "IDENTITIES": str(identities),
        "CAMERAS": ",".join(CAMERAS),
        "CAP": str(requests),
        "SEED": str(seed),
    }
    command = ["wrk", "-t1", f"-c{clients}", f"-d{max(int(max_seconds), 1)}s", "--timeout", "10s",
               "-s", str(WRK_SCRIPT), base_url]  # fmt: skip
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=max_seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if out.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed (exit {out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
    figures = json.loads(line.removeprefix("WRK_JSON "))
    pct = figures["percentiles_ms"]
    capped = figures["requests"] >= requests
    return {
        "count": figures["requests"],
        # wrk's clock runs its whole -d duration even when the cap stopped the requests: no rate then
        "requests_per_s": None if capped else round(figures["requests"] / figures["duration_s"], 1),
        "cap_reached": capped,
        "p50_ms": round(pct["50"], 2),
        "p99_ms": round(pct["99"], 2),
        "p99.9_ms": round(pct["99.9"], 2),
        "mean_ms": round(figures["mean_ms"], 2),
        "max_ms": round(figures["max_ms"], 2),
        "errors": sum(figures["errors"].values()),
        "percentiles_ms": {p: round(pct[p], 2) for p in WRK_PERCENTILES},
    }
