"""Benchmark: Stage 1 segmenters (METHOD.md) on the synthetic town's Re-ID crops, patch IoU against truth.

    .venv/bin/python bench/reid_segmenters.py [--scene DIR] [--seed 0] [--split train] [--limit N]
        [--image-size 64 64] [--patch 8] [--sam-checkpoint P --sam-type vit_b] [--mobile-sam-checkpoint P]
        [--device cpu] [--smoke]

Per segmenter (GrabCut always; SAM / MobileSAM when a checkpoint is given) and two baselines that look at
no pixel ("box": the whole-crop prompt box; "ellipse": the ellipse inscribed in it): mean patch IoU of the
raw patch masks and of the masks refined by Eq. 1-2 with the training-free pixel features, against the
scene's true vehicle masks put through the same resize and > 50 % patch rule; segmentation milliseconds
per crop; mean background ratio. Without --scene, the default preset (or --smoke's) is generated once
under <out>. Prints a markdown table and the JSON written to <out>/reid_segmenters[_smoke].json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from models.reid.patch_mask import mean_patch_iou, patch_mask
from models.reid.segment_cache import FeatureFn, refine_masks, resize_pixel_mask, segment_images
from models.reid.segmenters import (
    GrabCutSegmenter,
    MobileSamSegmenter,
    SamSegmenter,
    Segmenter,
    box_mask,
)
from models.reid.stages import encoder_patch_features
from synth.camera_worker import CROP_PADDING
from synth.config import load_scene_config
from synth.scene import generate_scene, scene_matches

# The town pads each visible box by CROP_PADDING of its size per side: the box is the crop shrunk by this.
WHOLE_CROP_SHRINK = CROP_PADDING / (1 + 2 * CROP_PADDING)
SMOKE_LIMIT = 24


class BoxBaseline:
    """Segmenter-shaped baseline: the prompt box itself is the vehicle."""

    name = "box"

    def segment(self, image_rgb: np.ndarray, box_xyxy: np.ndarray) -> np.ndarray:
        return box_mask(*image_rgb.shape[:2], box_xyxy)


class EllipseBaseline:
    """Segmenter-shaped baseline: the ellipse inscribed in the prompt box (a pure centre prior)."""

    name = "ellipse"

    def segment(self, image_rgb: np.ndarray, box_xyxy: np.ndarray) -> np.ndarray:
        h, w = image_rgb.shape[:2]
        x1, y1, x2, y2 = (float(v) for v in box_xyxy)
        ys, xs = np.mgrid[0:h, 0:w] + 0.5
        cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2
        return ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 <= 1.0


def truth_patches(paths: list[Path], size_hw: tuple[int, int], patch: int) -> np.ndarray:
    """(N, gh, gw) bool: the scene's true masks (reid/mask_<split>/NAME.png, 255 = vehicle) as patches."""
    out = []
    for p in paths:
        mask_path = p.parent.parent / p.parent.name.replace("image_", "mask_") / f"{p.stem}.png"
        mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
        if mask is None:
            raise SystemExit(f"true mask {mask_path} is missing: regenerate the scene with crosscam synth")
        out.append(patch_mask(resize_pixel_mask(mask > 127, size_hw), patch))
    return np.stack(out)


