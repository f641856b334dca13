from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synth.camera import NEAR_PLANE_M, PinholeCamera, clip_near


@pytest.fixture
def cam() -> PinholeCamera:
    return PinholeCamera.look_at("cam01", (-17.0, -15.0, 10.0), (4.0, 3.0, 0.0), 70.0, 640, 360)


def test_look_at_target_projects_to_the_image_centre(cam: PinholeCamera) -> None:
    uv, depth = cam.project(np.array([[4.0, 3.0, 0.0]]))
    assert np.allclose(uv[0], [319.5, 179.5], atol=1e-9)
    assert depth[0] == pytest.approx(np.linalg.norm([21.0, 18.0, -10.0]))
    assert np.allclose(cam.centre, [-17.0, -15.0, 10.0])


def test_rotation_is_orthonormal_and_focal_matches_fov(cam: PinholeCamera) -> None:
    assert np.allclose(cam.R @ cam.R.T, np.eye(3))
    assert np.linalg.det(cam.R) == pytest.approx(1.0)
    assert cam.K[0, 0] == pytest.approx(320.0 / np.tan(np.radians(35.0)))


def test_homographies_round_trip_ground_points(cam: PinholeCamera) -> None:
    rng = np.random.default_rng(0)
    ground = rng.uniform(-10, 30, size=(50, 2))
    uv, depth = cam.project(np.column_stack([ground, np.zeros(50)]))
    assert (depth > 0).all()
    h = np.column_stack([ground, np.ones(50)]) @ cam.world_to_image.T
    assert np.allclose(h[:, :2] / h[:, 2:], uv, atol=1e-6)
    assert np.allclose(cam.pixels_to_ground(uv), ground, atol=1e-6)


def test_horizon_row_is_where_ground_recedes_to_infinity(cam: PinholeCamera) -> None:
    row = cam.horizon_row()
    assert 0 <= row < 180  # tilted down: the horizon is in the upper half
    far = cam.centre[:2] + 1e6 * (np.array([4.0, 3.0]) - cam.centre[:2]) / np.linalg.norm([21.0, 18.0])
    uv, _ = cam.project(np.array([[*far, 0.0]]))
    assert uv[0, 1] == pytest.approx(row, abs=0.05)


def test_json_round_trip(cam: PinholeCamera, tmp_path: Path) -> None:
    path = tmp_path / "cam01.json"
    cam.save_json(path, {"camera_id": 1})
    back = PinholeCamera.from_json(path)
    assert np.allclose(back.K, cam.K) and np.allclose(back.R, cam.R) and np.allclose(back.t, cam.t)


def test_clip_near_cuts_a_polygon_crossing_the_plane() -> None:
    square = np.array([[0.0, 0.0, -1.0], [1.0, 0.0, -1.0], [1.0, 0.0, 3.0], [0.0, 0.0, 3.0]])
    clipped = clip_near(square)
    assert len(clipped) == 4
    assert clipped[:, 2].min() == pytest.approx(NEAR_PLANE_M)
    assert len(clip_near(square - [0, 0, 10])) == 0
    assert np.array_equal(clip_near(square + np.array([0, 0, 5])), square + np.array([0, 0, 5]))


def test_camera_looking_straight_down_is_rejected() -> None:
    with pytest.raises(ValueError, match="straight down"):
        PinholeCamera.look_at("cam09", (0.0, 0.0, 10.0), (0.0, 0.0, 0.0), 60.0, 640, 360)
