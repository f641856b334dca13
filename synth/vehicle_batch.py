"""All vehicles of one frame that a camera may see, posed, projected, culled and shaded in one vectorised pass.

The renderer then only loops over polygons to fill them. Stages: a bounding-sphere test against the view
frustum (no mesh needed), mesh vertices posed by (xy, heading) and projected, vehicles whose projection
misses the image dropped, then per-polygon back-face culling, level of detail and shading.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np

from synth.camera import NEAR_PLANE_M, PinholeCamera, clip_near
from synth.lamps import lamp_illuminance
from synth.meshes import VehicleMesh, vehicle_mesh
from synth.raster import UV_LIMIT_PX, to_fixed
from synth.shading import SceneLight, shade_polygons
from synth.types import FrameState, VehicleIdentity

CULL_CENTRE_Z_M = 1.6  # centre height of the bounding sphere used before meshes are looked up
CULL_RADIUS_M = 7.5  # covers the longest bus (12 m x 2.55 m x 3.4 m) around that centre
CONTACT_GROW_M = 0.15  # the contact shadow reaches this far beyond the footprint
VEHICLE_LAMP_SHARE = 0.6  # street-lamp light reaching a vehicle's faces, relative to the ground under it


@dataclass(frozen=True)
class VehicleBatch:
    """n vehicles in view; P polygons (all of their meshes, concatenated); Vt vertices.

    vehicle_id (n,); meshes n VehicleMesh; braking (n,) bool; heights (n,) m; footprints (n, 4, 2) and
    contact (n, 4, 2) ground quads (m); boxes (n, 4) float screen boxes for ordering; pixel_boxes (n, 4) int
    clipped boxes holding all of a vehicle's pixels; camera_local (n, 3) camera centre in each vehicle frame;
    poly_offset (n,) first polygon of each vehicle; near_clipped (n,) vehicles crossing the near plane;
    full_px (n,) silhouette hull area (px); camera_points (Vt, 3); polygons (P, 8) global vertex indices;
    n_vertices (P,); front (P,) front-facing; drawable (P,) front-facing owner and large enough;
    silhouette (P,); fixed (P, 8, 2) int32 pixels with SHIFT fractional bits; colours (P, 3) BGR, rounded.
    """

    n: int
    vehicle_id: np.ndarray
    meshes: list[VehicleMesh]
    braking: np.ndarray
    heights: np.ndarray
    footprints: np.ndarray
    contact: np.ndarray
    boxes: np.ndarray
    pixel_boxes: np.ndarray
    camera_local: np.ndarray
    poly_offset: np.ndarray
    near_clipped: np.ndarray
    full_px: np.ndarray
    camera_points: np.ndarray
    polygons: np.ndarray
    n_vertices: np.ndarray
    front: np.ndarray
    drawable: np.ndarray
    silhouette: np.ndarray
    fixed: np.ndarray
    colours: np.ndarray
    pose: np.ndarray  # (n, 4): x, y, cos(heading), sin(heading)
    camera: PinholeCamera

    def light_points(self, i: int) -> np.ndarray:
        """(N, 3) camera-frame positions of vehicle i's lamp anchors."""
        x, y, c, s = self.pose[i]
        p = self.meshes[i].lights
        world = np.column_stack([c * p[:, 0] - s * p[:, 1] + x, s * p[:, 0] + c * p[:, 1] + y, p[:, 2]])
        return self.camera.to_camera(world)


def frustum_planes(camera: PinholeCamera) -> np.ndarray:
    """(4, 3) inward unit normals (camera frame) of the planes through the lens and the image borders."""
    fx, fy, cx, cy = camera.K[0, 0], camera.K[1, 1], camera.K[0, 2], camera.K[1, 2]
    w, h = camera.width, camera.height
    planes = np.array(
        [[fx, 0, cx + 0.5], [-fx, 0, w - 0.5 - cx], [0, fy, cy + 0.5], [0, -fy, h - 0.5 - cy]], float
    )
    return planes / np.linalg.norm(planes, axis=1, keepdims=True)


