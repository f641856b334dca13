"""The camera renderer: placement, occlusion by vehicles and trees, culling, visibility, determinism, night."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from synth.camera import PinholeCamera
from synth.config import VEHICLE_TYPES, LightingConfig, RoadConfig, SensorConfig
from synth.ordering import painter_order
from synth.render import CameraRenderer
from synth.roads import RoadNetwork
from synth.shading import scene_light
from synth.types import FrameState, Occluder, StreetLight, VehicleIdentity
from synth.vehicle_batch import prepare_batch
from synth.vehicles import typical_identity

CAM = PinholeCamera.look_at("cam01", (-22.0, -18.0, 9.0), (0.0, 0.0, 0.0), 62.0, 640, 360)
NET = RoadNetwork(RoadConfig())
CLEAN = SensorConfig(noise_sigma=0.0, blur_sigma=0.0)
EAST, NORTH = 0.0, np.pi / 2


def identity(vid: int, vtype: str = "sedan", **changes) -> VehicleIdentity:
    return typical_identity(vid, vtype, **changes)


def frame(poses: list[tuple[int, float, float, float]], braking: bool = False, index: int = 1) -> FrameState:
    """poses: (vehicle id, x, y, heading)."""
    k = len(poses)
    return FrameState(
        frame_index=index,
        timestamp=0.0,
        vehicle_id=np.array([p[0] for p in poses], dtype=np.int64),
        xy=np.array([p[1:3] for p in poses], dtype=np.float64).reshape(k, 2),
        heading=np.array([p[3] for p in poses], dtype=np.float64),
        speed=np.full(k, 8.0),
        braking=np.full(k, braking),
    )


def renderer(
    occluders=(), lights=(), night: bool = False, sensor: SensorConfig = CLEAN, seed: int = 1
) -> CameraRenderer:
    lighting = LightingConfig(ambient=0.12, diffuse=0.05) if night else LightingConfig()
    return CameraRenderer(CAM, NET, list(occluders), list(lights), lighting, sensor, night, seed)


@pytest.fixture(scope="module")
def clean() -> CameraRenderer:
    return renderer()


IDS = {
    1: identity(1),
    2: identity(2, "truck"),
    3: identity(3, "bus"),
    4: identity(4, "suv"),
    5: identity(5, "van"),
}


def stats(r, vid: int) -> tuple[int, float, np.ndarray]:
    k = int(np.flatnonzero(r.vehicle_id == vid)[0])
    return int(r.visible_px[k]), float(r.full_px[k]), r.box_xyxy[k]


@pytest.mark.parametrize(
    ("x", "y", "heading"), [(-12.0, -1.75, EAST), (6.0, 1.75, np.pi), (1.75, 14.0, NORTH)]
)
def test_a_vehicle_appears_where_its_world_position_projects(clean: CameraRenderer, x, y, heading) -> None:
    r = clean.render(frame([(1, x, y, heading)]), IDS)
    assert r.vehicle_id.tolist() == [1]
    visible, full, box = stats(r, 1)
    uv, _ = CAM.project(np.array([[x, y, typical_identity().height_m / 2]]))
    centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    # Perspective shifts a box's centre from the projected 3-D centre by a few px (towards the near side).
    assert np.linalg.norm(centre - uv[0]) < 0.1 * np.hypot(box[2] - box[0], box[3] - box[1])
    assert visible == np.count_nonzero(r.instance == 1) > 300
    ys, xs = np.nonzero(r.instance == 1)
    assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    assert 0.95 * full <= visible <= full  # nothing in front, nothing cut off by the border


def test_a_vehicle_behind_another_loses_pixels_and_the_front_one_is_unchanged(clean: CameraRenderer) -> None:
    front_xy = np.array([-10.0, -1.75])
    ray = front_xy - CAM.centre[:2]
    back_xy = front_xy + 3.5 * ray / np.linalg.norm(ray)
    front_pose, back_pose = (1, *front_xy, EAST), (2, *back_xy, EAST)  # a sedan in front of a truck
    both = clean.render(frame([back_pose, front_pose]), IDS)
    front_alone = clean.render(frame([front_pose]), IDS)
    back_alone = clean.render(frame([back_pose]), IDS)
    assert 0 < stats(both, 2)[0] < 0.95 * stats(back_alone, 2)[0]
    assert stats(both, 1)[0] == stats(front_alone, 1)[0]
    assert np.array_equal(both.instance == 1, front_alone.instance == 1)
    # The order of the vehicles in the state does not matter.
    swapped = clean.render(frame([front_pose, back_pose]), IDS)
    assert np.array_equal(swapped.instance, both.instance)


def test_a_tree_between_camera_and_vehicle_hides_part_of_it() -> None:
    car = np.array([-10.0, -1.75])
    tree_xy = CAM.centre[:2] + 0.6 * (car - CAM.centre[:2])  # the view ray to the car passes ~4 m up there
    tree = Occluder("tree", float(tree_xy[0]), float(tree_xy[1]), 1.2, 6.0, 3.0, (40, 95, 45), 5)
    state = frame([(1, *car, EAST)])
    open_view = renderer().render(state, IDS)
    hidden = renderer([tree]).render(state, IDS)
    alone_mask = open_view.instance == 1
    assert 0 < stats(hidden, 1)[0] < 0.8 * stats(open_view, 1)[0]
    assert stats(hidden, 1)[1] == pytest.approx(stats(open_view, 1)[1])  # full silhouette unchanged
    covered = alone_mask & (hidden.instance == 0)
    assert covered.sum() > 100
    # Where the tree covers the car, the picture shows foliage (green), not the red car.
    _, g, r = hidden.image[covered].mean(axis=0)
    assert g > r


def test_vehicles_behind_the_camera_or_out_of_view_are_absent(clean: CameraRenderer) -> None:
    behind = (1, -40.0, -35.0, EAST)
    aside = (4, 60.0, -60.0, NORTH)
    uv, depth = CAM.project(np.array([[60.0, -60.0, 1.0]]))
    assert depth[0] < 0 or not (0 <= uv[0, 0] < CAM.width and 0 <= uv[0, 1] < CAM.height)
    r = clean.render(frame([behind, aside]), IDS)
    assert len(r.vehicle_id) == 0 and not r.instance.any()
    assert r.box_xyxy.shape == (0, 4)


def test_visibility_counts_truncation_at_the_image_border(clean: CameraRenderer) -> None:
    # A bus crossing the left border: part of it projects outside the image.
    x_left = CAM.pixels_to_ground(np.array([[0.0, 300.0]]))[0]
    r = clean.render(frame([(3, *x_left, EAST)]), IDS)
    visible, full, _ = stats(r, 3)
    assert visible < 0.9 * full
    assert np.all(r.full_px >= r.visible_px)


def test_a_vehicle_crossing_the_near_plane_renders(clean: CameraRenderer) -> None:
    # A bus driving away right under the camera: its rear is behind the lens, its front in view.
    azimuth = np.arctan2(18.0, 22.0)  # the camera's viewing direction on the ground
    xy = CAM.centre[:2] + 3.5 * np.array([np.cos(azimuth), np.sin(azimuth)])
    state = frame([(3, *xy, azimuth), (1, -12.0, -1.75, EAST)])
    batch = prepare_batch(state, IDS, CAM, clean.light, np.zeros((0, 3)))
    assert batch is not None and batch.near_clipped.tolist() == [True, False]
    r = clean.render(state, IDS)
    assert r.vehicle_id.tolist() == [3, 1]
    visible, full, box = stats(r, 3)
    assert visible > 1000 and visible < 0.01 * full  # mostly outside the view
    assert box[3] == CAM.height  # cut by the bottom border
    for vid, n in zip(r.vehicle_id, r.visible_px, strict=True):
        assert np.count_nonzero(r.instance == vid) == n


def test_back_face_culling_keeps_every_face_that_faces_the_camera() -> None:
    rng = np.random.default_rng(4)
    poses = [(k % 5 + 1, *rng.uniform([-30, -8], [15, 12]), rng.uniform(-np.pi, np.pi)) for k in range(10)]
    poses = [(k + 1, *p[1:]) for k, p in enumerate(poses)]
    ids = {
        k + 1: identity(k + 1, VEHICLE_TYPES[k % len(VEHICLE_TYPES)], roof_rack=k % 2 == 0) for k in range(10)
    }
    state = frame(poses)
    batch = prepare_batch(state, ids, CAM, scene_light(LightingConfig(), False), np.zeros((0, 3)))
    assert batch is not None
    for i in range(batch.n):
        m = batch.meshes[i]
        vid = int(batch.vehicle_id[i])
        _, x, y, h = poses[vid - 1]
        c, s = np.cos(h), np.sin(h)
        rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
        normals = m.normals @ rot.T
        centroids = m.centroids @ rot.T + np.array([x, y, 0.0])
        facing = np.sum(normals * (CAM.centre - centroids), axis=1)
        seq = set(m.draw_sequence(batch.camera_local[i]).tolist())
        for p in np.flatnonzero((m.parent < 0) & (facing > 1e-6)):
            assert batch.drawable[batch.poly_offset[i] + p] and p in seq
        for p in np.flatnonzero((m.parent < 0) & (facing < -1e-6)):
            assert not batch.drawable[batch.poly_offset[i] + p]


def test_same_inputs_and_seed_give_identical_frames() -> None:
    sensor = SensorConfig(noise_sigma=4.0, blur_sigma=0.8)
    tree = Occluder("tree", -16.0, -6.0, 2.0, 7.0, 2.5, (40, 95, 45), 9)
    state = frame([(1, -12.0, -1.75, EAST), (2, 8.0, 1.75, np.pi), (5, 1.75, -15.0, NORTH)])
    a = renderer([tree], sensor=sensor, seed=7).render(state, IDS)
    b = renderer([tree], sensor=sensor, seed=7).render(state, IDS)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.instance, b.instance)
    assert np.array_equal(a.visible_px, b.visible_px) and np.array_equal(a.box_xyxy, b.box_xyxy)
    later = renderer([tree], sensor=sensor, seed=7).render(replace(state, frame_index=2), IDS)
    assert not np.array_equal(a.image, later.image)  # fresh sensor noise
    assert np.array_equal(a.instance, later.instance)


def test_night_is_much_darker_and_headlights_glare() -> None:
    lamp = StreetLight(-7.8, -7.8, 8.0)
    toward = frame([(1, 6.0, 1.75, np.pi)])  # westbound, facing the camera's side
    day = renderer([], [lamp]).render(toward, IDS)
    night = renderer([], [lamp], night=True).render(toward, IDS)
    assert night.image.mean() < 0.4 * day.image.mean()
    x0, y0, x1, y1 = night.box_xyxy[0].astype(int)
    pad = 6
    near_car = night.image[max(y0 - pad, 0) : y1 + pad, max(x0 - pad, 0) : x1 + pad]
    assert near_car.max() >= 240  # the glare of the headlights
    assert np.array_equal(night.instance, day.instance)


def test_brake_lights_are_brighter_when_braking(clean: CameraRenderer) -> None:
    away = [(1, 1.75, -10.0, NORTH)]  # northbound, rear towards the camera
    cruising = clean.render(frame(away, braking=False), IDS)
    braking = clean.render(frame(away, braking=True), IDS)
    mask = cruising.instance == 1
    assert braking.image[mask][:, 2].astype(int).sum() > cruising.image[mask][:, 2].astype(int).sum()


def test_painter_order_draws_the_far_object_first() -> None:
    def rect(x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])

    boxes = np.array([[0, 0, 10, 10], [5, 5, 15, 15]], dtype=float)  # overlapping on screen
    near, far = rect(4, 6, -1, 1), rect(11, 13, -1, 1)
    assert painter_order(np.stack([near, far]), boxes, np.array([0.0, 0.0])) == [1, 0]
    # A car in the near lane beside a bus in the far lane: the bus's nearest corner is closer to the camera
    # than any point of the car, yet the car stands in front of it.
    car, bus = rect(14.0, 18.5, -2.65, -0.85), rect(10.0, 22.0, 0.5, 3.0)
    camera = np.array([0.0, -10.0])
    assert np.hypot(10.0, 10.5) < np.hypot(14.0, 7.35)  # nearest points: bus closer than car
    assert painter_order(np.stack([car, bus]), boxes, camera) == [1, 0]
