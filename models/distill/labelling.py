"""Pseudo-labelling real clips: the teacher sees every keyframe and its neighbours, the boxes are cleaned with
time and the fixed camera (``cleaning``), what moves unexplained is painted out (``motion``), and the
keyframes are written with the kept boxes as training images. Keyframes holding a rare vehicle type are
repeated. A clip that cannot be decoded, or in which the teacher finds nothing, is skipped with one line and
the others go on.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from export.yolo import Boxes
from models.distill.cleaning import KEPT, Verdicts, judge_clip
from models.distill.clips import ClipError, ClipInfo, plan_keyframes, probe_clip, read_frames
from models.distill.config import DistillConfig
from models.distill.dataset import DatasetWriter
from models.distill.motion import always_changing, clip_background, paint_regions, unexplained_motion
from models.distill.sheet import AMBER, GREEN, RED, draw_boxes

log = logging.getLogger(__name__)

REAL_SOURCE = "real"
SHEET_FRAMES_PER_CLIP = 2
# The background is the median of at most this many keyframes, evenly spread: enough for a stable median,
# few enough that a 1080p clip's stack stays within a few hundred MB.
BACKGROUND_FRAMES = 40


class DistillDataError(ValueError):
    """Footage from which no training set can be made; the message says why and what to change."""


@dataclass(frozen=True)
class Keyframe:
    """A training image written for a clip: its name, split, and the teacher's types of its kept boxes."""

    name: str
    split: str
    types: frozenset[str]


@dataclass
class LabellingResult:
    """What pseudo-labelling made: a report per clip (skipped ones with their reason), the keyframes written,
    and annotated keyframes (kept boxes green, painted amber, dropped red) for a contact sheet."""

    clips: list[dict[str, Any]] = field(default_factory=list)
    keyframes: list[Keyframe] = field(default_factory=list)
    sheet: list[np.ndarray] = field(default_factory=list)

    @property
    def used(self) -> list[dict[str, Any]]:
        return [c for c in self.clips if "skipped" not in c]


def _split(index: int, info: ClipInfo, val_fraction: float) -> str:
    return "val" if index >= (1.0 - val_fraction) * info.frame_count else "train"


def _annotated(image: np.ndarray, boxes: Boxes, verdicts: Verdicts, title: str) -> np.ndarray:
    colours = [
        GREEN if k else (AMBER if p else RED) for k, p in zip(verdicts.keep, verdicts.paint, strict=True)
    ]
    captions = [f"{r} {c:.2f}" for r, c in zip(verdicts.reasons, boxes.confidence, strict=True)]
    return draw_boxes(image, boxes.xyxy, colours, title, captions)


class _ClipWriter:
    """One clip's keyframes on disk: their names and splits, and taking them back."""

    def __init__(self, info: ClipInfo, writer: DatasetWriter, val_fraction: float) -> None:
        self.info, self.writer, self.val_fraction = info, writer, val_fraction
        self.split: dict[int, str] = {}

    def name(self, keyframe: int) -> str:
        return f"{self.info.name}_{keyframe:06d}"

    def path(self, keyframe: int) -> Path:
        return self.writer.root / "images" / self.split[keyframe] / f"{self.name(keyframe)}.jpg"

    def save(self, keyframe: int, image: np.ndarray) -> None:
        self.split[keyframe] = _split(keyframe, self.info, self.val_fraction)
        self.writer.save_image(self.split[keyframe], self.name(keyframe), image)

    def forget(self) -> None:
        for keyframe, split in self.split.items():
            self.writer.remove_image(split, self.name(keyframe))


def _paint(
    files: _ClipWriter,
    keyframes: list[int],
    key_boxes: list[Boxes],
    verdicts: list[Verdicts],
    cfg: DistillConfig,
) -> int:
    """Paint out, in the saved keyframes, what no kept box explains: moving blobs (replaced by the clip's
    background) and boxes of unsure static things (inpainted). Returns the keyframes changed."""
    background = scenery = None
    if cfg.motion.enabled:
        spread = (
            np.linspace(0, len(keyframes) - 1, min(BACKGROUND_FRAMES, len(keyframes))).round().astype(int)
        )
        sample = [cv2.imread(str(files.path(keyframes[i]))) for i in np.unique(spread)]
        background = clip_background(sample)
        scenery = always_changing(sample, background, cfg.motion)
    painted = 0
    for k, boxes, verdict in zip(keyframes, key_boxes, verdicts, strict=True):
        image = cv2.imread(str(files.path(k)))
        kept = boxes.xyxy[verdict.keep]
        moving = None
        if background is not None:
            moving = unexplained_motion(image, background, kept, cfg.motion, scenery)
        unsure = boxes.xyxy[verdict.paint]
        if moving is None and not len(unsure):
            continue
        files.writer.save_image(
            files.split[k], files.name(k), paint_regions(image, moving, background, unsure)
        )
        painted += 1
    return painted


