"""Additive glow blobs for lamps at night: a bright core, a soft halo and, for headlights, a glare streak.

Blobs are pre-rendered at a ladder of sizes and pasted with saturating addition, so a frame costs a slice
and an add per visible lamp.
"""

from __future__ import annotations

import cv2
import numpy as np

GLOW_SIZES_PX = (2, 3, 4, 6, 8, 11, 15, 20, 27, 36, 48)  # blob radii
HEAD, TAIL, BRAKE = 0, 1, 2
GLOW_BGR = {HEAD: (235.0, 250.0, 255.0), TAIL: (40.0, 40.0, 230.0), BRAKE: (70.0, 70.0, 255.0)}
GLOW_RADIUS_M = {HEAD: 1.1, TAIL: 0.45, BRAKE: 0.75}  # blob radius in metres at the lamp's depth
GLOW_STRENGTH = {HEAD: 1.0, TAIL: 0.55, BRAKE: 0.9}


def _blob(radius: int, kind: int) -> np.ndarray:
    """(2r+1, 2r+1, 3) uint8 glow of one kind."""
    r = np.arange(-radius, radius + 1, dtype=np.float32)
    xx, yy = np.meshgrid(r, r)
    d2 = (xx * xx + yy * yy) / float(radius * radius)
    intensity = np.exp(-d2 * 14.0) + 0.3 * np.exp(-d2 * 3.5)
    if kind == HEAD:  # lens glare: a thin horizontal streak
        intensity += 0.35 * np.exp(-((xx / radius) ** 2) * 1.5 - (yy / max(radius / 14.0, 0.5)) ** 2)
    intensity *= GLOW_STRENGTH[kind]
    colour = np.asarray(GLOW_BGR[kind], dtype=np.float32)
    return np.clip(intensity[..., None] * colour, 0, 255).astype(np.uint8)


class GlowBank:
    """Pre-rendered glows for every kind and size."""

    def __init__(self) -> None:
        self._blobs = {(k, r): _blob(r, k) for k in GLOW_BGR for r in GLOW_SIZES_PX}
        self._sizes = np.array(GLOW_SIZES_PX, dtype=np.float64)

    def paste(self, image: np.ndarray, u: float, v: float, radius_px: float, kind: int) -> None:
        """Add the glow of ``kind`` centred at pixel (u, v) with about ``radius_px`` radius, in place."""
        r = int(self._sizes[np.abs(np.log(self._sizes / max(radius_px, 1e-3))).argmin()])
        blob = self._blobs[(kind, r)]
        cx, cy = round(u), round(v)
        h, w = image.shape[:2]
        x0, y0, x1, y1 = cx - r, cy - r, cx + r + 1, cy + r + 1
        bx0, by0 = max(0, -x0), max(0, -y0)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            return
        roi = image[y0:y1, x0:x1]
        roi[:] = cv2.add(roi, blob[by0 : by0 + (y1 - y0), bx0 : bx0 + (x1 - x0)])
