"""Fixed-point pixel coordinates for OpenCV's polygon fill (subpixel accuracy through its ``shift`` argument)."""

from __future__ import annotations

import numpy as np

SHIFT = 4  # fractional bits: vertices are placed to 1/16 px
UV_LIMIT_PX = 1e6  # far-off vertices are clamped here so fixed-point values stay inside int32


def to_fixed(uv: np.ndarray) -> np.ndarray:
    """(..., 2) float pixels -> (..., 2) int32 fixed point with SHIFT fractional bits."""
    return np.round(np.clip(uv, -UV_LIMIT_PX, UV_LIMIT_PX) * (1 << SHIFT)).astype(np.int32)