def label_clip(
    info: ClipInfo, label: Callable[[np.ndarray], Boxes], cfg: DistillConfig, writer: DatasetWriter
) -> tuple[dict[str, Any], list[Keyframe], list[np.ndarray]]:
    """Pseudo-label one clip into ``writer``: (its report, its keyframes, annotated keyframes for the sheet).
    ``label``: the teacher, image (H, W, 3) BGR -> Boxes. Raises ClipError (nothing of the clip is left
    written) when no keyframe decodes or the teacher finds no vehicle in it."""
    started = time.perf_counter()
    plan = plan_keyframes(info, cfg.sampling)
    keyset = set(plan.keyframes)
    sheet_at = set(
        plan.keyframes[:: max(1, len(plan.keyframes) // SHEET_FRAMES_PER_CLIP)][:SHEET_FRAMES_PER_CLIP]
    )
    found: dict[int, Boxes] = {}
    sheet_images: dict[int, np.ndarray] = {}
    files = _ClipWriter(info, writer, cfg.sampling.val_fraction)
    wanted = plan.wanted()
    frames = read_frames(info.path, wanted)
    for index, image in tqdm(
        frames, total=len(wanted), desc=f"teacher {info.name}", unit="frame", leave=False
    ):
        found[index] = label(image)
        if index in keyset:
            files.save(index, image)
            if index in sheet_at:
                sheet_images[index] = image
    keyframes = [k for k in plan.keyframes if k in files.split]
    if not keyframes:
        raise ClipError(
            f"{info.path}: none of its {len(plan.keyframes)} keyframes decoded; re-encode it or leave it out"
        )
    if not any(len(b) for b in found.values()):
        files.forget()
        raise ClipError(
            f"the teacher found no vehicle in {info.path} ({len(found)} frames at confidence >= "
            f"{cfg.teacher.min_confidence}); check the teacher's weights and vehicle classes, or leave the clip out"
        )
    empty = Boxes.concat([])
    key_boxes = [found[k] for k in keyframes]
    neighbour_boxes = [[found.get(n, empty) for n in plan.neighbours(k)] for k in keyframes]
    verdicts = judge_clip(key_boxes, neighbour_boxes, info.duration_s, info.size, cfg.cleaning)
    painted = _paint(files, keyframes, key_boxes, verdicts, cfg)
    reasons: Counter[str] = Counter()
    written, sheet = [], []
    for k, boxes, verdict in zip(keyframes, key_boxes, verdicts, strict=True):
        reasons.update(verdict.reasons.tolist())
        kept = boxes.subset(np.flatnonzero(verdict.keep))
        writer.save_labels(REAL_SOURCE, files.split[k], files.name(k), kept.xyxy, kept.labels, info.size)
        written.append(Keyframe(files.name(k), files.split[k], frozenset(kept.labels.tolist())))
        if k in sheet_images:
            shown = cv2.imread(str(files.path(k)))  # as trained on: painted
            sheet.append(
                _annotated(shown, boxes, verdict, f"{info.name} #{k}: {len(kept)} kept of {len(boxes)}")
            )
    report = {
        "name": info.name,
        "path": str(info.path),
        "sha256": info.sha256,
        "fps": round(info.fps, 3),
        "frame_count": info.frame_count,
        "size": list(info.size),
        "keyframes": len(keyframes),
        "teacher_frames": len(found),
        "splits": dict(Counter(files.split[k] for k in keyframes)),
        "boxes_by_verdict": dict(sorted(reasons.items())),
        "labels_kept": int(sum(v for r, v in reasons.items() if r in KEPT)),
        "keyframes_painted": painted,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return report, written, sheet


def repeat_factors(keyframes: Sequence[Keyframe], threshold: float) -> dict[str, int]:
    """Extra copies per keyframe name (LVIS-style repeat-factor sampling over the teacher's vehicle types):
    a type present in a fraction f of the keyframes below ``threshold`` gets factor sqrt(threshold / f); a
    keyframe is repeated by the largest factor of its types, rounded, less the original."""
    if threshold <= 0 or not keyframes:
        return {}
    frequency = Counter(t for k in keyframes for t in k.types)
    factor = {t: max(1.0, math.sqrt(threshold / (n / len(keyframes)))) for t, n in frequency.items()}
    extra = {k.name: round(max((factor[t] for t in k.types), default=1.0)) - 1 for k in keyframes}
    return {name: n for name, n in extra.items() if n > 0}


def pseudo_label(
    clips: Sequence[Path], label: Callable[[np.ndarray], Boxes], cfg: DistillConfig, writer: DatasetWriter
) -> LabellingResult:
    """Pseudo-label every clip; skip (with one logged line and a report entry) those that cannot be used;
    repeat the training keyframes of rare vehicle types. DistillDataError when no clip can be used."""
    result = LabellingResult()
    for path in tqdm(clips, desc="real clips", unit="clip"):
        try:
            report, keyframes, sheet = label_clip(probe_clip(path), label, cfg, writer)
        except ClipError as exc:
            log.warning("skipping clip: %s", exc)
            result.clips.append({"path": str(path), "skipped": str(exc)})
            continue
        log.info(
            "%s: %d keyframes, %d labels kept", report["name"], report["keyframes"], report["labels_kept"]
        )
        result.clips.append(report)
        result.keyframes.extend(keyframes)
        result.sheet.extend(sheet)
    if not result.used:
        reasons = "; ".join(c["skipped"] for c in result.clips)
        raise DistillDataError(f"no real clip could be pseudo-labelled ({reasons})")
    if not sum(c["labels_kept"] for c in result.used):
        raise DistillDataError(
            "the teacher's boxes were all dropped as flickers, static scenery or too small; loosen the cleaning "
            "thresholds (cleaning.*) or check the teacher"
        )
    train = [k for k in result.keyframes if k.split == "train"]
    for name, copies in repeat_factors(train, cfg.sampling.repeat_threshold).items():
        writer.repeat(REAL_SOURCE, "train", name, copies)
    return result
