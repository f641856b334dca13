"""The lighting model shared by the background, the sprites and the vehicles.

Flat Lambert shading under one directional light (the sun; the moon at night) plus ambient light, a little
sky reflection on glass, self-lit lamps at night, then the camera's white balance and exposure. Colours are
BGR floats on a 0-255 scale before the camera gain; directions are world unit vectors (x east, y north, z up).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.config import LightingConfig
from synth.mesh_builder import Material

# At night the sun is down: whatever the lighting config says, ambient and directional light stay this low.
NIGHT_MAX_AMBIENT = 0.14
NIGHT_MAX_DIFFUSE = 0.06
GLASS_DIFFUSE = 0.6  # glass shows its tint less brightly than paint...
GLASS_REFLECT = 0.45  # ...and mirrors this much of the sky, more at grazing angles and when facing up
CLEARCOAT_REFLECT = 0.07  # paint mirrors a little sky too (a black car's roof is not black)
DAY_SKY_BGR = np.array([228.0, 200.0, 170.0])
NIGHT_SKY_BGR = np.array([38.0, 26.0, 20.0])
LAMP_NIGHT_GAIN = 1.15  # self-lit lamps at night (saturate to near white)
BRAKE_BGR = np.array([90.0, 90.0, 255.0])
TAIL_NIGHT_BGR = np.array([50.0, 50.0, 215.0])
STREET_LAMP_BGR = np.array([170.0, 215.0, 255.0])  # warm white of the street lamps (as a light colour, 0-255)
MIN_SHADOW_ELEVATION_DEG = 12.0  # lower suns would throw shadows across the whole frame


@dataclass(frozen=True)
class SceneLight:
    """sun: (3,) unit vector towards the sun (or moon); gain: (3,) BGR white balance x exposure."""

    sun: np.ndarray
    ambient: float
    diffuse: float
    gain: np.ndarray
    night: bool

    @property
    def sky_bgr(self) -> np.ndarray:
        return NIGHT_SKY_BGR if self.night else DAY_SKY_BGR

    @property
    def ground_level(self) -> float:
        """Light on a flat, unshadowed ground patch (1 = full)."""
        return self.ambient + self.diffuse * max(float(self.sun[2]), 0.0)

    @property
    def shadow_strength(self) -> float:
        """Fraction of the ground's light that a cast shadow removes: the direct share of the light."""
        direct = self.diffuse * max(float(self.sun[2]), 0.0)
        return direct / max(self.ambient + direct, 1e-6)

    def shadow_offset(self, height_m: float) -> np.ndarray:
        """(2,) ground displacement (m) of the shadow of a point ``height_m`` above the ground."""
        el = max(float(np.arcsin(np.clip(self.sun[2], -1.0, 1.0))), np.deg2rad(MIN_SHADOW_ELEVATION_DEG))
        horizontal = self.sun[:2] / max(float(np.linalg.norm(self.sun[:2])), 1e-9)
        return -horizontal * height_m / np.tan(el)


def scene_light(lighting: LightingConfig, night: bool) -> SceneLight:
    az, el = np.deg2rad(lighting.sun_azimuth_deg), np.deg2rad(lighting.sun_elevation_deg)
    sun = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    ambient, diffuse = lighting.ambient, lighting.diffuse
    if night:
        ambient, diffuse = min(ambient, NIGHT_MAX_AMBIENT), min(diffuse, NIGHT_MAX_DIFFUSE)
    gain = np.asarray(lighting.white_balance, dtype=np.float64) * lighting.exposure
    return SceneLight(sun=sun, ambient=ambient, diffuse=diffuse, gain=gain, night=night)


def to_uint8(bgr: np.ndarray, light: SceneLight) -> np.ndarray:
    """(..., 3) linear BGR 0-255 before the camera -> (..., 3) uint8 after white balance and exposure."""
    return np.clip(bgr * light.gain + 0.5, 0, 255).astype(np.uint8)


def shade_polygons(
    base: np.ndarray,
    material: np.ndarray,
    normals: np.ndarray,
    to_camera: np.ndarray,
    extra_light: np.ndarray,
    braking: np.ndarray,
    light: SceneLight,
) -> np.ndarray:
    """Colours of P flat polygons after lighting and the camera gain.

    base (P, 3) BGR; material (P,) ``Material``; normals (P, 3) world unit normals; to_camera (P, 3) unit
    vectors from the polygon to the camera; extra_light (P,) light from nearby street lamps (0 by day);
    braking (P,) bool. Returns (P, 3) float64 BGR in 0-255.
    """
    lambert = np.maximum(normals @ light.sun, 0.0)
    level = light.ambient + light.diffuse * lambert + extra_light
    colour = base * level[:, None]
    lamp_tint = STREET_LAMP_BGR / 255.0
    if light.night:
        colour += base * (extra_light[:, None] * (lamp_tint - 1.0))
    # Sky reflection: stronger at grazing angles (Fresnel) and on faces that look up at the sky.
    cos = np.abs(np.sum(normals * to_camera, axis=1))
    sky = ((0.35 + 0.65 * (1.0 - cos) ** 2) * (0.45 + 0.55 * np.maximum(normals[:, 2], 0.0)))[
        :, None
    ] * light.sky_bgr
    glass = material == Material.GLASS
    colour[glass] = colour[glass] * GLASS_DIFFUSE + GLASS_REFLECT * sky[glass]
    paint = material == Material.PAINT
    colour[paint] += CLEARCOAT_REFLECT * sky[paint]
    if light.night:
        lamp = material == Material.LAMP
        colour[lamp] = base[lamp] * LAMP_NIGHT_GAIN
        tail = material == Material.TAIL
        colour[tail] = np.where(braking[tail, None], BRAKE_BGR, TAIL_NIGHT_BGR)
    else:
        brake = (material == Material.TAIL) & braking
        colour[brake] = BRAKE_BGR
    return np.clip(colour * light.gain, 0.0, 255.0)
