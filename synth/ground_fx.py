"""Per-frame light effects on the ground around vehicles: soft shadows by day, headlight beams at night.

Both are drawn into a single-channel layer (antialiased polygons), blurred for soft edges and applied to
the image with saturating uint8 arithmetic, restricted to the layer's bounding box. World metres in, image
pixels out; ground polygons are clipped to the near plane when they reach behind the camera.
"""

from __future__ import annotations

import cv2
import numpy as np

from synth.camera import NEAR_PLANE_M, PinholeCamera, clip_near
from synth.raster import SHIFT, to_fixed
from synth.shading import SceneLight

CAST_SHADOW = 0.85  # share of the direct light a vehicle's cast shadow removes
CONTACT_SHADOW = 0.42  # darkening right under a vehicle (ambient occlusion), at least
SHADOW_ROOF = 0.9  # the shadow-casting top is this fraction of the vehicle's length, width and height
SHADOW_BLUR_SIGMA_PX = 1.6
BEAM_LENGTH_M = 16.0  # headlight beams on the road: reach ahead of the bumper...
BEAM_HALF_WIDTH_M = 3.2  # ...half-width at that reach...
BEAM_STEPS = (
    (1.0, 50),
    (0.6, 95),
    (0.3, 150),
)  # ...and nested (reach fraction, level 0-255): bright near the car
BEAM_GAIN = 3.5  # ground brightness gain where the beam layer is 255
BEAM_BLUR_SIGMA_PX = 4.0


def project_ground(camera: PinholeCamera, polys: np.ndarray) -> list[np.ndarray | None]:
    """polys (N, k, 2) ground polygons (m) -> per polygon (k', 2) int32 fixed-point pixels, None if behind."""
    n, k, _ = polys.shape
    cam = camera.to_camera(np.column_stack([polys.reshape(-1, 2), np.zeros(n * k)])).reshape(n, k, 3)
    in_front = np.all(cam[..., 2] >= NEAR_PLANE_M, axis=1)
    uv = camera.project_camera(
        np.concatenate([cam[..., :2], np.maximum(cam[..., 2:], NEAR_PLANE_M)], axis=-1).reshape(-1, 3)
    )
    fixed = to_fixed(uv).reshape(n, k, 2)
    out: list[np.ndarray | None] = []
    for i in range(n):
        if in_front[i]:
            out.append(fixed[i])
            continue
        pts = clip_near(cam[i])
        out.append(to_fixed(camera.project_camera(pts)) if len(pts) >= 3 else None)
    return out


def cast_shadows(
    image: np.ndarray,
    camera: PinholeCamera,
    light: SceneLight,
    footprints: np.ndarray,
    contact: np.ndarray,
    heights: np.ndarray,
) -> None:
    """Darken the ground under and beside N vehicles, in place: footprints and contact (N, 4, 2) ground quads
    (the second a little larger, for the contact shadow), heights (N,) m. Drawn before any vehicle."""
    cast = int(255 * CAST_SHADOW * light.shadow_strength)
    contact_level = int(255 * max(CONTACT_SHADOW, CAST_SHADOW * light.shadow_strength))
    mask = np.zeros(image.shape[:2], dtype=np.uint8)
    if cast > 0:
        # The shadow of a box on the ground: the hull of its footprint and of its top pushed along the sun.
        centre = footprints.mean(axis=1, keepdims=True)
        tops = centre + (footprints - centre) * SHADOW_ROOF
        tops += np.stack([light.shadow_offset(SHADOW_ROOF * h) for h in heights])[:, None, :]
        hulls = np.stack([_hull8(np.concatenate([f, t])) for f, t in zip(footprints, tops, strict=True)])
        for pts in project_ground(camera, hulls):
            if pts is not None:
                cv2.fillConvexPoly(mask, pts, cast, cv2.LINE_AA, SHIFT)
    for pts in project_ground(camera, contact):
        if pts is not None:
            cv2.fillConvexPoly(mask, pts, contact_level, cv2.LINE_AA, SHIFT)
    blurred = _blurred_region(mask, SHADOW_BLUR_SIGMA_PX)
    if blurred is None:
        return
    region, soft = blurred
    image[region] = cv2.multiply(image[region], 255 - soft, scale=1.0 / 255.0)


def headlight_beams(
    image: np.ndarray, camera: PinholeCamera, poses: np.ndarray, lengths: np.ndarray, widths: np.ndarray
) -> None:
    """Brighten the road ahead of N vehicles, most near the bumper, in place. poses (N, 4): x, y (m),
    cos and sin of the heading; lengths, widths (N,) m."""
    xy, forward = poses[:, :2], poses[:, 2:4]
    left = np.column_stack([-forward[:, 1], forward[:, 0]])
    nose = xy + forward * (lengths / 2)[:, None]
    quads = []
    for reach, _ in BEAM_STEPS:
        far = nose + forward * BEAM_LENGTH_M * reach
        spread = (widths / 2 + (BEAM_HALF_WIDTH_M - widths / 2) * reach)[:, None]
        half = (widths / 2)[:, None]
        quads.append(
            np.stack([nose - left * half, far - left * spread, far + left * spread, nose + left * half], 1)
        )
    layer = np.zeros(image.shape[:2], dtype=np.uint8)
    for (_, level), polys in zip(BEAM_STEPS, quads, strict=True):  # long, dim quads first
        for pts in project_ground(camera, polys):
            if pts is not None:
                cv2.fillConvexPoly(layer, pts, level, cv2.LINE_AA, SHIFT)
    blurred = _blurred_region(layer, BEAM_BLUR_SIGMA_PX)
    if blurred is None:
        return
    region, soft = blurred
    roi = image[region]
    # ground * (1 + gain * beam), in saturating uint8 arithmetic
    roi[:] = cv2.add(roi, cv2.multiply(roi, soft, scale=BEAM_GAIN / 255.0))


def _hull8(pts: np.ndarray) -> np.ndarray:
    """Convex hull of 8 ground points (8, 2), as a polygon padded to 8 vertices by repeating the last."""
    hull = cv2.convexHull(pts.astype(np.float32))[:, 0].astype(np.float64)
    return np.concatenate([hull, np.repeat(hull[-1:], 8 - len(hull), axis=0)])


def _blurred_region(layer: np.ndarray, sigma_px: float) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """Gaussian-blur the part of a (H, W) uint8 layer that the blur can reach: (the image region it covers,
    the blurred layer there as (h, w, 3) uint8 BGR), or None when the layer is empty."""
    box = _nonzero_box(layer, int(3 * sigma_px) + 1)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    soft = cv2.GaussianBlur(layer[y0:y1, x0:x1], (0, 0), sigma_px)
    return (slice(y0, y1), slice(x0, x1)), cv2.cvtColor(soft, cv2.COLOR_GRAY2BGR)


def _nonzero_box(layer: np.ndarray, pad: int) -> tuple[int, int, int, int] | None:
    """Box x0, y0, x1, y1 of the non-zero pixels of a (H, W) layer grown by ``pad`` px, or None if empty."""
    rows, cols = np.flatnonzero(layer.any(axis=1)), np.flatnonzero(layer.any(axis=0))
    if not len(rows):
        return None
    h, w = layer.shape
    return (
        max(cols[0] - pad, 0),
        max(rows[0] - pad, 0),
        min(cols[-1] + pad + 1, w),
        min(rows[-1] + pad + 1, h),
    )
