"""End-to-end checks of a generated (smoke) scene: files, consistency between outputs, determinism."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from synth.camera import PinholeCamera
from synth.config import load_scene_config
from synth.scene import SceneExistsError, generate_scene


def _rows(path: Path) -> np.ndarray:
    return np.loadtxt(path, ndmin=2)


def test_scene_folder_layout(smoke_scene: Path) -> None:
    record = json.loads((smoke_scene / "scene.json").read_text())
    assert record["preset"] == "default" and record["seed"] == 3 and record["status"] == "complete"
    n = record["counts"]["frames_per_camera"]
    assert n == 40
    for cam in record["cameras"]:
        for key in ("video", "calibration", "roi", "mot_gt"):
            assert (smoke_scene / cam[key]).is_file(), cam[key]
        cap = cv2.VideoCapture(str(smoke_scene / cam["video"]))
        frames = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            assert frame.shape == (360, 640, 3)
            frames += 1
        assert frames == n
        assert len(list((smoke_scene / cam["masks"]).glob("*.png"))) == n
    assert (smoke_scene / "contact_sheet.png").is_file()
    sheet = cv2.imread(str(smoke_scene / "contact_sheet.png"))
    assert sheet.shape[0] >= 2 * 360 and sheet.shape[1] >= 2 * 640


def test_gt_is_the_multi_camera_subset_of_gt_all(smoke_scene: Path) -> None:
    all_rows, gt = _rows(smoke_scene / "gt" / "gt_all.txt"), _rows(smoke_scene / "gt" / "gt.txt")
    assert all_rows.shape[1] == 9 and len(gt) > 0
    cams_per_id = {
        int(i): set(all_rows[all_rows[:, 1] == i, 0].astype(int)) for i in np.unique(all_rows[:, 1])
    }
    multi = {i for i, cams in cams_per_id.items() if len(cams) >= 2}
    assert set(gt[:, 1].astype(int)) == multi
    assert len(gt) == int(np.isin(all_rows[:, 1], list(multi)).sum())
    assert (all_rows[:, 2] >= 1).all() and (all_rows[:, 5] > 0).all() and (all_rows[:, 6] > 0).all()
    # No vehicle appears twice in one frame of one camera.
    keys = all_rows[:, :3].astype(int)
    assert len(np.unique(keys, axis=0)) == len(keys)


def test_boxes_agree_with_masks(smoke_scene: Path) -> None:
    rows = _rows(smoke_scene / "gt" / "gt_all.txt")
    for c, v, f, x, y, w, h, *_ in rows[:: max(1, len(rows) // 40)]:
        mask = cv2.imread(
            str(smoke_scene / "masks" / f"cam{int(c):02d}" / f"{int(f):06d}.png"), cv2.IMREAD_UNCHANGED
        )
        assert mask.dtype == np.uint16
        ys, xs = np.nonzero(mask == v)
        assert (xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()) == (x, y, w, h)


def test_world_positions_project_into_their_boxes(smoke_scene: Path) -> None:
    mot_vis = {}
    for cam_dir in (smoke_scene / "mot").iterdir():
        for fr, vid, *_rest, vis in np.loadtxt(cam_dir / "gt" / "gt.txt", delimiter=",", ndmin=2):
            mot_vis[(int(cam_dir.name[3:]), int(fr), int(vid))] = vis
    rows = _rows(smoke_scene / "gt" / "gt_all.txt")
    checked = 0
    for c, v, f, x, y, w, h, wx, wy in rows:
        if mot_vis[(int(c), int(f), int(v))] < 0.95:
            continue
        cam = PinholeCamera.from_json(smoke_scene / "calibration" / f"cam{int(c):02d}.json")
        p = cam.world_to_image @ np.array([wx, wy, 1.0])
        u, vv = p[:2] / p[2]
        # The footprint centre lies under the vehicle: inside its box, in the lower part.
        assert x <= u <= x + w and y + 0.3 * h <= vv <= y + h + 1, (c, v, f)
        checked += 1
    assert checked > 20


def test_reid_set_is_identity_disjoint_and_complete(smoke_scene: Path) -> None:
    reid = smoke_scene / "reid"
    with (reid / "index.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    ids = {
        split: {int(r["vehicle_id"]) for r in rows if r["split"] == split}
        for split in ("train", "test", "query")
    }
    assert ids["train"] and ids["test"] and not ids["train"] & ids["test"]
    assert ids["query"] <= ids["test"]
    for r in rows:
        folder = "image_test" if r["split"] == "test" else f"image_{r['split']}"
        assert (reid / folder / r["name"]).is_file()
        assert (reid / folder.replace("image", "mask") / r["name"].replace(".jpg", ".png")).is_file()
        vid, cam, frame = r["name"][:-4].split("_")
        assert (
            int(vid) == int(r["vehicle_id"])
            and cam == f"c{int(r['camera_id']):03d}"
            and int(frame) == int(r["frame"])
        )
    queries = [r for r in rows if r["split"] == "query"]
    for q in queries:
        assert (reid / "image_test" / q["name"]).is_file()
        cams = {r["camera_id"] for r in rows if r["split"] == "test" and r["vehicle_id"] == q["vehicle_id"]}
        assert len(cams) >= 2


def test_yolo_labels_match_the_ground_truth(smoke_scene: Path) -> None:
    data = yaml.safe_load((smoke_scene / "yolo" / "data.yaml").read_text())
    assert data["names"] == {0: "vehicle"}
    rows = _rows(smoke_scene / "gt" / "gt_all.txt")
    labels = sorted((smoke_scene / "yolo" / "labels").glob("*/*.txt"))
    assert labels
    for label in labels:
        cam, frame = label.stem.split("_")
        expected = rows[(rows[:, 0] == int(cam[3:])) & (rows[:, 2] == int(frame))]
        got = np.loadtxt(label, ndmin=2).reshape(-1, 5)
        assert len(got) == len(expected)
        assert ((got[:, 1:] >= 0) & (got[:, 1:] <= 1)).all()
        assert (smoke_scene / "yolo" / "images" / label.parent.name / f"{label.stem}.jpg").is_file()


def test_same_seed_same_scene(smoke_scene: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_scene(load_scene_config("default", seed=3, smoke=True), again, progress=False, workers=1)
    for rel in ("gt/gt_all.txt", "gt/gt.txt", "reid/index.csv", "mot/cam02/gt/gt.txt"):
        assert (again / rel).read_bytes() == (smoke_scene / rel).read_bytes(), rel
    m1 = cv2.imread(str(again / "masks" / "cam01" / "000020.png"), cv2.IMREAD_UNCHANGED)
    m2 = cv2.imread(str(smoke_scene / "masks" / "cam01" / "000020.png"), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(m1, m2)


def test_refuses_to_overwrite_without_force(smoke_scene: Path) -> None:
    with pytest.raises(SceneExistsError, match="--force"):
        generate_scene(load_scene_config("default", smoke=True), smoke_scene, progress=False)
