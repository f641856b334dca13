"""The static background: ground materials where the road network puts them, sky, region of interest, night."""

from __future__ import annotations

import numpy as np
import pytest

from synth.background import render_background
from synth.camera import PinholeCamera
from synth.config import LightingConfig, RoadConfig
from synth.lamps import lamp_heads
from synth.roads import RoadNetwork
from synth.shading import scene_light
from synth.types import Ground, Occluder, StreetLight

CAM = PinholeCamera.look_at("cam01", (-22.0, -18.0, 9.0), (0.0, 0.0, 0.0), 62.0, 640, 360)
NET = RoadNetwork(RoadConfig())
DAY = scene_light(LightingConfig(), night=False)
NIGHT = scene_light(LightingConfig(ambient=0.12, diffuse=0.05), night=True)


@pytest.fixture(scope="module")
def day():
    return render_background(CAM, NET, [], [], DAY)


def samples(material: Ground, n: int = 40, margin_px: int = 3) -> np.ndarray:
    """Pixels (n, 2) int whose whole neighbourhood sees ``material`` (checked on a grid of ground points)."""
    rng = np.random.default_rng(int(material))
    found: list[np.ndarray] = []
    while len(found) < n:
        uv = rng.uniform(
            [margin_px, CAM.horizon_row() + 40], [CAM.width - margin_px, CAM.height - margin_px], (400, 2)
        )
        uv = np.round(uv)
        span = range(-margin_px, margin_px + 1)
        offsets = np.array([(dx, dy) for dx in span for dy in span])
        ok = np.ones(len(uv), dtype=bool)
        for off in offsets:
            ok &= NET.ground_material(CAM.pixels_to_ground(uv + off)) == material
        found += list(uv[ok].astype(int))
    return np.array(found[:n])


def test_asphalt_is_grey_where_the_network_says_asphalt(day) -> None:
    px = samples(Ground.ASPHALT)
    bgr = day.image[px[:, 1], px[:, 0]].astype(float)
    assert np.all(np.ptp(bgr, axis=1) < 25)  # grey: channels close together
    assert 45 < bgr.mean() < 130
    grass = day.image[tuple(samples(Ground.GRASS)[:, ::-1].T)].astype(float)
    assert np.all(grass[:, 1] > grass[:, 0])  # green over blue
    walk = day.image[tuple(samples(Ground.SIDEWALK)[:, ::-1].T)].astype(float)
    assert walk.mean() > bgr.mean() + 30  # concrete is lighter than asphalt


def test_roi_covers_road_and_sidewalk_but_not_grass(day) -> None:
    for material in (Ground.ASPHALT, Ground.SIDEWALK):
        px = samples(material)
        assert np.all(day.roi[px[:, 1], px[:, 0]] == 255)
    px = samples(Ground.GRASS, margin_px=8)
    assert np.all(day.roi[px[:, 1], px[:, 0]] == 0)
    assert set(np.unique(day.roi).tolist()) == {0, 255}


def test_sky_above_the_horizon_and_no_ruler_line(day) -> None:
    top = day.image[:5].reshape(-1, 3).astype(float)
    assert np.all(top[:, 0] > top[:, 2])  # blue over red
    # The skyline band makes the horizon row vary across columns instead of one sharp straight edge.
    row = int(CAM.horizon_row())
    band = day.image[max(row - 12, 0) : row + 4].astype(float).mean(axis=2)
    assert band.std(axis=1).max() > 5


def test_background_is_deterministic_and_the_world_seed_varies_it(day) -> None:
    again = render_background(CAM, NET, [], [], DAY)
    assert np.array_equal(day.image, again.image) and np.array_equal(day.roi, again.roi)
    other = render_background(CAM, NET, [], [], DAY, world_seed=99)
    assert not np.array_equal(day.image, other.image) and np.array_equal(day.roi, other.roi)


def test_two_cameras_see_the_same_asphalt_texture() -> None:
    # A second camera looking at the same patch from nearly the same place sees nearly the same colours.
    twin = PinholeCamera.look_at("cam02", (-22.0, -18.05, 9.0), (0.0, 0.0, 0.0), 62.0, 640, 360)
    a = render_background(CAM, NET, [], [], DAY).image.astype(float)
    b = render_background(twin, NET, [], [], DAY).image.astype(float)
    px = samples(Ground.ASPHALT)
    assert np.abs(a[px[:, 1], px[:, 0]] - b[px[:, 1], px[:, 0]]).mean() < 4


def test_tree_shade_darkens_the_ground_beside_the_tree(day) -> None:
    tree = Occluder("tree", -6.0, -7.0, 2.4, 7.0, 2.5, (40, 95, 45), 1)
    shaded = render_background(CAM, NET, [tree], [], DAY)
    centre_h = 2.5 + (7.0 - 2.5) / 2
    spot = np.array([tree.x, tree.y]) + DAY.shadow_offset(centre_h)
    uv = CAM.project(np.array([[*spot, 0.0]]))[0][0].round().astype(int)
    assert shaded.image[uv[1], uv[0]].mean() < 0.8 * day.image[uv[1], uv[0]].mean()


def test_night_is_dark_with_pools_of_light_under_the_lamps(day) -> None:
    lamp = StreetLight(-7.8, -7.8, 8.0)
    night = render_background(CAM, NET, [], [lamp], NIGHT)
    assert night.image.mean() < 0.3 * day.image.mean()
    head = lamp_heads([lamp], NET)[0]
    under = CAM.project(np.array([[head[0], head[1], 0.0]]))[0][0].round().astype(int)
    far = CAM.project(np.array([[30.0, -1.75, 0.0]]))[0][0].round().astype(int)  # asphalt far from the lamp
    lit = night.image[under[1] - 2 : under[1] + 3, under[0] - 2 : under[0] + 3].mean()
    dark = night.image[far[1] - 2 : far[1] + 3, far[0] - 2 : far[0] + 3].mean()
    assert lit > 2.5 * dark
    assert np.array_equal(night.roi, day.roi)
