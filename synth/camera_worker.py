"""Renders one camera of a scene and writes its per-frame outputs: video, masks, Re-ID crops, detector set.

Runs in a worker process (one per camera); returns the ground-truth boxes and crop records for the scene
writer to merge. Frame ``k`` (1-based) of every camera shows time ``(k - 1) / fps``: cameras are in sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from synth.camera import PinholeCamera
from synth.config import CameraConfig, SceneConfig
from synth.groundtruth import GroundTruthBoxes, select_boxes
from synth.render import CameraRenderer, RenderedFrame
from synth.roads import RoadNetwork
from synth.types import FrameState, Occluder, StreetLight, VehicleIdentity

CROP_PADDING = 0.06  # Re-ID crops keep a little context around the visible box (fraction of its size)
JPEG_QUALITY = 95
PROGRESS_EVERY = 10  # frames between progress messages


@dataclass(frozen=True)
class CameraJob:
    cfg: SceneConfig
    cam: CameraConfig
    out_dir: Path
    frames: list[FrameState]
    identities: dict[int, VehicleIdentity]
    occluders: list[Occluder]
    streetlights: list[StreetLight]
    train_ids: frozenset[int]


@dataclass(frozen=True)
class CameraOutput:
    name: str
    boxes: GroundTruthBoxes
    reid_records: list[dict[str, Any]]
    yolo_images: dict[str, int]
    contact_frame: np.ndarray  # (H, W, 3) uint8: the busiest frame, raw
    contact_boxes: GroundTruthBoxes


def make_camera(cfg: SceneConfig, cam: CameraConfig) -> PinholeCamera:
    w, h = cfg.image_size
    return PinholeCamera.look_at(cam.name, cam.position_m, (*cam.look_at_m, 0.0), cam.hfov_deg, w, h)


class _Writers:
    """The files one camera writes while it renders."""

    def __init__(self, job: CameraJob) -> None:
        cfg, cam, out = job.cfg, job.cam, job.out_dir
        self.job = job
        self.name = cam.name
        w, h = cfg.image_size
        self.video = cv2.VideoWriter(
            str(out / f"{cam.name}.mp4"), cv2.VideoWriter_fourcc(*cfg.output.video_fourcc), cfg.fps, (w, h)
        )
        if not self.video.isOpened():
            raise RuntimeError(
                f"OpenCV cannot write {out / (cam.name + '.mp4')} with FourCC {cfg.output.video_fourcc!r}; "
                "set output.video_fourcc to a codec this OpenCV build has (mp4v always works)"
            )
        self.mask_dir = out / "masks" / cam.name
        if cfg.output.masks:
            self.mask_dir.mkdir(parents=True, exist_ok=True)
        for sub in ("image_train", "image_test", "mask_train", "mask_test"):
            (out / "reid" / sub).mkdir(parents=True, exist_ok=True)
        for split in ("train", "val"):
            (out / "yolo" / "images" / split).mkdir(parents=True, exist_ok=True)
            (out / "yolo" / "labels" / split).mkdir(parents=True, exist_ok=True)
        self.reid_records: list[dict[str, Any]] = []
        self.yolo_images = {"train": 0, "val": 0}
        self.val_start = cfg.n_frames * (1.0 - cfg.output.yolo_val_fraction)

    def frame(self, state: FrameState, r: RenderedFrame, boxes: GroundTruthBoxes) -> None:
        out = self.job.cfg.output
        self.video.write(r.image)
        if out.masks:
            cv2.imwrite(str(self.mask_dir / f"{state.frame_index:06d}.png"), r.instance)
        if (state.frame_index - 1) % out.reid_every_frames == 0:
            self._reid_crops(state, r, boxes)
        if (state.frame_index - 1) % out.yolo_every_frames == 0:
            self._yolo(state, r, boxes)

    def _reid_crops(self, state: FrameState, r: RenderedFrame, boxes: GroundTruthBoxes) -> None:
        out, cam_id = self.job.cfg.output, self.job.cam.camera_id
        h_img, w_img = r.image.shape[:2]
        good = (boxes.visibility >= out.reid_min_visibility) & (boxes.xywh[:, 3] >= out.reid_min_height_px)
        for vid, (x, y, w, h), vis in zip(
            boxes.vehicle_id[good], boxes.xywh[good], boxes.visibility[good], strict=True
        ):
            px, py = CROP_PADDING * w, CROP_PADDING * h
            x0, y0 = max(0, int(x - px)), max(0, int(y - py))
            x1, y1 = min(w_img, int(np.ceil(x + w + px))), min(h_img, int(np.ceil(y + h + py)))
            split = "train" if int(vid) in self.job.train_ids else "test"
            name = f"{int(vid):04d}_c{cam_id:03d}_{state.frame_index:06d}.jpg"
            crop_dir = self.job.out_dir / "reid"
            cv2.imwrite(
                str(crop_dir / f"image_{split}" / name),
                r.image[y0:y1, x0:x1],
                [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
            )
            mask = np.where(r.instance[y0:y1, x0:x1] == vid, 255, 0).astype(np.uint8)
            cv2.imwrite(str(crop_dir / f"mask_{split}" / name.replace(".jpg", ".png")), mask)
            self.reid_records.append(
                {
                    "name": name,
                    "vehicle_id": int(vid),
                    "camera_id": cam_id,
                    "frame": state.frame_index,
                    "split": split,
                    "x": x0,
                    "y": y0,
                    "w": x1 - x0,
                    "h": y1 - y0,
                    "visibility": round(float(vis), 4),
                    "type": self.job.identities[int(vid)].vtype,
                    "colour": self.job.identities[int(vid)].colour_name,
                }
            )

    def _yolo(self, state: FrameState, r: RenderedFrame, boxes: GroundTruthBoxes) -> None:
        out = self.job.cfg.output
        split = "val" if state.frame_index - 1 >= self.val_start else "train"
        stem = f"{self.name}_{state.frame_index:06d}"
        root = self.job.out_dir / "yolo"
        cv2.imwrite(
            str(root / "images" / split / f"{stem}.jpg"), r.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
        )
        h_img, w_img = r.image.shape[:2]
        cls = boxes.type_index if out.yolo_classes == "type" else np.zeros(len(boxes), dtype=np.int64)
        x, y, w, h = boxes.xywh.T
        lines = [
            f"{c} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}"
            for c, cx, cy, bw, bh in zip(
                cls, (x + w / 2) / w_img, (y + h / 2) / h_img, w / w_img, h / h_img, strict=True
            )
        ]
        (root / "labels" / split / f"{stem}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
        self.yolo_images[split] += 1

    def close(self) -> None:
        self.video.release()


def render_camera(job: CameraJob, progress_queue: Any = None) -> CameraOutput:
    """Render every frame of one camera, writing its files; progress_queue receives frame counts."""
    cfg, cam = job.cfg, job.cam
    camera = make_camera(cfg, cam)
    renderer = CameraRenderer(
        camera,
        RoadNetwork(cfg.roads),
        job.occluders,
        job.streetlights,
        cfg.camera_lighting(cam),
        cfg.camera_sensor(cam),
        cfg.night,
        seed=cfg.seed * 1000 + cam.camera_id,
    )
    vtype = {vid: ident.vtype for vid, ident in job.identities.items()}
    writers = _Writers(job)
    parts: list[GroundTruthBoxes] = []
    best: tuple[int, np.ndarray, GroundTruthBoxes] | None = None
    pending = 0
    try:
        for state in job.frames:
            r = renderer.render(state, job.identities)
            world = {int(v): xy for v, xy in zip(state.vehicle_id, state.xy, strict=True)}
            boxes = select_boxes(
                cam.camera_id,
                state.frame_index,
                r.vehicle_id,
                r.box_xyxy,
                r.visible_px,
                r.full_px,
                world,
                vtype,
                cfg.output,
            )
            parts.append(boxes)
            writers.frame(state, r, boxes)
            if best is None or len(boxes) > best[0]:
                best = (len(boxes), r.image.copy(), boxes)
            pending += 1
            if progress_queue is not None and pending == PROGRESS_EVERY:
                progress_queue.put(pending)
                pending = 0
    finally:
        writers.close()
    if progress_queue is not None and pending:
        progress_queue.put(pending)
    cv2.imwrite(str(job.out_dir / "roi" / f"{cam.name}.jpg"), renderer.roi)
    camera.save_json(
        job.out_dir / "calibration" / f"{cam.name}.json",
        {
            "camera_id": cam.camera_id,
            "fps": cfg.fps,
            "hfov_deg": cam.hfov_deg,
            "look_at_m": list(cam.look_at_m),
        },
    )
    assert best is not None, "a scene has at least one frame"
    return CameraOutput(
        name=cam.name,
        boxes=GroundTruthBoxes.concat(parts),
        reid_records=writers.reid_records,
        yolo_images=writers.yolo_images,
        contact_frame=best[1],
        contact_boxes=best[2],
    )
