"""Benchmark: generation time and size of the synthetic town's presets.

    .venv/bin/python bench/synth_presets.py [--presets default hard night] [--seed 0] [--out runs/bench/synth]

Prints one JSON object (and writes it to <out>/synth_presets.json): per preset, wall time, scene folder size by
part, identities and box counts. The issue's target: the default preset in under 2 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from synth.config import load_scene_config
from synth.scene import generate_scene

MIB = 1024 * 1024


def folder_mib(path: Path, pattern: str = "**/*") -> float:
    return round(sum(f.stat().st_size for f in path.glob(pattern) if f.is_file()) / MIB, 2)


def run(preset: str, seed: int, out: Path) -> dict:
    cfg = load_scene_config(preset, seed=seed)
    scene_dir = out / f"{preset}_seed{seed}"
    started = time.perf_counter()
    record = generate_scene(cfg, scene_dir, force=True)
    wall = time.perf_counter() - started
    counts = record["counts"]
    return {
        "preset": preset,
        "seed": seed,
        "cameras": len(cfg.cameras),
        "duration_s": cfg.duration_s,
        "frames_total": len(cfg.cameras) * cfg.n_frames,
        "wall_seconds": round(wall, 1),
        "frames_per_second": round(len(cfg.cameras) * cfg.n_frames / wall, 1),
        "size_mib": {
            "total": folder_mib(scene_dir),
            "videos": folder_mib(scene_dir, "cam*.mp4"),
            "masks": folder_mib(scene_dir / "masks") if (scene_dir / "masks").exists() else 0.0,
            "reid": folder_mib(scene_dir / "reid"),
            "yolo": folder_mib(scene_dir / "yolo"),
        },
        "identities_visible": counts["identities_visible"],
        "identities_multi_camera": counts["identities_multi_camera"],
        "gt_boxes_all": counts["gt_boxes_all"],
        "reid": counts["reid"],
        "contact_sheet": str(scene_dir / "contact_sheet.png"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["default", "hard"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/bench/synth"))
    args = parser.parse_args()
    results = {"cores": os.cpu_count(), "presets": [run(p, args.seed, args.out) for p in args.presets]}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "synth_presets.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
