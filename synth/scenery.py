"""Static roadside objects: trees and shrubs that occlude vehicles, street lights that light the night."""

from __future__ import annotations

import numpy as np

from synth.config import SceneConfig
from synth.roads import RoadNetwork
from synth.types import Occluder, StreetLight

STREAM_SCENERY = 5
TREE_SETBACK_M = (0.8, 6.0)  # beyond the sidewalk's outer edge
SHRUB_SETBACK_M = (0.3, 3.0)
STREETLIGHT_SETBACK_M = (0.3, 0.6)
# Keep the camera poles' own surroundings clear: a crown right in front of the lens would blind it.
CAMERA_CLEARANCE_M = 9.0
FOLIAGE = ((40, 95, 45), (35, 80, 55), (45, 110, 70), (30, 70, 40), (50, 105, 85))


def place_scenery(cfg: SceneConfig, network: RoadNetwork) -> tuple[list[Occluder], list[StreetLight]]:
    rng = np.random.default_rng([cfg.seed, STREAM_SCENERY])
    sc = cfg.scenery
    cams = np.array([c.position_m[:2] for c in cfg.cameras])

    def away_from_cameras(pts: np.ndarray) -> np.ndarray:
        if not len(pts):
            return pts
        d = np.linalg.norm(pts[:, None, :] - cams[None, :, :], axis=2).min(axis=1)
        return pts[d > CAMERA_CLEARANCE_M]

    occluders: list[Occluder] = []
    for x, y in away_from_cameras(network.verge_points(rng, sc.trees_per_100m, TREE_SETBACK_M)):
        trunk = float(rng.uniform(1.8, 3.2))
        occluders.append(
            Occluder(
                kind="tree",
                x=float(x),
                y=float(y),
                radius_m=float(rng.uniform(1.4, 2.8)),
                height_m=trunk + float(rng.uniform(3.0, 5.5)),
                trunk_height_m=trunk,
                foliage_bgr=FOLIAGE[rng.integers(len(FOLIAGE))],
                seed=int(rng.integers(2**31 - 1)),
            )
        )
    for x, y in away_from_cameras(network.verge_points(rng, sc.shrubs_per_100m, SHRUB_SETBACK_M)):
        occluders.append(
            Occluder(
                kind="shrub",
                x=float(x),
                y=float(y),
                radius_m=float(rng.uniform(0.6, 1.3)),
                height_m=float(rng.uniform(0.8, 1.7)),
                trunk_height_m=0.0,
                foliage_bgr=FOLIAGE[rng.integers(len(FOLIAGE))],
                seed=int(rng.integers(2**31 - 1)),
            )
        )
    lights = [
        StreetLight(x=float(x), y=float(y), height_m=float(rng.uniform(7.0, 9.0)))
        for x, y in network.verge_points(rng, sc.streetlights_per_100m / 2, STREETLIGHT_SETBACK_M)
    ]
    return occluders, lights
