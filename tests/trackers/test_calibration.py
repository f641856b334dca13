"""Ground planes: projection of box feet, the horizon, the near-side offset, calibration files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trackers.calibration import CalibrationError, GroundPlane, load_ground_planes


def pinhole_homography(height_m: float = 10.0, tilt_deg: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    """Image->ground homography of a camera at (0, 0, height) looking along +y, pitched down by tilt,
    focal 500 px, principal point (320, 180). Returns (image_to_world, world_to_image)."""
    k = np.array([[500.0, 0, 320], [0, 500, 180], [0, 0, 1]])
    t = np.radians(tilt_deg)
    # camera axes in world: x right, y down (image rows), z forward
    x_axis = np.array([1.0, 0, 0])
    z_axis = np.array([0, np.cos(t), -np.sin(t)])
    y_axis = np.cross(z_axis, x_axis)
    rotation = np.stack([x_axis, y_axis, z_axis])
    translation = -rotation @ np.array([0, 0, height_m])
    world_to_image = k @ np.column_stack([rotation[:, 0], rotation[:, 1], translation])
    return np.linalg.inv(world_to_image), world_to_image


def test_projects_the_bottom_centre_of_boxes_and_blanks_the_sky():
    image_to_world, world_to_image = pinhole_homography()
    plane = GroundPlane(image_to_world / image_to_world[2, 2])
    ground = np.array([[3.0, 20.0], [-5.0, 60.0]])
    homog = np.column_stack([ground, np.ones(2)]) @ world_to_image.T
    uv = homog[:, :2] / homog[:, 2:]
    boxes = np.column_stack([uv[:, 0] - 20, uv[:, 1] - 30, uv[:, 0] + 20, uv[:, 1]])
    np.testing.assert_allclose(plane.project(boxes), ground, atol=1e-6)
    # the horizon of a camera pitched down 20 deg lies 500 tan(20 deg) = 182 px above the centre row
    sky = np.array([[300.0, -40.0, 340.0, -10.0]])
    assert np.isnan(plane.project(sky)).all()


def test_foot_offset_moves_points_away_from_the_camera():
    plane = GroundPlane(np.diag([0.1, 0.1, 1.0]), camera_xy=np.array([0.0, 0.0]))
    foot = plane.project(np.array([[20.0, 10.0, 40.0, 40.0]]), foot_offset_m=2.0)  # bottom centre (3, 4) m
    np.testing.assert_allclose(foot, [[3.0 + 1.2, 4.0 + 1.6]])
    no_camera = GroundPlane(np.diag([0.1, 0.1, 1.0]))
    np.testing.assert_allclose(no_camera.project(np.array([[20.0, 10.0, 40.0, 40.0]]), 2.0), [[3.0, 4.0]])


def test_calibration_files(tmp_path):
    good = tmp_path / "cam01.json"
    good.write_text(json.dumps({"homography_image_to_world": np.eye(3).tolist(), "position_m": [1, 2, 9]}))
    planes = load_ground_planes(tmp_path, ["cam01", "cam02"])
    assert list(planes) == ["cam01"]  # a camera without a file simply has no positions
    np.testing.assert_array_equal(planes["cam01"].camera_xy, [1.0, 2.0])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"K": [[1, 0, 0]]}))
    with pytest.raises(CalibrationError, match=r"bad.json: unusable calibration.*homography_image_to_world"):
        GroundPlane.from_json(bad)
    not_json = tmp_path / "not-json.json"
    not_json.write_text("{bad")
    with pytest.raises(CalibrationError, match=r"not-json.json: not a calibration file.*homography_image_to"):
        GroundPlane.from_json(not_json)
    singular = tmp_path / "singular.json"
    singular.write_text(json.dumps({"homography_image_to_world": np.zeros((3, 3)).tolist()}))
    with pytest.raises(
        CalibrationError, match=r"singular\.json: unusable calibration \(a ground homography must be"
    ):
        GroundPlane.from_json(singular)
    with pytest.raises(CalibrationError, match="no such calibration file"):
        GroundPlane.from_json(tmp_path / "missing.json")


def test_calibration_mappings_name_their_source(tmp_path):
    record = {"homography_image_to_world": (np.eye(3) * 2).tolist(), "position_m": [1, 2, 9], "other": 1}
    plane = GroundPlane.from_mapping(record, "camera 'cam01'")
    np.testing.assert_array_equal(plane.image_to_world, np.eye(3) * 2)
    np.testing.assert_array_equal(plane.camera_xy, [1.0, 2.0])
    assert GroundPlane.from_mapping({"homography_image_to_world": np.eye(3).tolist()}, "x").camera_xy is None
    # a file is read into the same mapping
    (tmp_path / "cam01.json").write_text(json.dumps(record))
    from_file = GroundPlane.from_json(tmp_path / "cam01.json")
    np.testing.assert_array_equal(from_file.image_to_world, plane.image_to_world)
    np.testing.assert_array_equal(from_file.camera_xy, plane.camera_xy)

    fix = r"it needs a JSON object with \"homography_image_to_world\": a 3x3 list of rows"
    for bad in ({"H": np.eye(3).tolist()}, {"homography_image_to_world": "eye"}, [[1, 0, 0]]):
        with pytest.raises(CalibrationError, match=rf"^camera 'cam01': unusable calibration \(.*\); {fix}"):
            GroundPlane.from_mapping(bad, "camera 'cam01'")
    wrong_position = {"homography_image_to_world": np.eye(3).tolist(), "position_m": ["north", "east"]}
    with pytest.raises(CalibrationError, match=rf"^camera 'cam01': unusable calibration .*{fix}"):
        GroundPlane.from_mapping(wrong_position, "camera 'cam01'")
    with pytest.raises(
        CalibrationError, match=rf"^camera 'cam01': unusable calibration \(a ground homography .*{fix}"
    ):
        GroundPlane.from_mapping({"homography_image_to_world": [1, 2]}, "camera 'cam01'")


def test_synthetic_town_calibration_recovers_vehicle_positions(smoke_scene):
    from trackers.metrics import read_mtmc

    gt = read_mtmc(smoke_scene / "gt" / "gt_all.txt", ground_truth=True)
    plane = GroundPlane.from_json(smoke_scene / "calibration" / "cam01.json")
    rows = gt.camera_id == 1
    xyxy = np.column_stack([gt.xywh[rows, :2], gt.xywh[rows, :2] + gt.xywh[rows, 2:]])
    error = np.linalg.norm(plane.project(xyxy, foot_offset_m=2.0) - gt.world_xy[rows], axis=1)
    assert np.median(error) < 1.2  # metres, against the vehicles' centres
