from __future__ import annotations

import math

import numpy as np
import pytest

from synth.config import RoadConfig
from synth.roads import RoadNetwork
from synth.routes import build_route, crossing_path


@pytest.fixture
def net() -> RoadNetwork:
    return RoadNetwork(RoadConfig(grid=(2, 2), spacing_m=200))


def portal(net: RoadNetwork, xy: tuple[float, float]):
    return next(p for p in net.portals if np.allclose(p.xy, xy))


def test_crossing_path_orders() -> None:
    assert crossing_path((0, 0), (2, 1), x_first=True) == [(0, 0), (1, 0), (2, 0), (2, 1)]
    assert crossing_path((0, 0), (2, 1), x_first=False) == [(0, 0), (0, 1), (1, 1), (2, 1)]


def test_straight_route_keeps_the_right_hand_lane(net: RoadNetwork) -> None:
    west, east = portal(net, (-150, 0)), portal(net, (350, 0))
    route = build_route(net, west, east, lane=0, x_first=True)
    assert route is not None
    assert np.allclose(route.points[:, 1], -net.lane_offset(0))  # eastbound drives south of the centre line
    assert route.length == pytest.approx(500.0, abs=0.01)
    assert [s.group for s in route.stops] == ["through", "through"]
    assert len(route.turns) == 0


def test_turning_route_is_continuous_and_marks_its_turn(net: RoadNetwork) -> None:
    west, north = portal(net, (-150, 0)), portal(net, (200, 350))
    route = build_route(net, west, north, lane=0, x_first=True)
    assert route is not None
    steps = np.linalg.norm(np.diff(route.points, axis=0), axis=1)
    assert steps.max() < 0.6  # dense, no jumps
    # Straight over (0, 0), left at (200, 0), straight over (200, 200) to the north edge.
    assert [s.group for s in route.stops] == ["through", "left", "through"]
    assert [s.axis for s in route.stops] == ["ew", "ew", "ns"]
    assert len(route.turns) == 1
    _, heading = route.pose(route.length - 1.0)
    assert heading[0] == pytest.approx(math.pi / 2, abs=1e-6)
    x, y, h = route.pose_at(route.length / 2)
    xy, h2 = route.pose(route.length / 2)
    assert np.allclose([x, y], xy[0], atol=0.05) and h == pytest.approx(h2[0], abs=0.05)


def test_stop_lines_lie_before_each_crossing(net: RoadNetwork) -> None:
    route = build_route(net, portal(net, (-150, 0)), portal(net, (350, 0)), lane=0, x_first=True)
    assert route is not None
    xy, _ = route.pose(np.array([s.s for s in route.stops]))
    # The stop line sits before the crossing edge (half_width from its centre), outside the crosswalk.
    assert np.all(xy[:, 0] < np.array([0.0, 200.0]) - net.half_width - 3.8)


def test_u_turn_routes_are_refused(net: RoadNetwork) -> None:
    # Entering from the west at row 0 and leaving west at row 0 would need a U-turn.
    west = portal(net, (-150, 0))
    assert build_route(net, west, west, lane=0, x_first=True) is None
