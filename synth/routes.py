"""Routes through the road grid: dense lane-centre polylines with their stop lines and turns.

A route enters at a portal, visits a Manhattan path of crossings (x first or y first), and leaves by
another portal. Arc length ``s`` (m) runs from the entry portal along the lane centre.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from synth.roads import STOP_LINE_SETBACK, Portal, RoadNetwork

SAMPLE_STEP_M = 0.5  # spacing of the dense polyline
CURVE_SAMPLES = 24
GRID_STEP_M = 1.0  # spacing of the arc-length grid used for fast pose look-ups


@dataclass(frozen=True)
class StopPoint:
    """Where a vehicle on this route waits for its signal at one crossing."""

    s: float  # arc length of the stop line (m); the vehicle's front stops here
    crossing: tuple[int, int]
    axis: str  # "ew" | "ns": the road the vehicle arrives on
    group: str  # "through" (straight or right turn) | "left"


@dataclass(frozen=True)
class Route:
    """points: (P, 2) lane centre (m); s: (P,) arc length (m); heading: (P,) rad; turns: (T, 2) arc-length spans.

    grid_xy: (G, 2) and grid_heading: (G,) resample the route every GRID_STEP_M of arc length, for look-ups
    that run for every vehicle at every step.
    """

    entry: int
    exit: int
    lane: int
    points: np.ndarray
    s: np.ndarray
    heading: np.ndarray
    stops: tuple[StopPoint, ...]
    turns: np.ndarray
    grid_xy: np.ndarray
    grid_heading: np.ndarray

    @property
    def length(self) -> float:
        return float(self.s[-1])

    def pose(self, s: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """s: (N,) arc lengths -> (xy (N, 2) m, heading (N,) rad), clamped to the route's ends."""
        s = np.atleast_1d(np.asarray(s, dtype=np.float64))
        x = np.interp(s, self.s, self.points[:, 0])
        y = np.interp(s, self.s, self.points[:, 1])
        # Interpolate the heading as a unit vector so it never wraps the long way round.
        c = np.interp(s, self.s, np.cos(self.heading))
        si = np.interp(s, self.s, np.sin(self.heading))
        return np.column_stack([x, y]), np.arctan2(si, c)

    def pose_at(self, s: float) -> tuple[float, float, float]:
        """Pose at one arc length from the grid (x m, y m, heading rad): the fast path for the simulation."""
        g = min(max(s / GRID_STEP_M, 0.0), len(self.grid_xy) - 1.0)
        k = min(int(g), len(self.grid_xy) - 2)
        f = g - k
        (x0, y0), (x1, y1) = self.grid_xy[k], self.grid_xy[k + 1]
        h0, h1 = self.grid_heading[k], self.grid_heading[k + 1]
        dh = (h1 - h0 + math.pi) % (2 * math.pi) - math.pi
        return x0 + f * (x1 - x0), y0 + f * (y1 - y0), h0 + f * dh

    def grid_window(self, s: float, count: int, step: int) -> tuple[np.ndarray, np.ndarray]:
        """``count`` grid points every ``step`` grid cells from arc length ``s`` on: (xy (count, 2), heading
        (count,)). Points past the route's end are NaN: nothing lies on the route beyond its exit."""
        idx = int(s / GRID_STEP_M) + np.arange(count) * step
        past = idx >= len(self.grid_xy)
        idx = np.minimum(idx, len(self.grid_xy) - 1)
        xy, h = self.grid_xy[idx].copy(), self.grid_heading[idx].copy()
        xy[past] = np.nan
        return xy, h


def _unit(h: float) -> np.ndarray:
    return np.array([math.cos(h), math.sin(h)])


def _right(h: float) -> np.ndarray:
    return np.array([math.sin(h), -math.cos(h)])


def _heading_between(a: np.ndarray, b: np.ndarray) -> float:
    d = b - a
    return math.atan2(d[1], d[0])


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


def crossing_path(a: tuple[int, int], b: tuple[int, int], x_first: bool) -> list[tuple[int, int]]:
    """Grid crossings visited from a to b (both included), moving along x first or along y first."""
    path = [a]
    i, j = a
    moves = [("x", b[0] - i), ("y", b[1] - j)]
    for axis, delta in moves if x_first else moves[::-1]:
        step = 1 if delta > 0 else -1
        for _ in range(abs(delta)):
            i, j = (i + step, j) if axis == "x" else (i, j + step)
            path.append((i, j))
    return path


