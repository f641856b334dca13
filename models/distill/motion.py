"""What a fixed camera's clip shows for free: its background, and what moves against it.

The background is the per-pixel median of keyframes spread over the whole clip (a passing vehicle is in few
of them). A keyframe's changed pixels are those far from it; a changed blob that
no kept box explains is something moving that the teacher missed (or that is no vehicle: a cyclist, a
pedestrian). Either way it must not be taught as background, so it is painted over with the background.
Boxes that may or may not be vehicles (static and of middling teacher confidence) are painted out too, by
inpainting, so the student is taught neither.

Work is done at ``work_width`` pixels wide; masks are scaled back to the frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from models.distill.config import MotionConfig

INPAINT_RADIUS_PX = 5


def _small(image: np.ndarray, width: int) -> np.ndarray:
    """image (H, W, 3) BGR -> grey at ``width`` px wide (never enlarged)."""
    scale = min(1.0, width / image.shape[1])
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if scale < 1.0:
        grey = cv2.resize(
            grey, (round(image.shape[1] * scale), round(image.shape[0] * scale)), cv2.INTER_AREA
        )
    return cv2.GaussianBlur(grey, (5, 5), 0)


def box_mask(xyxy: np.ndarray, shape: tuple[int, int], scale: float) -> np.ndarray:
    """(h, w) bool: pixels inside any box (N, 4) frame px, at ``scale`` (mask px per frame px)."""
    mask = np.zeros(shape, dtype=np.uint8)
    for x1, y1, x2, y2 in np.asarray(xyxy).reshape(-1, 4) * scale:
        cv2.rectangle(mask, (int(x1), int(y1)), (int(np.ceil(x2)), int(np.ceil(y2))), 1, -1)
    return mask.astype(bool)


def changed_mask(image: np.ndarray, background: np.ndarray, cfg: MotionConfig) -> np.ndarray:
    """(h, w) uint8 0/1 at ``work_width``: where ``image`` differs from ``background`` (both (H, W, 3))."""
    changed = cv2.absdiff(_small(image, cfg.work_width), _small(background, cfg.work_width)) > cfg.threshold
    return cv2.morphologyEx(changed.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))


def always_changing(images: Sequence[np.ndarray], background: np.ndarray, cfg: MotionConfig) -> np.ndarray:
    """(h, w) bool at ``work_width``: pixels that differ from the background in at least
    ``always_changing_fraction`` of ``images``: a burned-in clock, a blinking sign. That is scenery, and a
    detector must learn it is no vehicle, so it is never painted out."""
    frequency = np.mean([changed_mask(image, background, cfg) for image in images], axis=0)
    always = (frequency >= cfg.always_changing_fraction).astype(np.uint8)
    return cv2.dilate(always, np.ones((2 * cfg.dilate_px + 1,) * 2, np.uint8)).astype(bool)


def unexplained_motion(
    image: np.ndarray,
    background: np.ndarray,
    kept_xyxy: np.ndarray,
    cfg: MotionConfig,
    scenery: np.ndarray | None = None,
) -> np.ndarray | None:
    """(H, W) bool mask, frame px, of blobs of ``image`` that differ from ``background`` (H, W, 3) and that
    no kept box (N, 4) px explains, outside ``scenery`` ((h, w) bool at work_width: ``always_changing``);
    None when the keyframe changed too much to tell (light, camera shake) or nothing is unexplained."""
    if image.shape != background.shape:
        return None
    changed = changed_mask(image, background, cfg)
    if changed.mean() > cfg.max_changed_fraction:
        return None
    if scenery is not None and scenery.shape == changed.shape:
        changed[scenery] = 0
    small = changed
    scale = small.shape[1] / image.shape[1]
    explained = box_mask(kept_xyxy, small.shape, scale)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
    min_area = cfg.min_area_fraction * small.size
    paint = np.zeros(small.shape, dtype=np.uint8)
    for blob in range(1, count):
        if stats[blob, cv2.CC_STAT_AREA] < min_area:
            continue
        pixels = labels == blob
        if explained[pixels].mean() >= cfg.explained_fraction:
            continue
        paint[pixels & ~explained] = 1
    if not paint.any():
        return None
    if cfg.dilate_px:
        paint = cv2.dilate(paint, np.ones((2 * cfg.dilate_px + 1,) * 2, np.uint8))
    paint[explained] = 0  # kept vehicles stay as they are
    full = cv2.resize(paint, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST)
    return full.astype(bool)


def clip_background(images: Sequence[np.ndarray]) -> np.ndarray:
    """The clip's background: (H, W, 3) uint8 BGR, the per-pixel median of ``images`` (all one size)."""
    return np.median(np.stack(images), axis=0).astype(np.uint8)


def paint_regions(
    image: np.ndarray, moving: np.ndarray | None, background: np.ndarray | None, unsure_xyxy: np.ndarray
) -> np.ndarray:
    """A copy of image (H, W, 3) BGR with the ``moving`` mask (H, W) replaced by ``background`` (H, W, 3)
    and the ``unsure_xyxy`` boxes (N, 4) px inpainted."""
    out = image.copy()
    if moving is not None and background is not None:
        out[moving] = background[moving]
    unsure = box_mask(unsure_xyxy, image.shape[:2], 1.0)
    if unsure.any():
        out = cv2.inpaint(out, unsure.astype(np.uint8), INPAINT_RADIUS_PX, cv2.INPAINT_TELEA)
    return out
