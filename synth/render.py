"""The per-camera renderer: vehicles over a static background, with exact instance masks and visibility.

A frame is: the background ground (pre-rendered) -> soft vehicle shadows -> vehicles and roadside sprites
in painter's order (far to near; faces of a vehicle in its BSP part order, decals right after their face)
-> lamp glows at night -> optical blur -> sensor noise. Colour polygons are antialiased; the same polygons
go into the uint16 instance image without antialiasing and in the same order, so occlusion in the mask is
exactly the occlusion in the picture. Pixel coordinates put the top-left pixel centre at (0, 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from synth.background import render_background
from synth.camera import PinholeCamera, clip_near
from synth.config import LightingConfig, SensorConfig
from synth.glow import BRAKE, GLOW_RADIUS_M, HEAD, TAIL, GlowBank
from synth.ground_fx import cast_shadows, headlight_beams
from synth.lamps import lamp_heads
from synth.ordering import painter_order
from synth.raster import SHIFT, to_fixed
from synth.roads import RoadNetwork
from synth.shading import scene_light
from synth.sprites import Sprite, occluder_sprite, pole_sprite
from synth.types import FrameState, Occluder, StreetLight, VehicleIdentity
from synth.vehicle_batch import VehicleBatch, prepare_batch

N_NOISE_FRAMES = 8  # sensor-noise bank size; frames cycle through it
NOISE_STRIDE = 5
NOISE_STREAM = 0x5EED
MAX_VEHICLE_ID = np.iinfo(np.uint16).max


@dataclass(frozen=True)
class RenderedFrame:
    """One camera frame and its ground truth (V vehicles with at least one visible pixel).

    image (H, W, 3) uint8 BGR final; instance (H, W) uint16 vehicle id per pixel, 0 = none; vehicle_id (V,)
    int64; visible_px (V,) int64 pixels in ``instance``; full_px (V,) float64 area (px) of the convex hull of
    the whole projected vehicle (no occluder, no image border); box_xyxy (V, 4) float32 box of the visible
    pixels [x_min, y_min, x_max + 1, y_max + 1].
    """

    image: np.ndarray
    instance: np.ndarray
    vehicle_id: np.ndarray
    visible_px: np.ndarray
    full_px: np.ndarray
    box_xyxy: np.ndarray

    def __post_init__(self) -> None:
        v = len(self.vehicle_id)
        if self.visible_px.shape != (v,) or self.full_px.shape != (v,) or self.box_xyxy.shape != (v, 4):
            raise ValueError(f"RenderedFrame arrays disagree on the vehicle count {v}")


class CameraRenderer:
    """Renders one fixed camera; everything static (background, sprites, noise) is prepared once."""

    def __init__(
        self,
        camera: PinholeCamera,
        network: RoadNetwork,
        occluders: Sequence[Occluder],
        streetlights: Sequence[StreetLight],
        lighting: LightingConfig,
        sensor: SensorConfig,
        night: bool,
        seed: int,
    ) -> None:
        self.camera = camera
        self.sensor = sensor
        self.light = scene_light(lighting, night)
        self._lamps = lamp_heads(streetlights, network) if night else np.zeros((0, 3))
        bg = render_background(camera, network, occluders, streetlights, self.light)
        self._ground = bg.image
        self.roi: np.ndarray = bg.roi
        sprites = [occluder_sprite(o, camera, self.light, self._lamps) for o in occluders]
        sprites += [pole_sprite(s, network, camera, self.light, self._lamps) for s in streetlights]
        self._sprites: list[Sprite] = [s for s in sprites if s is not None]
        self._sprite_fp = np.array([s.footprint for s in self._sprites], dtype=np.float64).reshape(-1, 4, 2)
        self._sprite_box = np.array([s.bbox for s in self._sprites], dtype=np.float64).reshape(-1, 4)
        self.background: np.ndarray = self._ground.copy()
        for k in painter_order(self._sprite_fp, self._sprite_box, camera.centre[:2]):
            self._sprites[k].paste(self.background)
        rng = np.random.default_rng([seed, NOISE_STREAM])
        shape = (N_NOISE_FRAMES if sensor.noise_sigma > 0 else 0, camera.height, camera.width, 3)
        self._noise = np.clip(np.round(rng.normal(0.0, sensor.noise_sigma, shape)), -127, 127).astype(np.int8)
        self._seed = seed
        self._glow = GlowBank()

    # ------------------------------------------------------------------------------------------------ frame
    def render(self, state: FrameState, identities: Mapping[int, VehicleIdentity]) -> RenderedFrame:
        cam = self.camera
        image = self._ground.copy()
        instance = np.zeros((cam.height, cam.width), dtype=np.uint16)
        if len(state.vehicle_id) and int(state.vehicle_id.max()) > MAX_VEHICLE_ID:
            raise ValueError(f"vehicle ids must fit the uint16 instance mask (<= {MAX_VEHICLE_ID})")
        batch = prepare_batch(state, identities, cam, self.light, self._lamps)
        n = batch.n if batch is not None else 0
        if batch is not None:
            cast_shadows(image, cam, self.light, batch.footprints, batch.contact, batch.heights)
            if self.light.night:
                lengths = np.array([m.length_m for m in batch.meshes])
                widths = np.array([m.width_m for m in batch.meshes])
                headlight_beams(image, cam, batch.pose, lengths, widths)
        footprints = np.concatenate([batch.footprints if batch else np.zeros((0, 4, 2)), self._sprite_fp])
        boxes = np.concatenate([batch.boxes if batch else np.zeros((0, 4)), self._sprite_box])
        for k in painter_order(footprints, boxes, cam.centre[:2]):
            if k < n:
                self._vehicle(image, instance, batch, k)
            else:
                self._sprites[k - n].paste(image, instance)
        if batch is not None and self.light.night:
            self._glows(image, instance, batch)
        ids, visible, full, box = self._statistics(instance, batch)
        return RenderedFrame(self._sensor(image, state.frame_index), instance, ids, visible, full, box)

    def _vehicle(self, image: np.ndarray, instance: np.ndarray, b: VehicleBatch, i: int) -> None:
        """Paint vehicle i of the batch: its polygons in part order, decals after their faces."""
        seq = b.meshes[i].draw_sequence(b.camera_local[i]) + b.poly_offset[i]
        seq = seq[b.drawable[seq]]
        vid = int(b.vehicle_id[i])
        colours = b.colours[seq].tolist()
        if b.near_clipped[i]:
            polys = [self._clipped(b, p) for p in seq]
            for pts, colour in zip(polys, colours, strict=True):
                if pts is not None:
                    cv2.fillConvexPoly(image, pts, colour, cv2.LINE_AA, SHIFT)
            for p, pts in zip(seq, polys, strict=True):
                if pts is not None and b.silhouette[p]:
                    cv2.fillConvexPoly(instance, pts, vid, cv2.LINE_8, SHIFT)
            return
        for pts, colour in zip(b.fixed[seq], colours, strict=True):
            cv2.fillConvexPoly(image, pts, colour, cv2.LINE_AA, SHIFT)
        for pts in b.fixed[seq[b.silhouette[seq]]]:
            cv2.fillConvexPoly(instance, pts, vid, cv2.LINE_8, SHIFT)

    def _clipped(self, b: VehicleBatch, p: int) -> np.ndarray | None:
        """Polygon p clipped to the near plane, as fixed-point pixels, or None when nothing is left."""
        pts = clip_near(b.camera_points[b.polygons[p, : b.n_vertices[p]]])
        if len(pts) < 3:
            return None
        return to_fixed(self.camera.project_camera(pts))

    def _glows(self, image: np.ndarray, instance: np.ndarray, b: VehicleBatch) -> None:
        """Head and tail lights that face the camera and are not hidden add their glare blobs."""
        h, w = instance.shape
        focal = self.camera.K[0, 0]
        for i in range(b.n):
            m = b.meshes[i]
            if not len(m.lights) or b.near_clipped[i]:
                continue
            on = b.front[m.light_owner + b.poly_offset[i]]
            cam_pts = b.light_points(i)
            uv = self.camera.project_camera(cam_pts)
            for k in np.flatnonzero(on):
                u, v = uv[k]
                col, row = round(u), round(v)
                if not (0 <= col < w and 0 <= row < h) or instance[row, col] != b.vehicle_id[i]:
                    continue  # off the image, or hidden behind something nearer
                kind = HEAD if m.light_kind[k] == 0 else (BRAKE if b.braking[i] else TAIL)
                self._glow.paste(image, u, v, GLOW_RADIUS_M[kind] * focal / cam_pts[k, 2], kind)

    def _statistics(self, instance: np.ndarray, b: VehicleBatch | None):
        """Per drawn vehicle: visible pixel count and box from the instance image, full silhouette area."""
        ids, visible, full, boxes = [], [], [], []
        if b is not None:
            for i in range(b.n):
                x0, y0, x1, y1 = b.pixel_boxes[i]
                sub = (instance[y0:y1, x0:x1] == b.vehicle_id[i]).view(np.uint8)
                count = cv2.countNonZero(sub)
                if count == 0:
                    continue
                bx, by, bw, bh = cv2.boundingRect(sub)
                ids.append(int(b.vehicle_id[i]))
                visible.append(count)
                # Rasterisation counts every pixel an edge touches, so a tiny vehicle's pixel count can
                # exceed the exact area of its hull; visibility must stay <= 1.
                full.append(max(float(b.full_px[i]), float(count)))
                boxes.append((x0 + bx, y0 + by, x0 + bx + bw, y0 + by + bh))
        return (
            np.array(ids, dtype=np.int64),
            np.array(visible, dtype=np.int64),
            np.array(full, dtype=np.float64),
            np.array(boxes, dtype=np.float32).reshape(-1, 4),
        )

    def _sensor(self, image: np.ndarray, frame_index: int) -> np.ndarray:
        """Optical blur, then additive noise from the bank (the same frame always gets the same noise)."""
        if self.sensor.blur_sigma > 0:
            image = cv2.GaussianBlur(image, (0, 0), self.sensor.blur_sigma)
        if self.sensor.noise_sigma > 0:
            # A stride coprime with the bank size visits every noise frame before repeating one.
            pick = (frame_index * NOISE_STRIDE + self._seed) % N_NOISE_FRAMES
            image = cv2.add(image, self._noise[pick], dtype=cv2.CV_8U)
        return image