def build_route(network: RoadNetwork, entry: Portal, exit_: Portal, lane: int, x_first: bool) -> Route | None:
    """The lane-centre route from ``entry`` to ``exit_``; None when it would need a U-turn."""
    crossings = crossing_path(entry.crossing, exit_.crossing, x_first)
    centres = [np.asarray(entry.xy)] + [network.crossing_xy(c) for c in crossings] + [np.asarray(exit_.xy)]
    headings = [entry.inbound_heading]
    headings += [_heading_between(centres[k], centres[k + 1]) for k in range(1, len(centres) - 2)]
    headings.append(_wrap(exit_.inbound_heading + math.pi))
    if any(abs(abs(_wrap(h1 - h0)) - math.pi) < 1e-6 for h0, h1 in itertools.pairwise(headings)):
        return None
    offset = network.lane_offset(lane)
    trim = network.half_width  # lanes end where the crossing box begins

    pieces: list[np.ndarray] = []
    stops: list[StopPoint] = []
    turns: list[tuple[float, float]] = []
    length = 0.0

    def add(piece: np.ndarray) -> None:
        nonlocal length
        if pieces:
            piece = piece[1:] if np.allclose(piece[0], pieces[-1][-1]) else piece
            length += float(np.linalg.norm(piece[0] - pieces[-1][-1]))
        length += float(np.sum(np.linalg.norm(np.diff(piece, axis=0), axis=1)))
        pieces.append(piece)

    for leg, heading in enumerate(headings):
        start_c, end_c = centres[leg], centres[leg + 1]
        lateral = _right(heading) * offset
        start = start_c + lateral + (_unit(heading) * trim if leg > 0 else 0.0)
        end = end_c + lateral - (_unit(heading) * trim if leg < len(headings) - 1 else 0.0)
        n = max(2, int(np.linalg.norm(end - start) / SAMPLE_STEP_M) + 1)
        add(np.linspace(start, end, n))
        if leg == len(headings) - 1:
            break
        crossing = crossings[leg]
        out_heading = headings[leg + 1]
        turn = _wrap(out_heading - heading)
        group = "left" if turn > 1e-6 else "through"
        axis = "ew" if abs(math.sin(heading)) < 0.5 else "ns"
        stops.append(StopPoint(length - STOP_LINE_SETBACK, crossing, axis, group))
        exit_point = centres[leg + 1] + _right(out_heading) * offset + _unit(out_heading) * trim
        if abs(turn) < 1e-6:
            add(np.linspace(end, exit_point, max(2, int(2 * trim / SAMPLE_STEP_M) + 1)))
        else:
            # Quadratic Bezier whose control point is where the two lane centre lines cross.
            control = centres[leg + 1] + offset * (_right(heading) + _right(out_heading))
            t = np.linspace(0.0, 1.0, CURVE_SAMPLES)[:, None]
            curve = (1 - t) ** 2 * end + 2 * (1 - t) * t * control + t**2 * exit_point
            turn_start = length
            add(curve)
            turns.append((turn_start, length))

    points = np.concatenate(pieces)
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    keep = np.concatenate([[True], seg > 1e-9])
    points = points[keep]
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    d = np.gradient(points, axis=0)
    heading_arr = np.arctan2(d[:, 1], d[:, 0])
    grid_s = np.arange(0.0, s[-1] + GRID_STEP_M, GRID_STEP_M)
    grid_xy = np.column_stack([np.interp(grid_s, s, points[:, 0]), np.interp(grid_s, s, points[:, 1])])
    grid_heading = np.arctan2(
        np.interp(grid_s, s, np.sin(heading_arr)), np.interp(grid_s, s, np.cos(heading_arr))
    )
    return Route(
        entry=entry.index,
        exit=exit_.index,
        lane=lane,
        points=points,
        s=s,
        heading=heading_arr,
        stops=tuple(stops),
        turns=np.asarray(turns, dtype=np.float64).reshape(-1, 2),
        grid_xy=grid_xy,
        grid_heading=grid_heading,
    )
