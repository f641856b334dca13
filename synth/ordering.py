"""Painter's order of objects standing on the ground (vehicles, trees, poles), far to near.

Each object lives inside the vertical prism over its convex footprint. If a vertical plane separates two
footprints, the object on the camera's side of it can never be hidden by the other, so the other is drawn
first. Only pairs whose screen boxes overlap need that test; the remaining freedom (and any cycle) is settled
by a distance key: the ground distance from the camera to the nearest point of the footprint.
"""

from __future__ import annotations

import heapq

import numpy as np


def footprint_distance(footprints: np.ndarray, point: np.ndarray) -> np.ndarray:
    """footprints (N, 4, 2) convex quads (m), point (2,) -> (N,) distance from point to each quad (0 inside)."""
    a = footprints
    b = np.roll(footprints, -1, axis=1)
    ab = b - a
    t = np.clip(np.sum((point - a) * ab, axis=2) / np.maximum(np.sum(ab * ab, axis=2), 1e-12), 0.0, 1.0)
    closest = a + t[..., None] * ab
    edge_d = np.linalg.norm(point - closest, axis=2).min(axis=1)
    cross = ab[..., 0] * (point[1] - a[..., 1]) - ab[..., 1] * (point[0] - a[..., 0])
    inside = np.all(cross >= 0, axis=1) | np.all(cross <= 0, axis=1)
    return np.where(inside, 0.0, edge_d)


def separation_side(fa: np.ndarray, fb: np.ndarray, point: np.ndarray) -> np.ndarray:
    """For M pairs of convex quads fa, fb (M, 4, 2): +1 where ``point`` (2,) lies on a's side of a line that
    separates the pair, -1 where on b's side, 0 where no edge normal separates them (they overlap)."""
    m = len(fa)
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    # Candidate axes: the normals of the first two edges of each quad (rectangles need no more).
    edges = np.concatenate([fa[:, 1:3] - fa[:, 0:2], fb[:, 1:3] - fb[:, 0:2]], axis=1)  # (M, 4, 2)
    axes = np.stack([-edges[..., 1], edges[..., 0]], axis=-1)
    pa = np.einsum("mkd,mpd->mkp", axes, fa)  # (M, 4 axes, 4 points)
    pb = np.einsum("mkd,mpd->mkp", axes, fb)
    a_lo, a_hi, b_lo, b_hi = pa.min(axis=2), pa.max(axis=2), pb.min(axis=2), pb.max(axis=2)
    c = np.einsum("mkd,d->mk", axes, point)
    a_below, b_below = a_hi < b_lo, b_hi < a_lo
    side = np.where(a_below, np.where(c < (a_hi + b_lo) / 2, 1, -1), 0)
    side = np.where(b_below, np.where(c > (b_hi + a_lo) / 2, 1, -1), side)
    found = side != 0
    first = found.argmax(axis=1)
    return np.where(found.any(axis=1), side[np.arange(m), first], 0)


def painter_order(footprints: np.ndarray, boxes: np.ndarray, camera_xy: np.ndarray) -> list[int]:
    """footprints (N, 4, 2) ground quads (m), boxes (N, 4) screen boxes x0, y0, x1, y1 (px), camera_xy (2,)
    -> indices in drawing order (far to near)."""
    n = len(footprints)
    key = footprint_distance(footprints, camera_xy)
    overlap = (
        (boxes[:, None, 0] < boxes[None, :, 2])
        & (boxes[None, :, 0] < boxes[:, None, 2])
        & (boxes[:, None, 1] < boxes[None, :, 3])
        & (boxes[None, :, 1] < boxes[:, None, 3])
    )
    after: list[list[int]] = [[] for _ in range(n)]  # after[i]: objects that must be drawn after i
    indegree = [0] * n
    pi, pj = np.nonzero(np.triu(overlap, 1))
    sides = separation_side(footprints[pi], footprints[pj], camera_xy)
    # Where footprints intersect, fall back to the distance key.
    sides = np.where(sides == 0, np.where(key[pi] < key[pj], 1, -1), sides)
    for i, j, side in zip(pi.tolist(), pj.tolist(), sides.tolist(), strict=True):
        first, last = (j, i) if side > 0 else (i, j)
        after[first].append(last)
        indegree[last] += 1
    heap = [(-key[i], i) for i in range(n) if indegree[i] == 0]
    heapq.heapify(heap)
    order: list[int] = []
    done = np.zeros(n, dtype=bool)
    while len(order) < n:
        if not heap:  # a cycle: release the farthest object left
            rest = [i for i in range(n) if not done[i]]
            i = max(rest, key=lambda r: (key[r], -r))
            indegree[i] = 0
            heap.append((-key[i], i))
        _, i = heapq.heappop(heap)
        if done[i]:
            continue
        done[i] = True
        order.append(i)
        for j in after[i]:
            indegree[j] -= 1
            if indegree[j] == 0 and not done[j]:
                heapq.heappush(heap, (-key[j], j))
    return order
