"""The static view of one camera without vehicles or roadside objects: textured ground, sky, distant skyline.

Every output pixel averages SUPERSAMPLE x SUPERSAMPLE rays (antialiasing). A ray that hits the ground gets
the road network's material at that world point, procedural texture, the scene light (plus street-lamp
pools and tree shade) and distance haze; a ray above the horizon gets a sky gradient, and a band of distant
buildings and trees hides the horizon line. The skyline is a function of the ray's azimuth, so cameras
that look the same way see the same skyline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from synth.camera import PinholeCamera, clip_near
from synth.lamps import lamp_heads, lamp_illuminance
from synth.raster import SHIFT, to_fixed
from synth.roads import RoadNetwork
from synth.shading import STREET_LAMP_BGR, SceneLight, to_uint8
from synth.texture import fbm, value_noise
from synth.types import Ground, Occluder, StreetLight

SUPERSAMPLE = 2
WORLD_SEED = 7331  # textures and skyline depend on the world only, so every camera sees the same ones
HAZE_M = 420.0  # distance at which haze covers 63 % of the ground's own colour
SKY_TOP_BGR = np.array([214.0, 172.0, 128.0])
SKY_HORIZON_BGR = np.array([226.0, 216.0, 204.0])
NIGHT_SKY_TOP_BGR = np.array([16.0, 9.0, 6.0])
NIGHT_SKY_HORIZON_BGR = np.array([40.0, 40.0, 46.0])  # faint city glow
SKY_GRADIENT_DEG = 25.0  # elevation over which the sky turns from horizon to zenith colour
ALBEDO = {
    Ground.GRASS: (62.0, 118.0, 84.0),
    Ground.ASPHALT: (86.0, 87.0, 90.0),
    Ground.SIDEWALK: (158.0, 162.0, 165.0),
    Ground.MARKING_WHITE: (214.0, 218.0, 220.0),
    Ground.MARKING_YELLOW: (45.0, 172.0, 212.0),
}
DRY_GRASS = np.array([88.0, 142.0, 150.0])
SLAB_M, JOINT_M = 1.5, 0.03  # sidewalk slabs and the dark joints between them
PAINT_WEAR = 0.18  # worn paint shows this much of the asphalt
TREE_SHADE = 0.8  # share of the direct light a crown blocks
SHADE_POLY_VERTICES = 24
SHADE_SOFT_PX = 1.5  # blur of the crown shadows' edges (output pixels)
SKYLINE_DIST_M = 650.0  # distance of the skyline band
SKYLINE_HAZE = 0.55
SKYLINE_BIN_DEG = 1.6  # typical building width seen from afar
BUILDING_BGR = np.array([150.0, 150.0, 156.0])
TREELINE_BGR = np.array([60.0, 88.0, 66.0])
LIT_WINDOW_BGR = np.array([90.0, 175.0, 235.0])
WINDOW_DEG = 0.12  # width of a distant lit window
ROI_DILATE_PX = 3


@dataclass(frozen=True)
class Background:
    """image: (H, W, 3) uint8 BGR; roi: (H, W) uint8, 255 on road and sidewalk pixels (dilated)."""

    image: np.ndarray
    roi: np.ndarray


def _rays(camera: PinholeCamera, s: int) -> np.ndarray:
    """(H*s, W*s, 3) world directions of the supersampled pixel rays (not normalised)."""
    u = (np.arange(camera.width * s) + 0.5) / s - 0.5
    v = (np.arange(camera.height * s) + 0.5) / s - 0.5
    uu, vv = np.meshgrid(u, v)
    pix = np.stack([uu, vv, np.ones_like(uu)], axis=-1)
    return pix @ (camera.R.T @ np.linalg.inv(camera.K)).T


def render_background(
    camera: PinholeCamera,
    network: RoadNetwork,
    occluders: Sequence[Occluder],
    streetlights: Sequence[StreetLight],
    light: SceneLight,
    world_seed: int = WORLD_SEED,
) -> Background:
    """The camera's static background and region of interest; ``world_seed`` varies textures and skyline."""
    s = SUPERSAMPLE
    rays = _rays(camera, s)
    centre = camera.centre
    norm = np.linalg.norm(rays, axis=-1)
    down = -rays[..., 2] / norm  # sine of the ray's angle below the horizon
    ground = down > 1e-4
    t = np.where(ground, centre[2] / np.maximum(-rays[..., 2], 1e-12), 0.0)
    gx, gy = centre[0] + t * rays[..., 0], centre[1] + t * rays[..., 1]
    dist = t * norm
    focal = camera.K[0, 0] * s
    footprint = dist / focal / np.maximum(down, 0.02)  # ground metres per supersampled pixel, along the ray

    img = np.zeros((*ground.shape, 3), dtype=np.float32)
    xy = np.column_stack([gx[ground], gy[ground]])
    mat = network.ground_material(xy)
    albedo = _albedo(mat, xy, footprint[ground], world_seed)
    level = np.full(len(xy), light.ground_level, dtype=np.float32)
    level -= _tree_shade(camera, occluders, light, s)[ground]
    colour = albedo * level[:, None]
    if light.night:
        heads = lamp_heads(streetlights, network)
        near = np.linalg.norm(heads[:, :2] - centre[:2], axis=1) < 400.0 if len(heads) else np.zeros(0, bool)
        pool = lamp_illuminance(xy, heads[near]).astype(np.float32)
        colour += albedo * pool[:, None] * (STREET_LAMP_BGR / 255.0).astype(np.float32)
    sky = _sky(rays / norm[..., None], light)
    haze = 1.0 - np.exp(-dist[ground] / HAZE_M)
    horizon_sky = sky[ground]
    img[ground] = colour * (1.0 - haze[:, None]) + horizon_sky * haze[:, None]
    img[~ground] = sky[~ground]
    _skyline(img, rays, camera, light, world_seed)

    out = cv2.resize(to_uint8(img, light), (camera.width, camera.height), interpolation=cv2.INTER_AREA)
    road = np.zeros(ground.shape, dtype=np.float32)
    road[ground] = (mat != Ground.GRASS).astype(np.float32)
    road = cv2.resize(road, (camera.width, camera.height), interpolation=cv2.INTER_AREA) > 0.25
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ROI_DILATE_PX + 1, 2 * ROI_DILATE_PX + 1))
    roi = cv2.dilate(road.astype(np.uint8) * 255, kernel)
    return Background(image=out, roi=roi)


