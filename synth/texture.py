"""Procedural texture noise over world coordinates: hashed lattice value noise and its fractal sum.

Textures are functions of world position (metres), so the same patch of asphalt looks the same in every
camera. Octaves finer than a pixel's ground footprint fade out, as a real camera averages them away.
"""

from __future__ import annotations

import numpy as np

_M1, _M2, _M3, _M4 = (
    np.uint64(0x9E3779B97F4A7C15),
    np.uint64(0xBF58476D1CE4E5B9),
    np.uint64(0x94D049BB133111EB),
    np.uint64(0x632BE59BD9B4E019),
)


def _hash01(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """Integer lattice coordinates (any shape) -> uniform [0, 1) float32 (splitmix-style mixing)."""
    h = ix.astype(np.uint64) * _M1 + iy.astype(np.uint64) * _M4 + np.uint64((seed * int(_M2)) % 2**64)
    h ^= h >> np.uint64(31)
    h *= _M3
    h ^= h >> np.uint64(29)
    h *= _M2
    h ^= h >> np.uint64(32)
    return (h >> np.uint64(40)).astype(np.float32) / np.float32(1 << 24)


def value_noise(x: np.ndarray, y: np.ndarray, cell_m: float, seed: int) -> np.ndarray:
    """Smooth noise in [0, 1) at world points x, y (same shape, metres) with features ``cell_m`` wide."""
    fx, fy = x / cell_m, y / cell_m
    x0, y0 = np.floor(fx), np.floor(fy)
    tx, ty = (fx - x0).astype(np.float32), (fy - y0).astype(np.float32)
    tx, ty = tx * tx * (3 - 2 * tx), ty * ty * (3 - 2 * ty)
    ix, iy = x0.astype(np.int64), y0.astype(np.int64)
    a, b = _hash01(ix, iy, seed), _hash01(ix + 1, iy, seed)
    c, d = _hash01(ix, iy + 1, seed), _hash01(ix + 1, iy + 1, seed)
    return (a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty


def fbm(
    x: np.ndarray,
    y: np.ndarray,
    cell_m: float,
    octaves: int,
    seed: int,
    footprint_m: np.ndarray | None = None,
) -> np.ndarray:
    """Fractal noise, roughly in [-1, 1]: octaves of halving size and amplitude starting at ``cell_m``.

    footprint_m (same shape as x): ground size of one pixel (m); octaves smaller than it fade to zero.
    """
    out = np.zeros(np.shape(x), dtype=np.float32)
    amp, cell, total = 1.0, cell_m, 0.0
    for k in range(octaves):
        layer = 2.0 * value_noise(x, y, cell, seed + 7919 * k) - 1.0
        if footprint_m is not None:
            layer *= np.clip(cell / np.maximum(footprint_m, 1e-6) - 1.0, 0.0, 1.0).astype(np.float32)
        out += amp * layer
        total += amp
        amp *= 0.5
        cell *= 0.5
    return out / total
