"""Actuated traffic signals: four protected phases per crossing, served on demand.

Phases: east-west through (with right turns), east-west left, north-south through, north-south left; an
all-red clearance separates them, so crossing flows never meet. Like a real actuated controller, a phase gets
at least ``min_green_s``, keeps its green while vehicles keep arriving at its detectors (up to its maximum),
ends early ("gaps out") when nobody is left to serve, and phases nobody waits for are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.config import SignalConfig

PHASES: tuple[tuple[str, str], ...] = (("ew", "through"), ("ew", "left"), ("ns", "through"), ("ns", "left"))
Movement = tuple[str, str]  # (axis the vehicle arrives on, "through" | "left")
Crossing = tuple[int, int]


@dataclass
class _Controller:
    phase: int
    elapsed: float  # seconds in the current phase (green) or clearance (all-red)
    clearing: bool = False  # in the all-red that follows a green


class Signals:
    def __init__(self, cfg: SignalConfig, crossings: list[Crossing], rng: np.random.Generator) -> None:
        self.cfg = cfg
        self.max_green = [cfg.straight_max_green_s, cfg.left_max_green_s] * 2
        # Random start phases and times so that neighbouring crossings are not in lockstep.
        self.state = {
            c: _Controller(
                phase=int(rng.integers(len(PHASES))), elapsed=float(rng.uniform(0, cfg.min_green_s))
            )
            for c in crossings
        }

    def is_green(self, crossing: Crossing, movement: Movement) -> bool:
        s = self.state[crossing]
        return not s.clearing and PHASES[s.phase] == movement

    def step(self, dt: float, demand: dict[Crossing, set[Movement]]) -> None:
        """Advance every controller by dt seconds. demand: per crossing, the movements with a vehicle within
        ``detector_range_m`` of their stop line (waiting or approaching)."""
        for crossing, s in self.state.items():
            waiting = demand.get(crossing, set())
            s.elapsed += dt
            if s.clearing:
                if s.elapsed >= self.cfg.all_red_s:
                    s.phase, s.elapsed, s.clearing = self._next_phase(s.phase, waiting), 0.0, False
                continue
            others_waiting = any(m in waiting for m in PHASES if m != PHASES[s.phase])
            if not others_waiting or s.elapsed < self.cfg.min_green_s:
                continue  # rest in green while nobody else waits
            if PHASES[s.phase] not in waiting or s.elapsed >= self.max_green[s.phase]:
                s.elapsed, s.clearing = 0.0, True

    @staticmethod
    def _next_phase(current: int, waiting: set[Movement]) -> int:
        """The next phase in rotation that somebody waits for (the one after current when none does)."""
        for k in range(1, len(PHASES) + 1):
            candidate = (current + k) % len(PHASES)
            if PHASES[candidate] in waiting:
                return candidate
        return (current + 1) % len(PHASES)