def _albedo(mat: np.ndarray, xy: np.ndarray, footprint: np.ndarray, seed: int) -> np.ndarray:
    """Textured base colour (N, 3) float32 of ground points xy (N, 2) m of materials mat (N,)."""
    x, y = xy[:, 0], xy[:, 1]
    out = np.array([ALBEDO[Ground(m)] for m in range(len(ALBEDO))], dtype=np.float32)[mat]
    grain = fbm(x, y, 0.25, 3, seed, footprint)
    patches = fbm(x, y, 7.0, 3, seed + 1, footprint)
    asphalt = mat == Ground.ASPHALT
    out[asphalt] *= (1.0 + 0.07 * patches[asphalt] + 0.09 * grain[asphalt])[:, None]
    grass = mat == Ground.GRASS
    dry = np.clip(0.5 + 0.9 * patches[grass], 0.0, 1.0)[:, None]
    out[grass] = (out[grass] * (1 - dry) + DRY_GRASS * dry) * (1.0 + 0.16 * grain[grass])[:, None]
    walk = mat == Ground.SIDEWALK
    jx = np.abs(np.mod(x[walk] + SLAB_M / 2, SLAB_M) - SLAB_M / 2) < JOINT_M
    jy = np.abs(np.mod(y[walk] + SLAB_M / 2, SLAB_M) - SLAB_M / 2) < JOINT_M
    joint_visible = footprint[walk] < 4 * JOINT_M  # joints finer than a pixel vanish into the average
    joints = np.where((jx | jy) & joint_visible, 0.78, 1.0)
    out[walk] *= (joints * (1.0 + 0.05 * patches[walk] + 0.05 * grain[walk]))[:, None]
    paint = mat >= Ground.MARKING_WHITE
    wear = np.clip(2.0 * PAINT_WEAR * value_noise(x[paint], y[paint], 0.4, seed + 2), 0, 1)
    out[paint] = out[paint] * (1 - wear[:, None]) + np.float32(ALBEDO[Ground.ASPHALT]) * wear[:, None]
    return out


