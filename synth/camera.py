"""Calibrated pinhole cameras: projection, ground homographies, near-plane clipping, calibration JSON.

Camera frame (OpenCV): x right, y down, z forward, metres. ``x_cam = R @ x_world + t``.
Pixel coordinates have the centre of the top-left pixel at (0, 0).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Points closer than this in front of the camera are clipped away: nothing real is that close to a pole camera,
# and projecting points near z = 0 explodes.
NEAR_PLANE_M = 0.3
_UP = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class PinholeCamera:
    """K: (3, 3) intrinsics in px; R: (3, 3) world-to-camera rotation; t: (3,) translation (m)."""

    name: str
    width: int
    height: int
    K: np.ndarray
    R: np.ndarray
    t: np.ndarray

    @classmethod
    def look_at(
        cls,
        name: str,
        position: tuple[float, float, float],
        target: tuple[float, float, float],
        hfov_deg: float,
        width: int,
        height: int,
    ) -> PinholeCamera:
        """A camera at ``position`` whose optical axis passes through ``target`` (both world metres), no roll."""
        centre = np.asarray(position, dtype=np.float64)
        forward = np.asarray(target, dtype=np.float64) - centre
        norm = np.linalg.norm(forward)
        if norm < 1e-6:
            raise ValueError(f"{name}: look-at target coincides with the camera position")
        forward /= norm
        right = np.cross(forward, _UP)
        if np.linalg.norm(right) < 1e-6:
            raise ValueError(f"{name}: a camera looking straight down has no defined roll; tilt it slightly")
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        R = np.stack([right, down, forward])
        focal = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        K = np.array([[focal, 0.0, (width - 1) / 2.0], [0.0, focal, (height - 1) / 2.0], [0.0, 0.0, 1.0]])
        return cls(name=name, width=width, height=height, K=K, R=R, t=-R @ centre)

    @property
    def centre(self) -> np.ndarray:
        """Camera centre in world coordinates, (3,) metres."""
        return -self.R.T @ self.t

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """points: (N, 3) world metres -> (N, 3) camera-frame metres."""
        return points @ self.R.T + self.t

    def project_camera(self, cam_points: np.ndarray) -> np.ndarray:
        """cam_points: (N, 3) camera frame with z > 0 -> (N, 2) pixel coordinates."""
        uvw = cam_points @ self.K.T
        return uvw[:, :2] / uvw[:, 2:3]

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """points: (N, 3) world metres -> (uv (N, 2) px, depth (N,) m along the optical axis).

        Points behind the camera get meaningless uv; check ``depth > NEAR_PLANE_M``.
        """
        cam = self.to_camera(np.asarray(points, dtype=np.float64))
        depth = cam[:, 2]
        safe = cam.copy()
        safe[:, 2] = np.where(depth > 1e-9, depth, 1e-9)
        return self.project_camera(safe), depth

    @property
    def world_to_image(self) -> np.ndarray:
        """(3, 3) homography mapping ground points (x, y, 1) in metres to homogeneous pixels."""
        H = self.K @ np.column_stack([self.R[:, 0], self.R[:, 1], self.t])
        return H / H[2, 2]

    @property
    def image_to_world(self) -> np.ndarray:
        """(3, 3) homography mapping pixels (u, v, 1) to ground points (x, y, 1) in metres."""
        H = np.linalg.inv(self.world_to_image)
        return H / H[2, 2]

    def pixels_to_ground(self, uv: np.ndarray) -> np.ndarray:
        """uv: (N, 2) px -> (N, 2) ground metres (meaningless for pixels above the horizon)."""
        homog = np.column_stack([uv, np.ones(len(uv))]) @ self.image_to_world.T
        return homog[:, :2] / homog[:, 2:3]

    def horizon_row(self) -> float:
        """Image row (px) of the horizon line at the image centre column; rows below it see the ground."""
        # The horizon is where the camera ray is parallel to the ground: its direction has zero world z.
        # Ray direction in world for pixel (cx, v): R.T @ K^-1 @ (cx, v, 1); solve for v where z = 0.
        k_inv = np.linalg.inv(self.K)
        a = self.R.T @ k_inv @ np.array([self.K[0, 2], 0.0, 1.0])
        b = self.R.T @ k_inv @ np.array([0.0, 1.0, 0.0])
        return float(-a[2] / b[2]) if abs(b[2]) > 1e-12 else -math.inf

    def to_json(self, extra: dict | None = None) -> dict:
        """Calibration record: intrinsics, extrinsics and both ground homographies."""
        record = {
            "name": self.name,
            "image_size": [self.width, self.height],
            "units": "metres; pixels with the top-left pixel centre at (0, 0)",
            "K": self.K.tolist(),
            "distortion": [0.0, 0.0, 0.0, 0.0, 0.0],
            "R": self.R.tolist(),
            "t": self.t.tolist(),
            "position_m": self.centre.tolist(),
            "homography_world_to_image": self.world_to_image.tolist(),
            "homography_image_to_world": self.image_to_world.tolist(),
        }
        return record | (extra or {})

    def save_json(self, path: Path, extra: dict | None = None) -> None:
        path.write_text(json.dumps(self.to_json(extra), indent=2))

    @classmethod
    def from_json(cls, path: Path) -> PinholeCamera:
        data = json.loads(Path(path).read_text())
        w, h = data["image_size"]
        return cls(
            name=data["name"],
            width=int(w),
            height=int(h),
            K=np.asarray(data["K"], dtype=np.float64),
            R=np.asarray(data["R"], dtype=np.float64),
            t=np.asarray(data["t"], dtype=np.float64),
        )


def clip_near(cam_points: np.ndarray, near: float = NEAR_PLANE_M) -> np.ndarray:
    """Clip a planar polygon (M, 3) in camera coordinates to z >= near (Sutherland-Hodgman, one plane).

    Returns (M', 3), possibly empty when the polygon lies wholly behind the plane.
    """
    inside = cam_points[:, 2] >= near
    if inside.all():
        return cam_points
    if not inside.any():
        return cam_points[:0]
    out = []
    n = len(cam_points)
    for i in range(n):
        cur, nxt = cam_points[i], cam_points[(i + 1) % n]
        cur_in, nxt_in = inside[i], inside[(i + 1) % n]
        if cur_in:
            out.append(cur)
        if cur_in != nxt_in:
            s = (near - cur[2]) / (nxt[2] - cur[2])
            out.append(cur + s * (nxt - cur))
    return np.asarray(out)
