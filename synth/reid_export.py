"""The Re-ID crop set in VeRi-776 layout: query selection and the index of every crop.

Layout: ``image_train/`` (training identities), ``image_test/`` (gallery: every crop of the other identities),
``image_query/`` (one crop per camera of each test identity seen by at least two cameras; a copy of a gallery
crop, as in VeRi-776, whose evaluation drops same-identity same-camera gallery entries). ``mask_*`` hold the
vehicle's visible pixels of each crop (PNG, 255 = vehicle) under the same names.
"""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

STREAM_REID_SPLIT = 6


def split_identities(vehicle_ids: list[int], train_fraction: float, seed: int) -> frozenset[int]:
    """Identity-disjoint split: the ids whose crops go to image_train."""
    ids = np.array(sorted(vehicle_ids), dtype=np.int64)
    rng = np.random.default_rng([seed, STREAM_REID_SPLIT])
    chosen = rng.permutation(ids)[: round(train_fraction * len(ids))]
    return frozenset(int(i) for i in chosen)


def pick_queries(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One query per (test identity, camera) for identities crossing >= 2 cameras: the crop nearest the middle
    of that identity's visit to that camera, so queries are neither the tiny first nor last sightings."""
    by_key: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        if rec["split"] == "test":
            by_key[(rec["vehicle_id"], rec["camera_id"])].append(rec)
    cams_per_id: dict[int, int] = defaultdict(int)
    for vid, _cam in by_key:
        cams_per_id[vid] += 1
    queries = []
    for (vid, _cam), recs in sorted(by_key.items()):
        if cams_per_id[vid] >= 2:
            recs = sorted(recs, key=lambda r: r["frame"])
            queries.append(recs[len(recs) // 2])
    return queries


def finish_reid_set(reid_dir: Path, records: list[dict[str, Any]]) -> dict[str, int]:
    """Copy the query crops, write ``index.csv``; returns image and identity counts per split."""
    for sub in ("image_query", "mask_query"):
        (reid_dir / sub).mkdir(parents=True, exist_ok=True)
    queries = pick_queries(records)
    for q in queries:
        shutil.copyfile(reid_dir / "image_test" / q["name"], reid_dir / "image_query" / q["name"])
        mask = q["name"].replace(".jpg", ".png")
        shutil.copyfile(reid_dir / "mask_test" / mask, reid_dir / "mask_query" / mask)
    rows = [dict(r) for r in records] + [dict(q, split="query") for q in queries]
    rows.sort(key=lambda r: (r["split"], r["name"]))
    fields = [
        "name",
        "split",
        "vehicle_id",
        "camera_id",
        "frame",
        "x",
        "y",
        "w",
        "h",
        "visibility",
        "type",
        "colour",
    ]
    with (reid_dir / "index.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    counts: dict[str, int] = {}
    for split in ("train", "test", "query"):
        sel = [r for r in rows if r["split"] == split]
        counts[f"{split}_images"] = len(sel)
        counts[f"{split}_identities"] = len({r["vehicle_id"] for r in sel})
    return counts
