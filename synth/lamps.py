"""Street-lamp geometry and the light they throw on the ground at night.

A street light is a pole on the verge with an arm reaching over the nearest road; its lamp hangs at the arm's
end. World metres (x east, y north, z up).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from synth.roads import RoadNetwork
from synth.types import StreetLight

ARM_LENGTH_M = 1.8
LAMP_DROP_M = 0.25  # lamp below the arm's top
POOL_GAIN = 0.6  # light level right under a lamp (1 = the full daylight ambient)
POOL_FALLOFF = 3.0  # exponent of the cosine-weighted falloff: street lamps aim their light down
POOL_RANGE_M = 40.0  # lamps farther than this from a point are ignored


def arm_direction(light: StreetLight, network: RoadNetwork) -> np.ndarray:
    """(2,) unit vector from the pole towards the centre line of the nearest road."""
    dx = network.xs - light.x
    dy = network.ys - light.y
    ix, iy = int(np.abs(dx).argmin()), int(np.abs(dy).argmin())
    if abs(dx[ix]) < abs(dy[iy]):
        return np.array([np.sign(dx[ix]) or 1.0, 0.0])
    return np.array([0.0, np.sign(dy[iy]) or 1.0])


def lamp_heads(lights: Sequence[StreetLight], network: RoadNetwork) -> np.ndarray:
    """(N, 3) world positions of the lamps (m)."""
    heads = [
        (*(np.array([sl.x, sl.y]) + ARM_LENGTH_M * arm_direction(sl, network)), sl.height_m - LAMP_DROP_M)
        for sl in lights
    ]
    return np.array(heads, dtype=np.float64).reshape(-1, 3)


def lamp_illuminance(xy: np.ndarray, heads: np.ndarray) -> np.ndarray:
    """Ground light from all lamps: xy (M, 2) m, heads (N, 3) m -> (M,) level (1 = POOL_GAIN right under one).

    A downward-aimed lamp over a flat floor: (h^2 / (h^2 + d^2))^POOL_FALLOFF.
    """
    out = np.zeros(len(xy))
    for hx, hy, hz in heads:
        d2 = (xy[:, 0] - hx) ** 2 + (xy[:, 1] - hy) ** 2
        near = d2 < POOL_RANGE_M**2
        out[near] += (hz * hz / (hz * hz + d2[near])) ** POOL_FALLOFF
    return POOL_GAIN * out
