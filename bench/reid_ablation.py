"""Benchmark: the seed paper's Table 4 (ablation of the Re-ID method's modules) on the synthetic town.

    .venv/bin/python bench/reid_ablation.py [--preset hard] [--train-seed 301] [--eval-seed 302]
        [--out runs/bench/reid] [--rows full,mae_random,...] [--set key=value ...] [--smoke] [--resume]
    (a smoke run needs seeds whose tiny scenes have queries: --smoke --preset default --train-seed 3 --eval-seed 3)

Training crops: every crop of the train-seed scene (``data.train_splits: [train, gallery]``; no identity is
read by the unsupervised rows). Query/gallery: the held-out eval-seed scene. Rows (METHOD.md):
random init, MAE(random), SAM-MAE without meta-learning, meta-learning without SAM-MAE, the full method,
and a supervised upper bound (true identities); and the full method without camera-aware clustering, the
one step this repository adds to the seed's method (each row sets ``train.cluster.camera_centre``). Each
pre-trained encoder is also scored as it is, before any Re-ID training, and so is the tracker's training-free
ColourHog embedder. Prints a markdown table (mAP, Rank-1, Rank-5), writes ``<out>/ablation.json`` and
``<out>/ablation.png``. ``--resume`` reuses the rows and pre-trainings already finished in ``<out>``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import matplotlib.pyplot as plt
import torch
from _figures import save_figure

from models.reid.config import ReidConfig, load_reid_config
from models.reid.data import load_veri
from models.reid.evaluate import evaluate_features
from models.reid.stages import run_eval, run_pretrain, run_segment, run_train, run_train_supervised
from synth.config import load_scene_config
from synth.scene import generate_scene, scene_matches
from trackers.appearance import ColourHogEmbedder


@dataclass(frozen=True)
class Row:
    """One row of the table: its label, the pre-training it starts from (sam, random or None), whether it
    uses meta-learning, true identities, and camera-aware clustering (``train.cluster.camera_centre``)."""

    label: str
    init: str | None
    meta: bool
    supervised: bool = False
    camera_centre: bool = True


# In the order they run.
ROWS: dict[str, Row] = {
    "mae_random": Row("MAE(Random)", "random", meta=False),
    "full": Row("Ours (SAM-MAE + Bg-Meta)", "sam", meta=True),
    "sam_mae_no_meta": Row("Ours w/o Bg-Meta (SAM-MAE only)", "sam", meta=False),
    "meta_no_sam_mae": Row("Ours w/o SAM-driven MAE (Bg-Meta only)", "random", meta=True),
    "supervised": Row("Supervised upper bound (true ids)", "sam", meta=False, supervised=True),
    "random_init": Row("Random init (no pre-training)", None, meta=False),
    "full_no_camera": Row("Ours without camera-aware clustering", "sam", meta=True, camera_centre=False),
}
TARGET_GAIN = 0.05
TARGET_MAP = 0.70


def scene(preset: str, seed: int, root: Path, smoke: bool) -> Path:
    cfg = load_scene_config(preset, seed=seed, smoke=smoke)
    out = root / f"{preset}_seed{seed}{'_smoke' if smoke else ''}"
    if not scene_matches(out, cfg):
        generate_scene(cfg, out, force=True)
    return out / "reid"


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def pretrained(cfg: ReidConfig, masking: str, train_root: Path, segments: Path, out: Path, resume: bool):
    ckpt = out / f"pretrain_{masking}" / "pretrain.pt"
    if resume and ckpt.is_file():
        return ckpt, json.loads((ckpt.parent / "pretrain.json").read_text())["seconds"]
    pcfg = cfg.model_copy(update={"pretrain": cfg.pretrain.model_copy(update={"masking": masking})})
    result = run_pretrain(pcfg, train_root, segments, ckpt.parent)
    return ckpt, result.seconds


def train_row(name: str, cfg: ReidConfig, init: Path | None, args, train_root, eval_root, segments) -> dict:
    row = ROWS[name]
    row_dir = args.out / name
    if args.resume and (row_dir / "row.json").is_file():
        return json.loads((row_dir / "row.json").read_text())
    cluster = cfg.train.cluster.model_copy(update={"camera_centre": row.camera_centre})
    rcfg = cfg.model_copy(
        update={"train": cfg.train.model_copy(update={"meta": row.meta, "cluster": cluster})}
    )
    if row.supervised:
        result = run_train_supervised(rcfg, train_root, init, row_dir, eval_root)
    else:
        result = run_train(rcfg, train_root, init, segments if row.meta else None, row_dir, eval_root)
    record = {"row": name, "label": row.label, "seconds": round(result.seconds, 1), **result.final_eval}
    record["curve_mAP"] = [e.eval["mAP"] for e in result.epochs if e.eval]
    record["clusters"] = [e.n_clusters for e in result.epochs]
    (row_dir / "row.json").write_text(json.dumps(record, indent=2))
    return record


def colourhog_row(eval_root: Path) -> dict:
    """The tracker's training-free stand-in embedder (colour histograms + HOG) on the same query/gallery."""
    data = load_veri(eval_root)
    embedder = ColourHogEmbedder()
    started = time.perf_counter()
    q = embedder.embed([cv2.imread(str(r.path)) for r in data.query])
    g = embedder.embed([cv2.imread(str(r.path)) for r in data.gallery])
    score = evaluate_features(q, g, data.query, data.gallery).as_dict()
    return {
        "row": "colourhog",
        "label": "ColourHog stand-in (no training)",
        "seconds": 0.0,
        **score,
        "embed_seconds": round(time.perf_counter() - started, 1),
    }


