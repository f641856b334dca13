"""Pre-rendered sprites of static roadside objects (trees, shrubs, street-light poles) for one camera.

An object that never moves in front of a camera that never moves always projects to the same pixels, so it
is drawn once (supersampled, with a coverage alpha) and pasted in painter order every frame. Each sprite
carries its ground footprint so the renderer can order it against vehicles.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from synth.camera import PinholeCamera
from synth.lamps import ARM_LENGTH_M, LAMP_DROP_M, arm_direction, lamp_illuminance
from synth.raster import SHIFT, to_fixed
from synth.roads import RoadNetwork
from synth.shading import STREET_LAMP_BGR, SceneLight
from synth.types import Occluder, StreetLight

SPRITE_SUPERSAMPLE = 3
MIN_DEPTH_M = 1.0  # objects closer than this to the lens are not drawn
TRUNK_BGR = np.array([48.0, 62.0, 78.0])
TRUNK_RADIUS_M = 0.14
POLE_BGR = np.array([118.0, 120.0, 124.0])
POLE_RADIUS_M = 0.08
LAMP_HEAD_BGR = np.array([60.0, 62.0, 66.0])
LAMP_ON_BGR = np.array([215.0, 245.0, 255.0])
LAMP_HALO_M = 1.6
HALO_COVER = 0.25  # a halo hides this much of what is behind it; the rest of its light adds on top
POLE_FOOTPRINT_M = 0.15
OPAQUE_ALPHA = 0.5  # sprite pixels above this coverage hide the vehicles behind them in the instance mask


@dataclass(frozen=True)
class Sprite:
    """A pre-lit object image. premult (h, w, 3) float32 colour x alpha after the camera gain; keep (h, w, 1)
    float32 1 - alpha; opaque (h, w) bool; x0, y0 top-left image pixel; footprint (4, 2) ground rectangle (m)."""

    x0: int
    y0: int
    premult: np.ndarray
    keep: np.ndarray
    opaque: np.ndarray
    footprint: np.ndarray

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        h, w = self.opaque.shape
        return self.x0, self.y0, self.x0 + w, self.y0 + h

    def paste(self, image: np.ndarray, instance: np.ndarray | None = None) -> None:
        """Alpha-blend onto image (H, W, 3) uint8 in place; zero the instance (H, W) where opaque."""
        h, w = self.opaque.shape
        roi = image[self.y0 : self.y0 + h, self.x0 : self.x0 + w]
        roi[:] = np.clip(roi * self.keep + self.premult, 0, 255).astype(np.uint8)
        if instance is not None:
            instance[self.y0 : self.y0 + h, self.x0 : self.x0 + w][self.opaque] = 0


class _Canvas:
    """A supersampled drawing surface over an image-space box; points come in image pixels."""

    def __init__(self, x0: float, y0: float, x1: float, y1: float) -> None:
        s = SPRITE_SUPERSAMPLE
        self.x0, self.y0 = int(np.floor(x0)), int(np.floor(y0))
        self.w, self.h = int(np.ceil(x1)) - self.x0 + 1, int(np.ceil(y1)) - self.y0 + 1
        self.colour = np.zeros((self.h * s, self.w * s, 3), dtype=np.float32)
        self.alpha = np.zeros((self.h * s, self.w * s), dtype=np.float32)

    def _pts(self, pts: np.ndarray) -> np.ndarray:
        s = SPRITE_SUPERSAMPLE
        return to_fixed((np.asarray(pts) - (self.x0, self.y0)) * s + (s - 1) / 2)

    def poly(self, pts: np.ndarray, colour: np.ndarray) -> None:
        cv2.fillConvexPoly(self.colour, self._pts(pts), tuple(float(c) for c in colour), cv2.LINE_AA, SHIFT)
        cv2.fillConvexPoly(self.alpha, self._pts(pts), 1.0, cv2.LINE_AA, SHIFT)

    def ellipse(self, centre, axes, colour: np.ndarray) -> None:
        """Opaque filled ellipse; centre and half-axes in image pixels."""
        s = SPRITE_SUPERSAMPLE
        c = tuple(int(v) for v in self._pts(np.array([centre]))[0])
        one = 1 << SHIFT
        ax = (max(int(axes[0] * s * one), one // 2), max(int(axes[1] * s * one), one // 2))
        cv2.ellipse(self.colour, c, ax, 0, 0, 360, tuple(float(v) for v in colour), -1, cv2.LINE_AA, SHIFT)
        cv2.ellipse(self.alpha, c, ax, 0, 0, 360, 1.0, -1, cv2.LINE_AA, SHIFT)

    def glow(self, centre, radius: float, colour: np.ndarray) -> None:
        """Add a soft Gaussian halo that brightens what lies behind it (mostly light, little cover)."""
        s = SPRITE_SUPERSAMPLE
        cx, cy = (np.asarray(centre) - (self.x0, self.y0)) * s + (s - 1) / 2
        yy, xx = np.mgrid[0 : self.alpha.shape[0], 0 : self.alpha.shape[1]].astype(np.float32)
        g = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (radius * s / 2.5) ** 2))
        self.colour += g[..., None] * np.asarray(colour, dtype=np.float32)
        self.alpha += HALO_COVER * g * (1.0 - self.alpha)

    def finish(self, camera: PinholeCamera, light: SceneLight, footprint: np.ndarray) -> Sprite | None:
        """Downscale, apply the camera gain and crop to the image; None when nothing is left in view."""
        a = np.clip(self.alpha, 0.0, 1.0)
        size = (self.w, self.h)
        # Drawing over a black, transparent canvas composites "over" in premultiplied form already.
        premult = cv2.resize(self.colour, size, interpolation=cv2.INTER_AREA) * light.gain.astype(np.float32)
        alpha = cv2.resize(a, size, interpolation=cv2.INTER_AREA)
        cx0, cy0 = max(self.x0, 0), max(self.y0, 0)
        cx1, cy1 = min(self.x0 + self.w, camera.width), min(self.y0 + self.h, camera.height)
        if cx1 <= cx0 or cy1 <= cy0:
            return None
        sl = np.s_[cy0 - self.y0 : cy1 - self.y0, cx0 - self.x0 : cx1 - self.x0]
        alpha = alpha[sl]
        if not (alpha > 0.02).any():
            return None
        return Sprite(
            x0=cx0,
            y0=cy0,
            premult=np.ascontiguousarray(premult[sl]),
            keep=np.ascontiguousarray(1.0 - alpha)[..., None],
            opaque=alpha >= OPAQUE_ALPHA,
            footprint=footprint,
        )


def _square(x: float, y: float, half: float) -> np.ndarray:
    return np.array([[x - half, y - half], [x + half, y - half], [x + half, y + half], [x - half, y + half]])


def _level(light: SceneLight, x: float, y: float, lamps: np.ndarray) -> np.ndarray:
    """(3,) BGR light multiplier on a roadside object at (x, y): scene light plus lamp light at night."""
    level = np.full(3, light.ambient + 0.6 * light.diffuse)
    if light.night and len(lamps):
        level += lamp_illuminance(np.array([[x, y]]), lamps)[0] * STREET_LAMP_BGR / 255.0
    return level


def occluder_sprite(
    occ: Occluder, camera: PinholeCamera, light: SceneLight, lamps: np.ndarray
) -> Sprite | None:
    """A tree (trunk + crown) or shrub; lamps (N, 3) light it at night. None when out of view."""
    tree = occ.kind == "tree"
    crown_lo = occ.trunk_height_m if tree else 0.0
    centre = np.array([occ.x, occ.y, (crown_lo + occ.height_m) / 2])
    cam = camera.to_camera(np.array([[occ.x, occ.y, 0.0], centre, [occ.x, occ.y, occ.height_m]]))
    if (cam[:, 2] < MIN_DEPTH_M).any():
        return None
    uv = camera.project_camera(cam)
    ppm = camera.K[0, 0] / cam[1, 2]  # pixels per metre at the crown
    ray = centre - camera.centre
    down = -ray[2] / np.linalg.norm(ray)  # sine of the view angle below horizontal
    rv = (occ.height_m - crown_lo) / 2
    rx = occ.radius_m * ppm
    ry = ppm * np.hypot(rv * np.sqrt(1 - down * down), occ.radius_m * down)
    half_trunk = max(TRUNK_RADIUS_M * ppm, 0.6)
    x0 = min(uv[1, 0] - rx, uv[0, 0] - half_trunk) - 2
    x1 = max(uv[1, 0] + rx, uv[0, 0] + half_trunk) + 2
    y0, y1 = uv[1, 1] - ry - 2, max(uv[1, 1] + ry, uv[0, 1]) + 2
    if x1 < 0 or y1 < 0 or x0 > camera.width or y0 > camera.height:
        return None
    canvas = _Canvas(x0, y0, x1, y1)
    level = _level(light, occ.x, occ.y, lamps)
    if tree:
        top = uv[1] + (uv[0] - uv[1]) * 0.3
        b, t = uv[0], top
        canvas.poly(
            np.array(
                [
                    [b[0] - half_trunk, b[1]],
                    [b[0] + half_trunk, b[1]],
                    [t[0] + half_trunk * 0.7, t[1]],
                    [t[0] - half_trunk * 0.7, t[1]],
                ]
            ),
            TRUNK_BGR * level,
        )
    rng = np.random.default_rng(occ.seed)
    sun_img = camera.project(np.array([centre, centre + light.sun]))[0]
    lit = sun_img[1] - sun_img[0]
    lit = lit / max(float(np.linalg.norm(lit)), 1e-6)
    n_blobs = 34 if tree else 22
    ang, rad = rng.uniform(0, 2 * np.pi, n_blobs), np.sqrt(rng.uniform(0, 1, n_blobs))
    off = np.column_stack([np.cos(ang) * rad, np.sin(ang) * rad]) * 0.68
    if not tree:
        off[:, 1] = np.minimum(off[:, 1], 0.25)  # shrubs sit on the ground: no blobs below it
    size = rng.uniform(0.28, 0.45, n_blobs)
    bright = 0.78 + 0.3 * (off @ lit) - 0.22 * off[:, 1] + rng.normal(0, 0.06, n_blobs)
    for k in np.argsort(bright):
        c = (uv[1, 0] + off[k, 0] * rx, uv[1, 1] + off[k, 1] * ry)
        canvas.ellipse(c, (size[k] * rx, size[k] * ry), np.asarray(occ.foliage_bgr) * bright[k] * level)
    # Leaf clusters: a multiplicative speckle a few supersampled pixels wide.
    speckle = cv2.GaussianBlur(rng.normal(0, 1, canvas.alpha.shape).astype(np.float32), (0, 0), 1.2)
    canvas.colour *= (1.0 + 0.45 * speckle)[..., None]
    return canvas.finish(camera, light, _square(occ.x, occ.y, occ.radius_m))


def pole_sprite(
    sl: StreetLight, network: RoadNetwork, camera: PinholeCamera, light: SceneLight, lamps: np.ndarray
) -> Sprite | None:
    """A street-light pole with its arm and lamp (lit, with a halo, at night). None when out of view."""
    arm = arm_direction(sl, network)
    head = np.array([sl.x + ARM_LENGTH_M * arm[0], sl.y + ARM_LENGTH_M * arm[1], sl.height_m - LAMP_DROP_M])
    pts = np.array([[sl.x, sl.y, 0.0], [sl.x, sl.y, sl.height_m], [*head[:2], sl.height_m], head])
    cam = camera.to_camera(pts)
    if (cam[:, 2] < MIN_DEPTH_M).any():
        return None
    uv = camera.project_camera(cam)
    ppm = camera.K[0, 0] / cam[:, 2]
    halo = LAMP_HALO_M * ppm[3] if light.night else 0.0
    x0, x1 = uv[:, 0].min() - halo - 3, uv[:, 0].max() + halo + 3
    y0, y1 = uv[:, 1].min() - halo - 3, uv[:, 1].max() + 3
    if x1 < 0 or y1 < 0 or x0 > camera.width or y0 > camera.height:
        return None
    canvas = _Canvas(x0, y0, x1, max(y1, uv[3, 1] + halo + 3))
    level = _level(light, sl.x, sl.y, lamps)
    if light.night:
        canvas.glow(uv[3], halo, LAMP_ON_BGR)
    canvas.poly(_thick(uv[0], uv[1], POLE_RADIUS_M * ppm[0], POLE_RADIUS_M * ppm[1] * 0.7), POLE_BGR * level)
    canvas.poly(_thick(uv[1], uv[2], 0.05 * ppm[1], 0.05 * ppm[2]), POLE_BGR * level)
    lamp_colour = LAMP_ON_BGR if light.night else LAMP_HEAD_BGR * level
    canvas.poly(_thick(uv[2], uv[3] + (uv[3] - uv[2]) * 0.15, 0.12 * ppm[2], 0.12 * ppm[3]), lamp_colour)
    return canvas.finish(camera, light, _square(sl.x, sl.y, POLE_FOOTPRINT_M))


def _thick(a: np.ndarray, b: np.ndarray, wa: float, wb: float) -> np.ndarray:
    """(4, 2) quad around the segment a -> b (image px), half-widths wa at a and wb at b (at least 0.6 px)."""
    d = b - a
    n = np.array([-d[1], d[0]]) / max(float(np.linalg.norm(d)), 1e-6)
    wa, wb = max(wa, 0.6), max(wb, 0.6)
    return np.array([a + n * wa, b + n * wb, b - n * wb, a - n * wa])