def evaluate(
    segmenter: Segmenter,
    paths: list[Path],
    truth: np.ndarray,
    size_hw: tuple[int, int],
    patch: int,
    encoder_fn: FeatureFn | None = None,
) -> dict[str, float]:
    started = time.perf_counter()
    raw = segment_images(paths, segmenter, size_hw, patch, WHOLE_CROP_SHRINK, progress=False)
    ms = 1000.0 * (time.perf_counter() - started) / len(paths)
    refined = refine_masks(paths, raw, size_hw, patch)
    result = {
        "iou_raw": round(mean_patch_iou(raw, truth), 4),
        "iou_refined": round(mean_patch_iou(refined, truth), 4),
        "ms_per_crop": round(ms, 2),
        "background_ratio_raw": round(float(1.0 - raw.mean()), 4),
        "background_ratio_refined": round(float(1.0 - refined.mean()), 4),
    }
    if encoder_fn is not None:
        by_encoder = refine_masks(paths, raw, size_hw, patch, encoder_fn)
        result["iou_refined_encoder"] = round(mean_patch_iou(by_encoder, truth), 4)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", type=Path, default=None, help="scene folder (default: generate one)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated scene")
    parser.add_argument("--split", choices=("train", "test", "query"), default="train")
    parser.add_argument("--limit", type=int, default=None, help="at most N crops, evenly spaced by name")
    parser.add_argument("--image-size", type=int, nargs=2, default=(64, 64), metavar=("H", "W"))
    parser.add_argument("--patch", type=int, default=8, help="ViT patch side (px)")
    parser.add_argument("--grabcut-iterations", type=int, default=5)
    parser.add_argument("--sam-checkpoint", type=Path, default=None)
    parser.add_argument("--sam-type", choices=("vit_b", "vit_l", "vit_h"), default="vit_b")
    parser.add_argument("--mobile-sam-checkpoint", type=Path, default=None)
    parser.add_argument("--device", default="cpu", help="torch device of SAM / MobileSAM")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (the machine has 2 cores)")
    parser.add_argument("--smoke", action="store_true", help=f"smoke scene, {SMOKE_LIMIT} crops")
    parser.add_argument("--out", type=Path, default=Path("runs/bench/reid_segmenters"))
    parser.add_argument(
        "--encoder",
        type=Path,
        default=None,
        help="a crosscam Re-ID checkpoint: also refine with its encoder's patch features (the paper's choice)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    scene = args.scene
    if scene is None:
        cfg = load_scene_config("default", seed=args.seed, smoke=args.smoke)
        scene = args.out / ("scene_smoke" if args.smoke else "scene")
        if not scene_matches(scene, cfg):
            generate_scene(cfg, scene, force=True)
    paths = sorted((scene / "reid" / f"image_{args.split}").glob("*.jpg"))
    if not paths:
        raise SystemExit(
            f"no crops in {scene / 'reid' / f'image_{args.split}'}: is {scene} a crosscam scene?"
        )
    limit = args.limit if args.limit is not None else (SMOKE_LIMIT if args.smoke else None)
    if limit is not None and limit < len(paths):
        paths = [paths[i] for i in np.linspace(0, len(paths) - 1, limit).round().astype(int)]
    size_hw = (args.image_size[0], args.image_size[1])
    truth = truth_patches(paths, size_hw, args.patch)
    encoder_fn = None
    if args.encoder is not None:
        encoder_fn, ckpt = encoder_patch_features(args.encoder, args.device)
        if (ckpt.model.patch, ckpt.image_size) != (args.patch, size_hw):
            raise SystemExit(
                f"{args.encoder} takes {ckpt.image_size} px with patch {ckpt.model.patch}: "
                f"pass --image-size {ckpt.image_size[0]} {ckpt.image_size[1]} --patch {ckpt.model.patch}"
            )
    segmenters: list[Segmenter] = [
        BoxBaseline(),
        EllipseBaseline(),
        GrabCutSegmenter(args.grabcut_iterations),
    ]
    if args.sam_checkpoint is not None:
        segmenters.append(SamSegmenter.from_checkpoint(args.sam_checkpoint, args.sam_type, args.device))
    if args.mobile_sam_checkpoint is not None:
        segmenters.append(MobileSamSegmenter.from_checkpoint(args.mobile_sam_checkpoint, args.device))
    summary = {
        "scene": str(scene),
        "split": args.split,
        "crops": len(paths),
        "image_size": list(size_hw),
        "patch": args.patch,
        "prompt_shrink": round(WHOLE_CROP_SHRINK, 4),
        "refine_features": "pixels",
        "background_ratio_truth": round(float(1.0 - truth.mean()), 4),
        "threads": args.threads,
        "encoder": str(args.encoder) if args.encoder else None,
        "segmenters": {
            s.name: evaluate(s, paths, truth, size_hw, args.patch, encoder_fn) for s in segmenters
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"reid_segmenters{'_smoke' if args.smoke else ''}.json").write_text(
        json.dumps(summary, indent=2)
    )
    print(markdown_table(summary))
    print(json.dumps(summary, indent=2))


def markdown_table(summary: dict) -> str:
    lines = [
        f"{summary['crops']} {summary['split']} crops of {summary['scene']}, {summary['image_size'][0]}x"
        f"{summary['image_size'][1]} px, patch {summary['patch']}; true background ratio "
        f"{summary['background_ratio_truth']:.3f}",
        "",
        "| segmenter | patch IoU raw | refined (pixel features) | refined (encoder) | ms / crop "
        "| bg ratio raw | bg ratio refined |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in summary["segmenters"].items():
        by_encoder = f"{r['iou_refined_encoder']:.3f}" if "iou_refined_encoder" in r else "-"
        lines.append(
            f"| {name} | {r['iou_raw']:.3f} | {r['iou_refined']:.3f} | {by_encoder} | {r['ms_per_crop']:.1f} | "
            f"{r['background_ratio_raw']:.3f} | {r['background_ratio_refined']:.3f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
