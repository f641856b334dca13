"""Benchmark: multi-camera tracking quality (IDF1, IDP, IDR) and speed over synthetic scenes, end to end.

    .venv/bin/python bench/mtmc.py [--scenes default:1,default:2,hard:303] [--embedders colourhog,reid]
        [--max-seconds-hard 90] [--oracle] [--threads 2] [--out runs/bench/mtmc] [--smoke]

For each scene and embedder the whole pipeline runs once (shipped detector, DeepSORT, tracklets, online
association) and is scored twice: online only, and online + the offline refinement. Scenes are generated under
``<out>/scenes`` when missing; their seeds are never used to train the shipped models (the Re-ID model was
trained on hard seed 301, the detector on seeds 101-106, 201-202 and 900). ``--max-seconds-hard`` scores only the first
seconds of hard scenes (ground truth cut to the same frames) to bound the run time on two cores.
Speed is camera-seconds of video processed per second of wall time (all cameras together).
Prints JSON; writes ``<out>/mtmc.json`` and ``<out>/mtmc.png``. Gallery latency/memory/recall figures come
from ``bench/gallery.py``.
Targets (issue 6): online IDF1 >= 0.85 on the default preset, >= 0.75 on the hard preset.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from _figures import save_figure

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.embedders import build_embedder
from service.scene_run import track_scene
from synth.config import load_scene_config
from synth.scene import generate_scene, scene_matches
from trackers.association import AssociationConfig
from trackers.deepsort import DeepSortConfig
from trackers.detection import DetectorConfig
from trackers.metrics import MTMCBoxes, read_mtmc, score_mtmc
from trackers.multicam import mtmc_rows
from trackers.refine import refine_identities

TARGETS = {"default": 0.85, "hard": 0.75}


def ensure_scene(preset: str, seed: int, root: Path, smoke: bool) -> Path:
    cfg = load_scene_config(preset, seed=seed, smoke=smoke)
    folder = root / f"{preset}_seed{seed}{'_smoke' if smoke else ''}"
    if not scene_matches(folder, cfg):
        generate_scene(cfg, folder, force=True)
    return folder


def cut(boxes: MTMCBoxes, last_frame: int | None) -> MTMCBoxes:
    if last_frame is None:
        return boxes
    keep = boxes.frame_id <= last_frame
    return MTMCBoxes(
        boxes.camera_id[keep],
        boxes.obj_id[keep],
        boxes.frame_id[keep],
        boxes.xywh[keep],
        boxes.world_xy[keep],
    )


def evaluate(scene: Path, embedder: str, oracle: bool, max_frames: int | None) -> dict:
    appearance = build_embedder(embedder)
    detector = None if oracle else DetectorConfig.from_yaml()
    config = AssociationConfig.from_yaml()
    result = track_scene(
        scene, appearance, detector, DeepSortConfig.from_yaml(), config, max_frames=max_frames
    )
    associator = result.association.associator
    gt = cut(read_mtmc(scene / "gt" / "gt.txt", ground_truth=True), max_frames)
    tracklets = list(associator.tracklets.values())
    row = {
        "scene": scene.name,
        "embedder": embedder,
        "detector": "ground truth (oracle)" if oracle else "shipped YOLO",
        "frames_per_camera": max_frames or "all",
        "tracklets": len(tracklets),
        "wall_s": round(result.wall_s, 1),
        "camera_seconds_per_second": round(result.camera_seconds_per_second, 3),
        "stage_ms_per_frame": {cam: r.stage_ms for cam, r in result.cameras.items()},
        "errors": {cam: r.error for cam, r in result.cameras.items() if r.error},
    }
    for mode, gid_of in (
        ("online", associator.gid_of),
        ("refined", refine_identities(associator, config.refine)),
    ):
        score = score_mtmc(gt, mtmc_rows(tracklets, gid_of))
        row[mode] = {"idf1": round(score.idf1, 4), "idp": round(score.idp, 4), "idr": round(score.idr, 4)}
    row["topology"] = {f"{a}->{b}": v for (a, b), v in associator.topology.learned_pairs().items() if a != b}
    return row


def plot(rows: list[dict], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(rows)), 4))
    labels = [f"{r['scene']}\n{r['embedder']}" for r in rows]
    x = np.arange(len(rows))
    for offset, mode in ((-0.2, "online"), (0.2, "refined")):
        ax.bar(x + offset, [r[mode]["idf1"] for r in rows], width=0.4, label=f"{mode} IDF1")
    for i, r in enumerate(rows):
        target = TARGETS.get(r["scene"].split("_")[0])
        if target:
            ax.hlines(target, i - 0.4, i + 0.4, colors="k", linestyles="--")
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("IDF1 (all cameras, CityFlow protocol)")
    ax.set_title("MTMC tracking on the synthetic town (dashed: issue-6 online targets)")
    ax.legend(loc="lower right")
    return save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenes", default="default:1,default:2,hard:303", help="preset:seed, comma separated"
    )
    parser.add_argument("--embedders", default="colourhog,reid")
    parser.add_argument("--max-seconds-hard", type=float, default=90.0, help="0 = the whole recording")
    parser.add_argument("--oracle", action="store_true", help="ground-truth boxes instead of the detector")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/bench/mtmc"))
    parser.add_argument(
        "--smoke", action="store_true", help="smoke-sized scenes (seconds), for a quick check"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for item in args.scenes.split(","):
        preset, seed = item.split(":")
        scene = ensure_scene(preset, int(seed), args.out / "scenes", args.smoke)
        fps = load_scene_config(preset, seed=int(seed)).fps
        limit = int(args.max_seconds_hard * fps) if preset == "hard" and args.max_seconds_hard > 0 else None
        for embedder in args.embedders.split(","):
            rows.append(evaluate(scene, embedder, args.oracle, limit))
            print(
                json.dumps({k: rows[-1][k] for k in ("scene", "embedder", "online", "refined", "wall_s")}),
                flush=True,
            )
    checks = {}
    for r in rows:
        target = TARGETS.get(r["scene"].split("_")[0])
        if target is not None:
            checks[f"{r['scene']}_{r['embedder']}_online_target_met"] = r["online"]["idf1"] >= target
    report = {
        "rows": rows,
        "targets_online_idf1": TARGETS,
        "checks": checks,
        "figure": str(plot(rows, args.out / "mtmc.png")),
    }
    (args.out / "mtmc.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
