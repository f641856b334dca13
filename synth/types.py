"""Value types shared by the synthetic town's world simulation, renderer and writers.

World frame: x east, y north, z up, metres. Headings are radians counter-clockwise from +x.
Colours are BGR 0-255 (OpenCV order).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

BGR = tuple[int, int, int]


class Ground(IntEnum):
    """Surface material of a ground point, as returned by ``RoadNetwork.ground_material``."""

    GRASS = 0
    ASPHALT = 1
    SIDEWALK = 2
    MARKING_WHITE = 3
    MARKING_YELLOW = 4


@dataclass(frozen=True)
class VehicleIdentity:
    """Everything that makes one vehicle look like itself, fixed for its whole life."""

    vehicle_id: int  # 1-based, the obj_id of the ground truth
    vtype: str  # sedan | suv | van | truck | bus
    length_m: float
    width_m: float
    height_m: float
    colour_name: str
    body_bgr: BGR  # paint before lighting
    roof_rack: bool
    stripe: str | None  # None | "side" | "bonnet"
    stripe_bgr: BGR
    window_tint: float  # 0 = light clear glass .. 1 = near-black
    sunroof: bool
    plate_bgr: BGR  # plate background (white or yellow)
    plate_code: int  # seeds the plate's dark glyph pattern
    wheel_bgr: BGR  # rim colour
    cargo_bgr: BGR  # truck cargo box / bus roof colour (equals body_bgr for cars)


@dataclass(frozen=True)
class FrameState:
    """Poses of all vehicles on the map at one frame (K vehicles).

    vehicle_id: (K,) int64; xy: (K, 2) float64 centre of the footprint (m); heading: (K,) float64 rad;
    speed: (K,) float64 m/s; braking: (K,) bool (brake lights on).
    """

    frame_index: int  # 1-based
    timestamp: float  # seconds since the first frame
    vehicle_id: np.ndarray
    xy: np.ndarray
    heading: np.ndarray
    speed: np.ndarray
    braking: np.ndarray

    def __post_init__(self) -> None:
        k = len(self.vehicle_id)
        if self.xy.shape != (k, 2) or self.heading.shape != (k,) or self.speed.shape != (k,):
            raise ValueError(f"FrameState arrays disagree on the vehicle count {k}")
        if self.braking.shape != (k,):
            raise ValueError(f"FrameState.braking must have shape ({k},)")


@dataclass(frozen=True)
class Occluder:
    """A static roadside object that hides vehicles behind it."""

    kind: str  # "tree" | "shrub"
    x: float
    y: float
    radius_m: float  # crown radius (tree) or half-width (shrub)
    height_m: float  # total height
    trunk_height_m: float  # 0 for shrubs
    foliage_bgr: BGR
    seed: int  # seeds the foliage texture


@dataclass(frozen=True)
class StreetLight:
    x: float
    y: float
    height_m: float