def _tree_shade(
    camera: PinholeCamera, occluders: Sequence[Occluder], light: SceneLight, s: int
) -> np.ndarray:
    """(H*s, W*s) float32 light removed from the ground by the crowns' shadows (soft-edged discs)."""
    shape = (camera.height * s, camera.width * s)
    direct = light.diffuse * max(float(light.sun[2]), 0.0)
    if direct <= 0 or not occluders:
        return np.zeros(shape, dtype=np.float32)
    mask = np.zeros(shape, dtype=np.uint8)
    ring = np.linspace(0.0, 2 * np.pi, SHADE_POLY_VERTICES, endpoint=False)
    ring = np.column_stack([np.cos(ring), np.sin(ring)])
    for occ in occluders:
        crown_h = (
            occ.trunk_height_m + (occ.height_m - occ.trunk_height_m) / 2
            if occ.kind == "tree"
            else occ.height_m / 3
        )
        centre = np.array([occ.x, occ.y]) + light.shadow_offset(crown_h)
        disc = centre + occ.radius_m * ring
        pts = clip_near(camera.to_camera(np.column_stack([disc, np.zeros(len(disc))])))
        if len(pts) < 3:
            continue
        uv = (camera.project_camera(pts) + 0.5) * s - 0.5
        if uv[:, 0].max() < 0 or uv[:, 1].max() < 0 or uv[:, 0].min() > shape[1] or uv[:, 1].min() > shape[0]:
            continue
        cv2.fillConvexPoly(mask, to_fixed(uv), 255, cv2.LINE_AA, SHIFT)
    soft = cv2.GaussianBlur(mask, (0, 0), SHADE_SOFT_PX * s).astype(np.float32)
    return (TREE_SHADE * direct / 255.0) * soft


def _sky(dirs: np.ndarray, light: SceneLight) -> np.ndarray:
    """(H, W, 3) sky colour for unit ray directions (H, W, 3): horizon haze fading to the zenith colour."""
    top, horizon = (
        (NIGHT_SKY_TOP_BGR, NIGHT_SKY_HORIZON_BGR) if light.night else (SKY_TOP_BGR, SKY_HORIZON_BGR)
    )
    elev = np.degrees(np.arcsin(np.clip(dirs[..., 2], 0.0, 1.0)))
    k = np.clip(elev / SKY_GRADIENT_DEG, 0.0, 1.0)[..., None] ** 0.6
    return (horizon * (1 - k) + top * k).astype(np.float32)


def _skyline(img: np.ndarray, rays: np.ndarray, camera: PinholeCamera, light: SceneLight, seed: int) -> None:
    """Paint distant buildings and tree lines into a band around the horizon (in place, (H, W, 3) float32)."""
    h = img.shape[0]
    cz = camera.centre[2]
    # Per column: the row where rays turn horizontal (rays are linear in the row; may lie outside the image).
    dz = rays[..., 2]
    step = dz[1] - dz[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        horizon = np.where(step < 0, -dz[0] / step, np.nan)
    horizon[(horizon < -h) | (horizon > 2 * h)] = np.nan
    if np.all(np.isnan(horizon)):
        return
    mid = np.clip(np.nan_to_num(horizon, nan=0.0).astype(int), 0, h - 1)
    az = np.degrees(np.arctan2(rays[mid, np.arange(len(mid)), 1], rays[mid, np.arange(len(mid)), 0]))
    focal_rows = camera.K[1, 1] * img.shape[0] / camera.height
    bins = np.floor(az / SKYLINE_BIN_DEG).astype(np.int64)
    rnd = value_noise(bins.astype(np.float64), np.zeros(len(bins)), 1.0, seed)  # one draw per building bin
    building = rnd < 0.45
    tree_h = (
        9.0
        + 7.0 * value_noise(az, np.ones(len(az)), 0.7, seed + 1)
        + 2.0 * value_noise(az, np.ones(len(az)), 0.15, seed + 2)
    )
    height_m = np.where(building, 10.0 + 30.0 * rnd / 0.45, tree_h)
    top = horizon - focal_rows * (height_m - cz) / SKYLINE_DIST_M
    bottom = horizon + focal_rows * cz / SKYLINE_DIST_M
    level = light.ground_level
    for j in np.flatnonzero(~np.isnan(horizon)):
        r0, r1 = int(max(np.ceil(top[j]), 0)), int(min(np.floor(bottom[j]) + 1, h))
        if r1 <= r0:
            continue
        if building[j]:
            shade = 0.85 + 0.3 * value_noise(np.array([float(bins[j])]), np.array([5.0]), 1.0, seed + 3)[0]
            col = np.tile(BUILDING_BGR * shade * level, (r1 - r0, 1))
            storeys = (np.arange(r0, r1) - top[j]) % 4.0 < 1.5
            if light.night:
                lit = (
                    value_noise(
                        np.full(r1 - r0, float(az[j] / WINDOW_DEG)), np.arange(r0, r1) / 2.0, 1.0, seed + 4
                    )
                    > 0.8
                )
                col[storeys & lit] = LIT_WINDOW_BGR
            else:
                col[storeys] *= 0.8
        else:
            col = np.tile(TREELINE_BGR * level, (r1 - r0, 1))
        img[r0:r1, j] = col * (1 - SKYLINE_HAZE) + img[r0:r1, j] * SKYLINE_HAZE
