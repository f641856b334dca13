from __future__ import annotations

import math

import numpy as np
import pytest

from synth.config import RoadConfig
from synth.roads import CROSSWALK_END, STOP_LINE_SETBACK, RoadNetwork
from synth.types import Ground


@pytest.fixture
def net() -> RoadNetwork:
    return RoadNetwork(RoadConfig())


def material(net: RoadNetwork, x: float, y: float) -> int:
    return int(net.ground_material(np.array([[x, y]]))[0])


def test_surface_layout_across_a_road(net: RoadNetwork) -> None:
    x = 100.0  # mid-block between the two crossings at x = 0 and x = 240
    assert material(net, x, -1.75) == Ground.ASPHALT  # eastbound lane centre
    assert material(net, x, 0.0) == Ground.ASPHALT  # the gap between the double yellow centre lines
    assert material(net, x, 0.12) == Ground.MARKING_YELLOW
    assert material(net, x, -3.2) == Ground.MARKING_WHITE  # edge line 0.3 m inside the road edge
    assert material(net, x, -4.5) == Ground.SIDEWALK
    assert material(net, x, -12.0) == Ground.GRASS


def test_stop_line_only_on_the_inbound_half(net: RoadNetwork) -> None:
    edge = net.half_width
    # Eastbound traffic approaching the crossing at x = 0 keeps to the south half (y < 0).
    assert material(net, -(edge + STOP_LINE_SETBACK), -1.75) == Ground.MARKING_WHITE
    assert material(net, -(edge + STOP_LINE_SETBACK), 1.75) == Ground.ASPHALT
    # Northbound traffic approaching from the south keeps to the east half (x > 0).
    assert material(net, 1.75, -(edge + STOP_LINE_SETBACK)) == Ground.MARKING_WHITE
    assert material(net, -1.75, -(edge + STOP_LINE_SETBACK)) == Ground.ASPHALT


def test_crossing_interior_is_plain_asphalt(net: RoadNetwork) -> None:
    pts = np.random.default_rng(0).uniform(-3, 3, size=(200, 2))
    assert (net.ground_material(pts) == Ground.ASPHALT).all()


def test_crosswalk_has_stripes(net: RoadNetwork) -> None:
    x = -(net.half_width + CROSSWALK_END / 2)
    ys = np.linspace(-3.0, 3.0, 121)
    m = net.ground_material(np.column_stack([np.full_like(ys, x), ys]))
    assert (m == Ground.MARKING_WHITE).mean() > 0.3 and (m == Ground.ASPHALT).mean() > 0.3


def test_portals_point_into_the_map(net: RoadNetwork) -> None:
    assert len(net.portals) == 6  # 2 x 1 grid: east, west, and north + south of each crossing
    for p in net.portals:
        inward = net.crossing_xy(p.crossing) - np.asarray(p.xy)
        assert math.isclose(math.atan2(inward[1], inward[0]), p.inbound_heading, abs_tol=1e-9)


def test_verge_points_stay_off_roads(net: RoadNetwork) -> None:
    pts = net.verge_points(np.random.default_rng(1), 5.0, (0.5, 4.0))
    assert len(pts) > 20
    assert (net.ground_material(pts) == Ground.GRASS).all()
