"""What tracklets' times and ground positions say about one vehicle: overlap, distance, heading and speed.

Ground positions (metres, ``Tracklet.world_xy``) carry about half a metre of noise per frame, so velocities
are fitted over a short span of frames rather than taken from two of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trackers.types import Tracklet

# Span (s) of the first or last observations a velocity is fitted over, and the observations it needs.
VELOCITY_SPAN_S = 2.0
VELOCITY_MIN_POINTS = 3


def intervals_overlap(a: Tracklet, b: Tracklet) -> bool:
    """Whether the two tracklets' time spans share an instant."""
    return a.t_start <= b.t_end and b.t_start <= a.t_end


def ground_distance_during_overlap(a: Tracklet, b: Tracklet) -> tuple[float, int]:
    """(median ground distance (m) between two tracklets at b's times inside a's span, how many such times);
    (NaN, 0) when no position is known there."""
    ta, wa = a.timestamps, a.world_xy
    valid_a = np.isfinite(wa).all(axis=1)
    inside = (b.timestamps >= ta[0]) & (b.timestamps <= ta[-1]) & np.isfinite(b.world_xy).all(axis=1)
    if valid_a.sum() < 1 or not inside.any():
        return float("nan"), 0
    t = b.timestamps[inside]
    # positions of a at b's times (linear between a's observations)
    ax = np.interp(t, ta[valid_a], wa[valid_a, 0])
    ay = np.interp(t, ta[valid_a], wa[valid_a, 1])
    return float(np.median(np.hypot(ax - b.world_xy[inside, 0], ay - b.world_xy[inside, 1]))), int(
        inside.sum()
    )


@dataclass(frozen=True)
class EdgeMotion:
    """Where a tracklet starts or ends on the ground: position (2,) m and velocity (2,) m/s."""

    position: np.ndarray
    velocity: np.ndarray

    @property
    def speed(self) -> float:
        return float(np.hypot(*self.velocity))

    def heading_cos(self, direction: np.ndarray) -> float:
        """Cosine between the velocity and ``direction`` (2,); 1 when the vehicle stands still (no heading)."""
        norm = self.speed * float(np.hypot(*direction))
        return float(self.velocity @ direction) / norm if norm > 1e-9 else 1.0


def edge_motion(tracklet: Tracklet, last: bool, span_s: float = VELOCITY_SPAN_S) -> EdgeMotion | None:
    """Position and velocity at the tracklet's end (``last``) or start, from a least-squares line through
    the known positions of its last (first) ``span_s`` seconds; None when too few are known."""
    known = np.isfinite(tracklet.world_xy).all(axis=1)
    t, xy = tracklet.timestamps[known], tracklet.world_xy[known]
    if len(t) < VELOCITY_MIN_POINTS:
        return None
    edge_t = t[-1] if last else t[0]
    near = (t >= edge_t - span_s) if last else (t <= edge_t + span_s)
    if near.sum() < VELOCITY_MIN_POINTS or np.ptp(t[near]) <= 0:
        return None
    design = np.column_stack([t[near] - edge_t, np.ones(int(near.sum()))])
    (velocity, position), *_ = np.linalg.lstsq(design, xy[near], rcond=None)
    return EdgeMotion(position=position, velocity=velocity)