def _rotate(p: np.ndarray, c: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Rotate (N, 3) vehicle-frame vectors about z by per-row cos c, sin s (N,)."""
    return np.column_stack([c * p[:, 0] - s * p[:, 1], s * p[:, 0] + c * p[:, 1], p[:, 2]])


def prepare_batch(
    state: FrameState,
    identities: Mapping[int, VehicleIdentity],
    camera: PinholeCamera,
    light: SceneLight,
    lamps: np.ndarray,
) -> VehicleBatch | None:
    """The vehicles of ``state`` that may be seen by ``camera``, ready to draw; None when there are none."""
    if not len(state.vehicle_id):
        return None
    centres = np.column_stack([state.xy, np.full(len(state.xy), CULL_CENTRE_Z_M)])
    cam_c = camera.to_camera(centres)
    near = cam_c[:, 2] > NEAR_PLANE_M - CULL_RADIUS_M
    keep = np.flatnonzero(near & np.all(cam_c @ frustum_planes(camera).T > -CULL_RADIUS_M, axis=1))
    if not len(keep):
        return None
    try:
        meshes = [vehicle_mesh(identities[int(v)]) for v in state.vehicle_id[keep]]
    except KeyError as exc:
        raise KeyError(f"FrameState names vehicle {exc.args[0]} but no identity was given for it") from None
    # Pose and project every vertex of the candidates.
    nv = np.array([len(m.vertices) for m in meshes])
    voff = np.concatenate([[0], np.cumsum(nv)])
    cos, sin = np.cos(state.heading[keep]), np.sin(state.heading[keep])
    xy = state.xy[keep]
    verts = np.concatenate([m.vertices for m in meshes])
    world = _rotate(verts, np.repeat(cos, nv), np.repeat(sin, nv))
    world[:, :2] += np.repeat(xy, nv, axis=0)
    cam_pts = camera.to_camera(world)
    z = cam_pts[:, 2]
    uv = camera.project_camera(np.column_stack([cam_pts[:, :2], np.maximum(z, NEAR_PLANE_M)]))
    uv = np.clip(uv, -UV_LIMIT_PX, UV_LIMIT_PX)
    starts = voff[:-1]
    zmin, zmax = np.minimum.reduceat(z, starts), np.maximum.reduceat(z, starts)
    umin, umax = np.minimum.reduceat(uv[:, 0], starts), np.maximum.reduceat(uv[:, 0], starts)
    vmin, vmax = np.minimum.reduceat(uv[:, 1], starts), np.maximum.reduceat(uv[:, 1], starts)
    clipped = zmin < NEAR_PLANE_M
    w, h = camera.width, camera.height
    on_image = (umax > -0.5) & (umin < w - 0.5) & (vmax > -0.5) & (vmin < h - 0.5)
    sel = np.flatnonzero((zmax > NEAR_PLANE_M) & (clipped | on_image))
    if not len(sel):
        return None
    meshes = [meshes[i] for i in sel]
    clipped = clipped[sel]
    boxes = np.column_stack([umin, vmin, umax + 1, vmax + 1])[sel]
    boxes[clipped] = (0, 0, w, h)
    pixel_boxes = np.column_stack(
        [
            np.floor(boxes[:, 0]) - 1,
            np.floor(boxes[:, 1]) - 1,
            np.ceil(boxes[:, 2]) + 1,
            np.ceil(boxes[:, 3]) + 1,
        ]
    )
    pixel_boxes = np.clip(pixel_boxes, 0, [w, h, w, h]).astype(np.int64)

    # Polygons of the vehicles in view.
    n_poly = np.array([len(m.polygons) for m in meshes])
    poff = np.concatenate([[0], np.cumsum(n_poly)])
    polygons = np.concatenate([m.polygons + voff[i] for i, m in zip(sel, meshes, strict=True)])
    owner = np.concatenate([m.owner + poff[k] for k, m in enumerate(meshes)])
    pc, ps = np.repeat(cos[sel], n_poly), np.repeat(sin[sel], n_poly)
    normals = _rotate(np.concatenate([m.normals for m in meshes]), pc, ps)
    centroids = _rotate(np.concatenate([m.centroids for m in meshes]), pc, ps)
    centroids[:, :2] += np.repeat(xy[sel], n_poly, axis=0)
    to_cam = camera.centre - centroids
    front = np.sum(normals * to_cam, axis=1) > 0
    pix = uv[polygons]
    extent = np.maximum(np.ptp(pix[:, :, 0], axis=1), np.ptp(pix[:, :, 1], axis=1))
    drawable = front[owner] & (extent >= np.concatenate([m.min_px for m in meshes]))
    braking = state.braking[keep][sel].astype(bool)
    extra = np.zeros(len(sel))
    if light.night and len(lamps):
        extra = VEHICLE_LAMP_SHARE * lamp_illuminance(xy[sel], lamps)
    colours = shade_polygons(
        np.concatenate([m.colours for m in meshes]).astype(np.float64),
        np.concatenate([m.material for m in meshes]),
        normals,
        to_cam / np.linalg.norm(to_cam, axis=1, keepdims=True),
        np.repeat(extra, n_poly),
        np.repeat(braking, n_poly),
        light,
    )
    full_px = np.array(
        [
            _hull_area_clipped(cam_pts, polygons[poff[k] : poff[k + 1]], m, camera)
            if clipped[k]
            else _hull_area(uv[voff[i] + m.hull_vertices])
            for k, (i, m) in enumerate(zip(sel, meshes, strict=True))
        ]
    )
    lw = np.array([[m.length_m / 2, m.width_m / 2] for m in meshes])
    c_sel, s_sel = cos[sel], sin[sel]
    rel = camera.centre[:2] - xy[sel]
    camera_local = np.column_stack(
        [
            c_sel * rel[:, 0] + s_sel * rel[:, 1],
            -s_sel * rel[:, 0] + c_sel * rel[:, 1],
            np.full(len(sel), camera.centre[2]),
        ]
    )
    return VehicleBatch(
        n=len(sel),
        vehicle_id=state.vehicle_id[keep][sel].astype(np.int64),
        meshes=meshes,
        braking=braking,
        heights=np.array([m.height_m for m in meshes]),
        footprints=_quads(xy[sel], c_sel, s_sel, lw),
        contact=_quads(xy[sel], c_sel, s_sel, lw + CONTACT_GROW_M),
        boxes=boxes,
        pixel_boxes=pixel_boxes,
        camera_local=camera_local,
        poly_offset=poff[:-1],
        near_clipped=clipped,
        full_px=full_px,
        camera_points=cam_pts,
        polygons=polygons,
        n_vertices=np.concatenate([m.n_vertices for m in meshes]),
        front=front,
        drawable=drawable,
        silhouette=np.concatenate([m.silhouette for m in meshes]),
        fixed=to_fixed(pix),
        colours=np.round(colours),
        pose=np.column_stack([xy[sel], c_sel, s_sel]),
        camera=camera,
    )


def _quads(xy: np.ndarray, c: np.ndarray, s: np.ndarray, half: np.ndarray) -> np.ndarray:
    """(n, 4, 2) ground rectangles (rear-right, front-right, front-left, rear-left) of half sizes (n, 2)."""
    signs = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64)
    local = signs[None] * half[:, None, :]
    x = c[:, None] * local[..., 0] - s[:, None] * local[..., 1] + xy[:, :1]
    y = s[:, None] * local[..., 0] + c[:, None] * local[..., 1] + xy[:, 1:]
    return np.stack([x, y], axis=-1)


def _hull_area(uv: np.ndarray) -> float:
    return float(cv2.contourArea(cv2.convexHull(uv.astype(np.float32))))


def _hull_area_clipped(
    cam_pts: np.ndarray, polygons: np.ndarray, mesh: VehicleMesh, camera: PinholeCamera
) -> float:
    """Silhouette area of a vehicle that crosses the near plane: hull of its clipped solid faces."""
    pts = [
        clip_near(cam_pts[p[:nv]])
        for p, nv, par in zip(polygons, mesh.n_vertices, mesh.parent, strict=True)
        if par < 0
    ]
    pts = [p for p in pts if len(p)]
    if not pts:
        return 0.0
    uv = np.clip(camera.project_camera(np.vstack(pts)), -UV_LIMIT_PX, UV_LIMIT_PX)
    return _hull_area(uv)
