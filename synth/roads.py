"""The road network: a grid of signalised crossings joined by straight two-way roads.

Roads run along x (one per grid row) and along y (one per grid column) and extend ``arm_length_m`` past
the outer crossings to the map edge, where vehicles enter and leave ("portals"). Traffic drives on the right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from synth.config import RoadConfig
from synth.types import Ground

# Painted line sizes (m), from common road-marking practice.
LINE_HALF_WIDTH = 0.075
CENTRE_LINE_GAP = 0.12  # half the gap between the two yellow centre lines
EDGE_LINE_INSET = 0.3
DASH_ON, DASH_PERIOD = 3.0, 9.0
# Measured outward from the crossing's edge: the crosswalk, then the stop line where queues wait.
CROSSWALK_START, CROSSWALK_END = 0.8, 3.8
STOP_LINE_SETBACK = 4.6
STOP_LINE_HALF_WIDTH = 0.25
CROSSWALK_STRIPE = 0.6

# Headings of the four travel directions (rad, counter-clockwise from +x).
EAST, NORTH, WEST, SOUTH = 0.0, math.pi / 2, math.pi, -math.pi / 2


@dataclass(frozen=True)
class Portal:
    """An entry/exit point at the map edge: vehicles enter heading ``inbound_heading``."""

    index: int
    xy: tuple[float, float]
    inbound_heading: float
    crossing: tuple[int, int]  # the grid crossing this arm leads to


class RoadNetwork:
    def __init__(self, cfg: RoadConfig) -> None:
        self.cfg = cfg
        gx, gy = cfg.grid
        self.xs = np.arange(gx, dtype=np.float64) * cfg.spacing_m  # x of the north-south roads
        self.ys = np.arange(gy, dtype=np.float64) * cfg.spacing_m  # y of the east-west roads
        self.half_width = cfg.lanes_per_direction * cfg.lane_width_m  # centre line to road edge
        self.x_extent = (-cfg.arm_length_m, float(self.xs[-1]) + cfg.arm_length_m)
        self.y_extent = (-cfg.arm_length_m, float(self.ys[-1]) + cfg.arm_length_m)
        self.portals = self._make_portals()

    # ------------------------------------------------------------------ topology
    @property
    def crossings(self) -> list[tuple[int, int]]:
        return [(i, j) for j in range(len(self.ys)) for i in range(len(self.xs))]

    def crossing_xy(self, crossing: tuple[int, int]) -> np.ndarray:
        return np.array([self.xs[crossing[0]], self.ys[crossing[1]]])

    def _make_portals(self) -> list[Portal]:
        arm = self.cfg.arm_length_m
        gx, gy = len(self.xs), len(self.ys)
        found: list[tuple[tuple[float, float], float, tuple[int, int]]] = []
        for j, y in enumerate(self.ys):
            found.append(((self.xs[0] - arm, y), EAST, (0, j)))
            found.append(((self.xs[-1] + arm, y), WEST, (gx - 1, j)))
        for i, x in enumerate(self.xs):
            found.append(((x, self.ys[0] - arm), NORTH, (i, 0)))
            found.append(((x, self.ys[-1] + arm), SOUTH, (i, gy - 1)))
        return [Portal(k, (float(p[0]), float(p[1])), h, c) for k, (p, h, c) in enumerate(found)]

    def lane_offset(self, lane: int) -> float:
        """Distance (m) from the road centre line to the centre of lane ``lane`` (0 = next to the centre)."""
        return (lane + 0.5) * self.cfg.lane_width_m

    def road_length_m(self) -> float:
        """Total centre-line length of all roads (m)."""
        x_len = self.x_extent[1] - self.x_extent[0]
        y_len = self.y_extent[1] - self.y_extent[0]
        return len(self.ys) * x_len + len(self.xs) * y_len

    # ------------------------------------------------------------------ surface
    def ground_material(self, xy: np.ndarray) -> np.ndarray:
        """xy: (N, 2) world metres -> (N,) uint8 ``Ground`` codes (grass, asphalt, sidewalk, paint)."""
        xy = np.asarray(xy, dtype=np.float64)
        x, y = xy[:, 0], xy[:, 1]
        hw, sw = self.half_width, self.cfg.sidewalk_width_m
        # Signed offset from the nearest east-west road (dy) and north-south road (dx).
        dy = y[:, None] - self.ys[None, :]
        dy = dy[np.arange(len(y)), np.abs(dy).argmin(axis=1)]
        dx = x[:, None] - self.xs[None, :]
        dx = dx[np.arange(len(x)), np.abs(dx).argmin(axis=1)]
        in_x = (x >= self.x_extent[0]) & (x <= self.x_extent[1])
        in_y = (y >= self.y_extent[0]) & (y <= self.y_extent[1])
        on_ew = in_x & (np.abs(dy) < hw)
        on_ns = in_y & (np.abs(dx) < hw)
        walk = (in_x & (np.abs(dy) < hw + sw)) | (in_y & (np.abs(dx) < hw + sw))

        out = np.full(len(xy), Ground.GRASS, dtype=np.uint8)
        out[walk] = Ground.SIDEWALK
        out[on_ew | on_ns] = Ground.ASPHALT
        inside_crossing = on_ew & on_ns
        # Markings of each road, skipped inside crossings; ``along`` is the distance from the nearest crossing.
        # Right-hand traffic: eastbound lanes lie south of the centre line (across and to_cross share a
        # sign on the inbound half), northbound lanes lie east of it (opposite signs).
        for on_road, across, to_cross, along, inbound_sign in (
            (on_ew & ~on_ns, dy, dx, x, 1.0),
            (on_ns & ~on_ew, dx, dy, y, -1.0),
        ):
            self._paint_road(out, on_road, across, to_cross, along, inbound_sign)
        out[inside_crossing] = Ground.ASPHALT
        return out

    def _paint_road(
        self,
        out: np.ndarray,
        on_road: np.ndarray,
        across: np.ndarray,
        to_cross: np.ndarray,
        along: np.ndarray,
        inbound_sign: float,
    ) -> None:
        """Paint one family of parallel roads, all arrays (N,) metres. across: signed offset from the centre
        line; to_cross: signed offset along the road from the nearest crossing centre; along: the coordinate
        along the road; inbound_sign: sign of across * to_cross on the lanes that approach a crossing."""
        hw, lw = self.half_width, self.cfg.lane_width_m
        a = np.abs(across)
        beyond = np.abs(to_cross) - hw  # distance past the crossing's edge (negative inside)
        yellow = on_road & (np.abs(a - CENTRE_LINE_GAP) < LINE_HALF_WIDTH)
        edge = on_road & (np.abs(a - (hw - EDGE_LINE_INSET)) < LINE_HALF_WIDTH)
        dashed = np.zeros_like(on_road)
        for k in range(1, self.cfg.lanes_per_direction):
            dashed |= np.abs(a - k * lw) < LINE_HALF_WIDTH
        dashed &= on_road & (np.mod(along, DASH_PERIOD) < DASH_ON)
        inbound = (np.sign(across) * np.sign(to_cross) == inbound_sign) & (
            a > CENTRE_LINE_GAP + LINE_HALF_WIDTH
        )
        stop = on_road & inbound & (np.abs(beyond - STOP_LINE_SETBACK) < STOP_LINE_HALF_WIDTH)
        zebra = (
            on_road
            & (beyond > CROSSWALK_START)
            & (beyond < CROSSWALK_END)
            & (np.mod(across, 2 * CROSSWALK_STRIPE) < CROSSWALK_STRIPE)
            & (a < hw - 0.2)
        )
        # Centre and lane lines stop where the crosswalk begins; edge lines run on to the crossing.
        clear_of_crosswalk = beyond >= CROSSWALK_END
        out[yellow & clear_of_crosswalk] = Ground.MARKING_YELLOW
        out[edge | (dashed & clear_of_crosswalk) | stop | zebra] = Ground.MARKING_WHITE

    # ------------------------------------------------------------------ roadside
    def verge_points(
        self, rng: np.random.Generator, per_100m: float, setback: tuple[float, float]
    ) -> np.ndarray:
        """Random points on the verges beside every road, ``setback`` metres beyond the sidewalk's outer edge.

        Returns (N, 2) world metres, none on asphalt or sidewalk (so nothing stands in a lane).
        """
        n = rng.poisson(per_100m * 2 * self.road_length_m() / 100.0)
        if n == 0:
            return np.zeros((0, 2))
        hw = self.half_width + self.cfg.sidewalk_width_m
        x_len = self.x_extent[1] - self.x_extent[0]
        y_len = self.y_extent[1] - self.y_extent[0]
        family = rng.random(n) < (len(self.ys) * x_len) / (len(self.ys) * x_len + len(self.xs) * y_len)
        side = rng.choice([-1.0, 1.0], size=n)
        off = side * (hw + rng.uniform(*setback, size=n))
        pts = np.empty((n, 2))
        ew = family
        pts[ew, 0] = rng.uniform(*self.x_extent, size=ew.sum())
        pts[ew, 1] = self.ys[rng.integers(len(self.ys), size=ew.sum())] + off[ew]
        pts[~ew, 0] = self.xs[rng.integers(len(self.xs), size=(~ew).sum())] + off[~ew]
        pts[~ew, 1] = rng.uniform(*self.y_extent, size=(~ew).sum())
        clear = self.ground_material(pts) == Ground.GRASS
        # The sampled setback holds for the point's own road, not for a crossing one: check that too.
        margin = 0.9 * setback[0]
        grown = np.stack(
            [
                self.ground_material(pts + np.array(d) * margin) == Ground.GRASS
                for d in ((1, 0), (-1, 0), (0, 1), (0, -1))
            ]
        ).all(axis=0)
        return pts[clear & grown]
