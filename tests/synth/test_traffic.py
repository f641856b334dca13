from __future__ import annotations

import numpy as np
import pytest

from synth.config import load_scene_config
from synth.roads import RoadNetwork
from synth.traffic import simulate
from synth.vehicles import DIMENSIONS


@pytest.fixture(scope="module")
def traffic():
    cfg = load_scene_config("default", overrides=["duration_s=40", "traffic.warmup_s=30"], seed=11)
    return cfg, simulate(cfg, RoadNetwork(cfg.roads))


def test_one_state_per_frame_with_persistent_ids(traffic) -> None:
    cfg, result = traffic
    assert len(result.frames) == cfg.n_frames == 400
    assert [f.frame_index for f in result.frames[:3]] == [1, 2, 3]
    assert result.frames[1].timestamp == pytest.approx(0.1)
    seen = set()
    for f in result.frames:
        assert len(set(f.vehicle_id.tolist())) == len(f.vehicle_id)
        seen |= set(f.vehicle_id.tolist())
    assert seen <= set(result.identities) and len(seen) >= 20


def test_speeds_are_realistic_and_vehicles_stop_at_lights(traffic) -> None:
    _, result = traffic
    speed = np.concatenate([f.speed for f in result.frames])
    assert speed.max() <= 16.0 + 1e-6
    assert np.percentile(speed[speed > 1.0], 90) >= 8.0  # free flow in the 9-16 m/s range
    assert (speed < 0.3).mean() > 0.05  # queues at red lights


def test_positions_move_by_speed_times_dt(traffic) -> None:
    cfg, result = traffic
    a, b = result.frames[100], result.frames[101]
    _, ia, ib = np.intersect1d(a.vehicle_id, b.vehicle_id, return_indices=True)
    step = np.linalg.norm(b.xy[ib] - a.xy[ia], axis=1)
    mean_speed = 0.5 * (a.speed[ia] + b.speed[ib])
    straight = np.abs(np.sin(b.heading[ib] - a.heading[ia])) < 1e-3
    assert np.allclose(step[straight], mean_speed[straight] / cfg.fps, atol=0.05)


def test_no_two_vehicles_overlap(traffic) -> None:
    _, result = traffic
    for f in result.frames[::10]:
        d = np.linalg.norm(f.xy[:, None] - f.xy[None], axis=2) + np.eye(len(f.xy)) * 1e9
        assert d.min() > 1.5, f"frame {f.frame_index}: two vehicles {d.min():.2f} m apart"


def test_same_seed_same_traffic_other_seed_differs() -> None:
    cfg = load_scene_config("default", overrides=["duration_s=5", "traffic.warmup_s=20"], seed=4)
    a, b = (simulate(cfg, RoadNetwork(cfg.roads)) for _ in range(2))
    assert all(np.array_equal(x.xy, y.xy) for x, y in zip(a.frames, b.frames, strict=True))
    other = simulate(cfg.model_copy(update={"seed": 5}), RoadNetwork(cfg.roads))
    assert not np.array_equal(a.frames[-1].xy, other.frames[-1].xy) or len(a.frames[-1].xy) != len(
        other.frames[-1].xy
    )


def test_identities_follow_the_fleet_rules(traffic) -> None:
    _, result = traffic
    for ident in result.identities.values():
        (l_lo, l_hi), (w_lo, w_hi), (h_lo, h_hi) = DIMENSIONS[ident.vtype]
        assert (
            l_lo <= ident.length_m <= l_hi
            and w_lo <= ident.width_m <= w_hi
            and h_lo <= ident.height_m <= h_hi
        )
        assert not (ident.roof_rack and ident.vtype in ("truck", "bus"))