def markdown(rows: list[dict]) -> str:
    lines = ["| method | mAP | Rank-1 | Rank-5 | train time (s) |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['label']} | {100 * r['mAP']:.1f} | {100 * r['rank1']:.1f} | {100 * r['rank5']:.1f} "
            f"| {r['seconds']:.0f} |"
        )
    return "\n".join(lines)


def bar_chart(rows: list[dict], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 1.5))
    labels = [r["label"] for r in rows][::-1]
    ax.barh(labels, [100 * r["mAP"] for r in rows][::-1], color="#4c72b0", label="mAP")
    ax.barh(labels, [100 * r["rank1"] for r in rows][::-1], color="none", edgecolor="#dd8452", label="Rank-1")
    ax.set_xlabel("%")
    ax.set_xlim(0, 100)
    ax.legend(loc="lower right")
    ax.set_title("Re-ID ablation on the synthetic town (held-out seed)")
    save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="hard")
    parser.add_argument("--train-seed", type=int, default=301)
    parser.add_argument("--eval-seed", type=int, default=302)
    parser.add_argument("--out", type=Path, default=Path("runs/bench/reid"))
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated subset of {', '.join(ROWS)}")
    parser.add_argument("--config", type=Path, default=None, help="Re-ID YAML (default: the shipped one)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="dotted.key=value")
    parser.add_argument("--smoke", action="store_true", help="smoke scenes and sizes (seconds)")
    parser.add_argument("--resume", action="store_true", help="reuse finished rows in --out")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = [r for r in args.rows.split(",") if r]
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")

    started = time.perf_counter()
    train_root = scene(args.preset, args.train_seed, args.out / "scenes", args.smoke)
    eval_root = scene(args.preset, args.eval_seed, args.out / "scenes", args.smoke)
    cfg = load_reid_config(args.config, ["data.train_splits=[train, gallery]", *args.overrides], args.smoke)
    args.out.mkdir(parents=True, exist_ok=True)
    segments = args.out / "segments.npz"
    seg_record = args.out / "segments.json"
    if args.resume and segments.is_file() and seg_record.is_file():
        seg_seconds = json.loads(seg_record.read_text())["seconds"]
    else:
        _, seg_seconds = timed(lambda: run_segment(cfg, train_root, segments))
        seg_record.write_text(json.dumps({"seconds": seg_seconds}))

    inits: dict[str, Path] = {}
    pretrain_seconds: dict[str, float] = {}
    results: list[dict] = [colourhog_row(eval_root)]
    for masking in sorted({ROWS[r].init for r in rows if ROWS[r].init}):
        inits[masking], pretrain_seconds[masking] = pretrained(
            cfg, masking, train_root, segments, args.out, args.resume
        )
        score = run_eval(inits[masking], eval_root, cfg, progress=False).as_dict()
        label = "SAM-MAE" if masking == "sam" else "MAE(Random)"
        results.append(
            {
                "row": f"pretrained_{masking}",
                "label": f"{label} features, no Re-ID training",
                "seconds": pretrain_seconds[masking],
                **score,
            }
        )
    for name in rows:
        init = inits.get(ROWS[name].init) if ROWS[name].init else None
        results.append(train_row(name, cfg, init, args, train_root, eval_root, segments))

    by_row = {r["row"]: r for r in results}
    checks = {}
    if "full" in by_row and "mae_random" in by_row:
        gain = by_row["full"]["mAP"] - by_row["mae_random"]["mAP"]
        checks["full_minus_mae_random_mAP"] = round(gain, 4)
        checks["gain_target_met"] = gain >= TARGET_GAIN
    if "full" in by_row and "full_no_camera" in by_row:
        checks["camera_aware_gain_mAP"] = round(by_row["full"]["mAP"] - by_row["full_no_camera"]["mAP"], 4)
    if "full" in by_row:
        checks["full_mAP_target_met"] = by_row["full"]["mAP"] >= TARGET_MAP
    table = markdown(results)
    report = {
        "preset": args.preset,
        "train_seed": args.train_seed,
        "eval_seed": args.eval_seed,
        "smoke": args.smoke,
        "config": cfg.model_dump(mode="json"),
        "segment_seconds": round(seg_seconds, 1),
        "pretrain_seconds": {k: round(v, 1) for k, v in pretrain_seconds.items()},
        "seconds_this_run": round(time.perf_counter() - started, 1),
        "machine": {
            "cpu_threads": args.threads,
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "rows": results,
        "checks": checks,
    }
    (args.out / "ablation.json").write_text(json.dumps(report, indent=2))
    bar_chart(results, args.out / "ablation.png")
    print(table)
    print(
        json.dumps(
            {
                "checks": checks,
                "seconds_this_run": report["seconds_this_run"],
                "json": str(args.out / "ablation.json"),
            }
        )
    )


if __name__ == "__main__":
    main()
