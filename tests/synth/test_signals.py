from __future__ import annotations

import itertools

import numpy as np
import pytest

from synth.config import SignalConfig
from synth.signals import PHASES, Signals

C = (0, 0)
DT = 0.05
CFG = SignalConfig(min_green_s=5, straight_max_green_s=20, left_max_green_s=8, all_red_s=2)


def run(sig: Signals, seconds: float, demand: set) -> list[tuple[str, str] | None]:
    """The green movement at each step (None during all-red)."""
    out = []
    for _ in range(round(seconds / DT)):
        sig.step(DT, {C: demand})
        green = [m for m in PHASES if sig.is_green(C, m)]
        assert len(green) <= 1, "two movements green at once"
        out.append(green[0] if green else None)
    return out


def durations(trace: list) -> list[tuple[object, float]]:
    runs: list[tuple[object, float]] = []
    for m in trace:
        if runs and runs[-1][0] == m:
            runs[-1] = (m, runs[-1][1] + DT)
        else:
            runs.append((m, DT))
    return runs


def test_full_demand_cycles_through_every_phase_at_max_green() -> None:
    sig = Signals(CFG, [C], np.random.default_rng(0))
    runs = durations(run(sig, 200, set(PHASES)))[1:-1]  # drop the partial first and last runs
    greens = [(m, d) for m, d in runs if m is not None]
    reds = [d for m, d in runs if m is None]
    assert {m for m, _ in greens} == set(PHASES)
    for m, d in greens:
        assert d == pytest.approx(
            CFG.straight_max_green_s if m[1] == "through" else CFG.left_max_green_s, abs=0.06
        )
    assert all(r == pytest.approx(CFG.all_red_s, abs=0.06) for r in reds)
    # Rotation order is kept.
    order = [PHASES.index(m) for m, _ in greens]
    assert all((b - a) % 4 == 1 for a, b in itertools.pairwise(order))


def test_phases_nobody_waits_for_are_skipped_and_green_rests() -> None:
    sig = Signals(CFG, [C], np.random.default_rng(1))
    demand = {("ns", "through"), ("ew", "through")}
    runs = durations(run(sig, 120, demand))[1:]  # the random start phase may be any phase
    assert {m for m, _ in runs if m is not None} == demand
    # Only one movement waiting: it gets the green and keeps it past its maximum.
    sig = Signals(CFG, [C], np.random.default_rng(2))
    trace = run(sig, 60, {("ns", "left")})
    assert trace[-1] == ("ns", "left") and durations(trace)[-1][1] > CFG.left_max_green_s


def test_green_gaps_out_when_its_queue_is_served() -> None:
    sig = Signals(CFG, [C], np.random.default_rng(3))
    run(sig, 60, {("ew", "through")})  # settle into the east-west green
    assert sig.is_green(C, ("ew", "through"))
    # The east-west queue empties while north-south traffic waits: green ends after the minimum.
    trace = run(sig, 10, {("ns", "through")})
    assert trace[0] is None  # clearance starts at once: the green has already run past its minimum
    assert ("ns", "through") in trace
