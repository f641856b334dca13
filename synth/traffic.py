"""Traffic simulation: arrivals at the map edge, routes, signals and IDM car-following.

The Intelligent Driver Model (Treiber et al., 2000) gives each vehicle an acceleration from its own speed,
its desired speed, and the gap and closing speed to whatever is ahead on its own path: another vehicle,
or a red stop line. Signals (``synth/signals.py``) serve protected phases on demand.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from synth.config import SceneConfig
from synth.roads import RoadNetwork
from synth.routes import Route, build_route
from synth.signals import Signals
from synth.types import FrameState, VehicleIdentity
from synth.vehicles import HEAVY_TYPES, IdentitySampler

SUBSTEPS = 2  # simulation steps per video frame
HEAVY_SPEED_FACTOR = 0.85
LOOKAHEAD_M = 60.0
LOOKAHEAD_STEP_M = 2  # grid cells (m) between look-ahead samples; < lane width so no vehicle slips between
MAX_BRAKE_MPS2 = 4.5  # a vehicle this close to a red stop line runs the amber instead of braking harder
EMERGENCY_DECEL_MPS2 = 9.0
SPAWN_CLEARANCE_M = 14.0
BRAKE_LIGHT_DECEL_MPS2 = 0.6
STOPPED_SPEED_MPS = 0.3
SAME_PATH_COS = 0.3  # a vehicle blocks my path when it is on it and not crossing it at right angles

# Independent random streams, so that e.g. changing the fleet mix does not change the arrival times.
STREAM_ARRIVALS, STREAM_ROUTES, STREAM_IDENTITIES, STREAM_SIGNALS = 1, 2, 3, 4


@dataclass
class Vehicle:
    identity: VehicleIdentity
    route: Route
    desired_speed: float
    s: float
    v: float
    acc: float = 0.0
    next_stop: int = 0


@dataclass(frozen=True)
class TrafficResult:
    frames: list[FrameState]
    identities: dict[int, VehicleIdentity]


class TrafficSimulator:
    def __init__(self, cfg: SceneConfig, network: RoadNetwork) -> None:
        self.cfg = cfg
        self.tc = cfg.traffic
        self.network = network
        seed = cfg.seed
        self.rng_arrivals = np.random.default_rng([seed, STREAM_ARRIVALS])
        self.rng_routes = np.random.default_rng([seed, STREAM_ROUTES])
        self.sampler = IdentitySampler(self.tc, np.random.default_rng([seed, STREAM_IDENTITIES]))
        self.signals = Signals(cfg.signals, network.crossings, np.random.default_rng([seed, STREAM_SIGNALS]))
        self.vehicles: list[Vehicle] = []
        self._routes: dict[tuple[int, int, int, bool], Route | None] = {}
        portals = network.portals
        self.next_arrival = [self._gap() for _ in portals]
        self.pending = [0] * len(portals)

    # ----------------------------------------------------------------- arrivals
    def _gap(self) -> float:
        return float(self.rng_arrivals.exponential(1.0 / self.tc.spawn_rate_hz))

    def _route(self, entry: int, exit_: int, lane: int, x_first: bool) -> Route | None:
        key = (entry, exit_, lane, x_first)
        if key not in self._routes:
            p = self.network.portals
            self._routes[key] = build_route(self.network, p[entry], p[exit_], lane, x_first)
        return self._routes[key]

    def _spawn(self, t_since_start: float) -> None:
        portals = self.network.portals
        positions = None
        for k, portal in enumerate(portals):
            while t_since_start >= self.next_arrival[k]:
                self.pending[k] += 1
                self.next_arrival[k] += self._gap()
            if not self.pending[k]:
                continue
            if positions is None:
                positions = self._poses()[0]
            if (
                len(positions)
                and np.min(np.linalg.norm(positions - np.asarray(portal.xy), axis=1)) < SPAWN_CLEARANCE_M
            ):
                continue  # the entry is blocked; the arrival waits in the pending queue
            route = None
            while route is None:
                exit_ = int(self.rng_routes.integers(len(portals)))
                if exit_ == k:
                    continue
                lane = int(self.rng_routes.integers(self.network.cfg.lanes_per_direction))
                route = self._route(k, exit_, lane, bool(self.rng_routes.random() < 0.5))
            identity = self.sampler.next()
            lo, hi = self.tc.desired_speed_mps
            desired = float(self.rng_routes.uniform(lo, hi))
            if identity.vtype in HEAVY_TYPES:
                desired *= HEAVY_SPEED_FACTOR
            self.vehicles.append(Vehicle(identity, route, desired, s=identity.length_m / 2, v=0.8 * desired))
            self.pending[k] -= 1

    # ----------------------------------------------------------------- dynamics
    def _speed_limit(self, veh: Vehicle) -> float:
        """Desired speed, lowered ahead of and inside turns so vehicles slow down before they turn."""
        limit = veh.desired_speed
        turn_v = self.tc.turn_speed_mps
        for s0, s1 in veh.route.turns:
            front = veh.s + veh.identity.length_m / 2
            if s0 - LOOKAHEAD_M < front and veh.s - veh.identity.length_m / 2 < s1:
                dist = max(0.0, s0 - front)
                limit = min(limit, math.sqrt(turn_v**2 + 2 * self.tc.comfort_decel_mps2 * dist))
        return max(limit, 0.1)

    def _demand(self, lead: np.ndarray, gap: np.ndarray) -> dict[tuple[int, int], set[tuple[str, str]]]:
        """Per crossing, the movements that a vehicle near its stop line could use right now: the detectors.

        lead, gap: (V,) each vehicle's leader on its path and the gap to it (m), from ``_vehicles_ahead``.
        A vehicle queued behind one that waits for another movement (a left-turner blocking a through lane)
        does not call: holding a green that nobody can drive into would only starve the other phases.
        """
        reach = self.cfg.signals.detector_range_m
        waiting: dict[int, tuple[tuple[int, int], tuple[str, str], float]] = {}
        for i, veh in enumerate(self.vehicles):
            if veh.next_stop < len(veh.route.stops):
                stop = veh.route.stops[veh.next_stop]
                to_line = stop.s - (veh.s + veh.identity.length_m / 2)
                if to_line < reach:
                    waiting[i] = (stop.crossing, (stop.axis, stop.group), to_line)
        demand: dict[tuple[int, int], set[tuple[str, str]]] = {}
        blocked: set[int] = set()
        for i in sorted(waiting, key=lambda k: waiting[k][2]):  # queue heads first
            crossing, movement, _ = waiting[i]
            j = int(lead[i])
            queued_behind = np.isfinite(gap[i]) and j in waiting and waiting[j][0] == crossing
            if queued_behind and (j in blocked or waiting[j][1] != movement):
                blocked.add(i)
                continue
            demand.setdefault(crossing, set()).add(movement)
        return demand

    def _stop_line_gap(self, veh: Vehicle) -> float:
        """Gap (m) to a red stop line the vehicle must stop at, or inf (green, none near, or too late to stop)."""
        route, front = veh.route, veh.s + veh.identity.length_m / 2
        while veh.next_stop < len(route.stops) and route.stops[veh.next_stop].s < front - 0.5:
            veh.next_stop += 1
        if veh.next_stop == len(route.stops):
            return math.inf
        stop = route.stops[veh.next_stop]
        dist = stop.s - front
        if dist > LOOKAHEAD_M or self.signals.is_green(stop.crossing, (stop.axis, stop.group)):
            return math.inf
        if dist > veh.v**2 / (2 * MAX_BRAKE_MPS2) or veh.v < STOPPED_SPEED_MPS:
            return max(dist, 0.01)
        return math.inf  # too close to stop comfortably: runs the amber

    def _vehicles_ahead(self, pos: np.ndarray, heading: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For every vehicle, the gap (m) to the nearest vehicle on its own path ahead and that vehicle's index.

        pos: (V, 2) m; heading: (V,) rad. Returns gap (V,) (inf when the path ahead is clear) and lead (V,).
        """
        n_look = int(LOOKAHEAD_M / LOOKAHEAD_STEP_M)
        fronts = [v.s + v.identity.length_m / 2 for v in self.vehicles]
        windows = [
            v.route.grid_window(f, n_look, LOOKAHEAD_STEP_M)
            for v, f in zip(self.vehicles, fronts, strict=True)
        ]
        look_xy = np.stack([w[0] for w in windows])  # (V, M, 2)
        look_h = np.stack([w[1] for w in windows])  # (V, M)
        # Squared distances and dot products of unit vectors: the same test as |d| < r and cos(dh) > c, cheaper.
        dx = look_xy[:, :, None, 0] - pos[None, None, :, 0]
        dy = look_xy[:, :, None, 1] - pos[None, None, :, 1]
        near = dx * dx + dy * dy < (self.network.cfg.lane_width_m * 0.45) ** 2  # (V, M, V)
        cos_dh = (
            np.cos(look_h)[:, :, None] * np.cos(heading)[None, None, :]
            + np.sin(look_h)[:, :, None] * np.sin(heading)[None, None, :]
        )
        on_path = near & (cos_dh > SAME_PATH_COS)
        n = len(self.vehicles)
        on_path[np.arange(n), :, np.arange(n)] = False
        hit = on_path.any(axis=1)  # (V, V)
        first = on_path.argmax(axis=1)  # (V, V) first look-ahead sample on the other vehicle
        # The window starts at the grid cell below the front bumper: subtract the part already travelled.
        offset = np.mod(np.asarray(fronts), 1.0)[:, None]
        half = np.array([v.identity.length_m / 2 for v in self.vehicles])[None, :]
        gaps = np.where(hit, first * LOOKAHEAD_STEP_M - offset - half, np.inf)
        lead = gaps.argmin(axis=1)
        return gaps[np.arange(n), lead], lead

    def _poses(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions (V, 2) m and headings (V,) rad of all vehicles on the map."""
        poses = np.array([v.route.pose_at(v.s) for v in self.vehicles]).reshape(-1, 3)
        return poses[:, :2], poses[:, 2]

    def _step(self, dt: float) -> None:
        if not self.vehicles:
            self.signals.step(dt, {})
            return
        pos, heading = self._poses()
        veh_gap, lead = self._vehicles_ahead(pos, heading)
        self.signals.step(dt, self._demand(lead, veh_gap))
        tc = self.tc
        root_ab = 2 * math.sqrt(tc.max_accel_mps2 * tc.comfort_decel_mps2)
        for i, veh in enumerate(self.vehicles):
            free = 1.0 - (veh.v / self._speed_limit(veh)) ** 4
            gap, lead_v = veh_gap[i], self.vehicles[lead[i]].v
            stop_gap = self._stop_line_gap(veh)
            if stop_gap < gap:
                gap, lead_v = stop_gap, 0.0
            interaction = 0.0
            if math.isfinite(gap):
                dv = veh.v - lead_v
                s_star = tc.min_gap_m + max(0.0, veh.v * tc.time_headway_s + veh.v * dv / root_ab)
                interaction = (s_star / max(gap, 0.01)) ** 2
            veh.acc = max(-EMERGENCY_DECEL_MPS2, tc.max_accel_mps2 * (free - interaction))
        for veh in self.vehicles:
            new_v = max(0.0, veh.v + veh.acc * dt)
            veh.s += 0.5 * (veh.v + new_v) * dt
            veh.v = new_v
        self.vehicles = [v for v in self.vehicles if v.s - v.identity.length_m / 2 < v.route.length]

    def _snapshot(self, frame_index: int, timestamp: float) -> FrameState:
        xy, heading = self._poses()
        return FrameState(
            frame_index=frame_index,
            timestamp=timestamp,
            vehicle_id=np.array([v.identity.vehicle_id for v in self.vehicles], dtype=np.int64),
            xy=xy,
            heading=heading,
            speed=np.array([v.v for v in self.vehicles], dtype=np.float64),
            braking=np.array(
                [v.acc < -BRAKE_LIGHT_DECEL_MPS2 or v.v < STOPPED_SPEED_MPS for v in self.vehicles],
                dtype=bool,
            ),
        )

    def frames(self, progress: bool = False) -> Iterator[FrameState]:
        """Run the warm-up, then yield one ``FrameState`` per video frame (frame index 1-based)."""
        cfg = self.cfg
        dt = 1.0 / (cfg.fps * SUBSTEPS)
        warm_steps = round(cfg.traffic.warmup_s / dt)
        t0 = -warm_steps * dt
        for k in range(warm_steps):
            t = t0 + k * dt
            self._spawn(t - t0)
            self._step(dt)
        for f in tqdm(range(cfg.n_frames), desc="traffic", unit="frame", disable=not progress, leave=False):
            yield self._snapshot(f + 1, f / cfg.fps)
            for sub in range(SUBSTEPS):
                t = f / cfg.fps + sub * dt
                self._spawn(t - t0)
                self._step(dt)


def simulate(cfg: SceneConfig, network: RoadNetwork, progress: bool = False) -> TrafficResult:
    """All frames of the scene's traffic and the identities of every vehicle that was on the map."""
    sim = TrafficSimulator(cfg, network)
    frames = list(sim.frames(progress))
    return TrafficResult(frames=frames, identities={i.vehicle_id: i for i in sim.sampler.issued})
