"""Ground-plane calibration of a camera: image pixels -> metres on the road, through a homography.

A vehicle's ground position is taken at the bottom centre of its box (where it meets the road). The
calibration file is JSON with ``homography_image_to_world``: a (3, 3) matrix mapping (u, v, 1) pixels to
homogeneous ground points (x, y, 1) in metres, the layout the synthetic town writes to
``<scene>/calibration/camNN.json`` (other keys are ignored, so a real site can write only this one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

HOMOGRAPHY_KEY = "homography_image_to_world"
CAMERA_POSITION_KEY = "position_m"  # optional: the camera's (x, y[, z]) in the same ground frame, metres
_WHAT_IT_NEEDS = (
    f'it needs a JSON object with "{HOMOGRAPHY_KEY}": a 3x3 list of rows mapping pixels to ground metres'
)


class CalibrationError(ValueError):
    """A calibration file that cannot be used; the message names the file and the fix."""


class GroundPlane:
    """Maps boxes of one camera to ground positions. image_to_world: (3, 3) homography, pixels -> metres;
    camera_xy: (2,) the camera's ground position in metres, when known (it lets ``project`` move the point
    from the vehicle's near side towards its centre)."""

    def __init__(self, image_to_world: np.ndarray, camera_xy: np.ndarray | None = None) -> None:
        matrix = np.asarray(image_to_world, dtype=np.float64)
        if matrix.shape != (3, 3) or not np.isfinite(matrix).all() or abs(np.linalg.det(matrix)) < 1e-15:
            raise CalibrationError(
                f"a ground homography must be a finite, invertible 3x3 matrix, got {matrix}"
            )
        self.image_to_world = matrix
        self.camera_xy = (
            None if camera_xy is None else np.asarray(camera_xy, dtype=np.float64).reshape(-1)[:2]
        )

    @classmethod
    def from_mapping(cls, record: Mapping[str, Any], source: str) -> GroundPlane:
        """The ground plane of a calibration mapping (a calibration file's JSON object, or a camera record's
        ``calibration``). ``source`` names where it came from (a file, a camera) in the CalibrationError
        raised when it cannot be used."""
        try:
            matrix = np.asarray(record[HOMOGRAPHY_KEY], dtype=np.float64)
            position = record.get(CAMERA_POSITION_KEY)
            camera_xy = None if position is None else np.asarray(position, dtype=np.float64).reshape(-1)[:2]
            return cls(matrix, camera_xy)
        except (KeyError, TypeError, ValueError) as exc:  # CalibrationError included: its reason says what
            reason = str(exc) if isinstance(exc, CalibrationError) else f"{type(exc).__name__}: {exc}"
            raise CalibrationError(f"{source}: unusable calibration ({reason}); {_WHAT_IT_NEEDS}") from None

    @classmethod
    def from_json(cls, path: str | Path) -> GroundPlane:
        path = Path(path)
        try:
            record = json.loads(path.read_text())
        except FileNotFoundError:
            raise CalibrationError(f"{path}: no such calibration file; pass an existing JSON file") from None
        except ValueError as exc:  # not JSON, or not text
            raise CalibrationError(
                f"{path}: not a calibration file ({type(exc).__name__}: {exc}); {_WHAT_IT_NEEDS}"
            ) from None
        return cls.from_mapping(record, str(path))

    def project(self, xyxy: np.ndarray, foot_offset_m: float = 0.0) -> np.ndarray:
        """xyxy: (N, 4) px -> (N, 2) ground metres of each box's bottom centre; NaN where that pixel lies
        above the horizon (the ray never meets the ground).

        foot_offset_m: move each point this far away from the camera (needs ``camera_xy``). A box's bottom
        edge is the vehicle's near side, so its centre lies about half a vehicle further along the view ray;
        on the synthetic town 2 m brings the error from about 2.2 m to about 0.6 m (median).
        """
        boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        foot = np.column_stack([(boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3], np.ones(len(boxes))])
        homog = foot @ self.image_to_world.T
        w = homog[:, 2:3]
        # w is linear in the pixel and zero on the horizon line. Rows below the horizon see the road, and for
        # any camera that is not upside down the bottom of the image is below it: valid points share the sign
        # w takes as v grows, sign(H[2, 1]). The others are rays that never meet the ground.
        with np.errstate(divide="ignore", invalid="ignore"):
            ground = homog[:, :2] / w
        # (An affine homography, H[2, 1] = 0, has no horizon: its constant w then gives the sign.)
        h = self.image_to_world
        below_horizon = w[:, 0] * np.sign(h[2, 1] if abs(h[2, 1]) > 1e-15 else h[2, 2]) > 0
        ground[~below_horizon | ~np.isfinite(ground).all(axis=1)] = np.nan
        if foot_offset_m and self.camera_xy is not None:
            away = ground - self.camera_xy
            norm = np.linalg.norm(away, axis=1, keepdims=True)
            ground = ground + foot_offset_m * away / np.where(norm > 1e-9, norm, np.inf)
        return ground


def load_ground_planes(folder: str | Path, camera_ids: list[str]) -> dict[str, GroundPlane]:
    """``<folder>/<camera_id>.json`` for every camera that has one (cameras without one get no positions)."""
    folder = Path(folder)
    return {
        cam: GroundPlane.from_json(folder / f"{cam}.json")
        for cam in camera_ids
        if (folder / f"{cam}.json").is_file()
    }
