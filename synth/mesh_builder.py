"""Primitives of vehicle meshes: convex hexahedral parts, flat decals painted on their faces, draw order.

Vehicle frame: x forward, y left, z up, metres; origin = footprint centre on the ground. A mesh is a list of
polygons (solid faces of the parts, then decals), each with a base colour and a material; the renderer shades,
culls and paints them. Within one convex part the front-facing faces never overlap on screen, so only the
order of the parts matters; that order comes from a tiny BSP tree of planes between parts (``OrderNode``),
evaluated for the camera position each frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache

import numpy as np

MAX_POLY_VERTS = 8  # octagons (wheels); smaller polygons repeat their last vertex
DECAL_MIN_PX = 0.6  # decals smaller than this on screen (both ways) are skipped: they would not show

# Hexahedron vertices: bottom 0..3 then top 4..7, each ring (rear-right, front-right, front-left, rear-left).
# Per face: vertex indices counter-clockwise seen from outside (outward Newell normal), and the canonical
# corners (bottom-start, bottom-end, top-end, top-start) that parametrise decals: u runs rear->front on the
# sides and the top, right->left on the front and rear; v runs bottom->top (right->left on the top).
HEX_FACES: dict[str, tuple[tuple[int, int, int, int], tuple[int, int, int, int]]] = {
    "bottom": ((0, 3, 2, 1), (0, 1, 2, 3)),
    "top": ((4, 5, 6, 7), (4, 5, 6, 7)),
    "front": ((1, 2, 6, 5), (1, 2, 6, 5)),
    "rear": ((3, 0, 4, 7), (0, 3, 7, 4)),
    "right": ((0, 1, 5, 4), (0, 1, 5, 4)),
    "left": ((2, 3, 7, 6), (3, 2, 6, 7)),
}


class Material(IntEnum):
    """How the renderer shades a polygon."""

    PAINT = 0  # matte Lambert (paint, plastic, rubber, plates)
    GLASS = 1  # tinted glass that also reflects the sky
    LAMP = 2  # headlights, signs: self-lit at night
    TAIL = 3  # tail/brake lights: self-lit at night, bright when braking


# OrderNode: a part index; ("seq", children) in fixed order; ("split", normal (3,), offset, below, above): the
# side of the plane n.x = offset that holds the camera is drawn last; ("row", axis, centres, children):
# children separated along an axis, drawn farthest-from-the-camera first.
OrderNode = int | tuple


@dataclass(frozen=True, eq=False)
class VehicleMesh:
    """One vehicle's geometry, P polygons over V vertices, N light anchors (vehicle frame, metres).

    vertices (V, 3); polygons (P, MAX_POLY_VERTS) int32 vertex indices; n_vertices (P,) real vertex counts;
    colours (P, 3) float32 base BGR; material (P,) uint8 ``Material``; normals (P, 3) unit outward (a decal
    has its parent's); centroids (P, 3); parent (P,) int32, -1 for solid faces else the face a decal lies on;
    owner (P,) the face whose visibility decides (itself or its parent); part (P,) part index; min_px (P,) a
    polygon is drawn only when its projected extent reaches this (px); silhouette (P,) bool: painted
    into the instance mask; part_draw: per part, polygon indices in draw order (each face, then its decals);
    lights (N, 3) lamp centres, light_kind (N,) 0 head / 1 tail, light_owner (N,) face index; hull_vertices
    (H,) the vertices whose projected convex hull is the silhouette.
    """

    vertices: np.ndarray
    polygons: np.ndarray
    n_vertices: np.ndarray
    colours: np.ndarray
    material: np.ndarray
    normals: np.ndarray
    centroids: np.ndarray
    parent: np.ndarray
    owner: np.ndarray
    part: np.ndarray
    min_px: np.ndarray
    silhouette: np.ndarray
    part_draw: tuple[np.ndarray, ...]
    order: OrderNode
    lights: np.ndarray
    light_kind: np.ndarray
    light_owner: np.ndarray
    hull_vertices: np.ndarray
    length_m: float
    width_m: float
    height_m: float

    def draw_sequence(self, camera_vehicle: np.ndarray) -> np.ndarray:
        """camera_vehicle: (3,) camera centre in the vehicle frame -> (S,) polygon indices, painter order."""
        return _sequence(self, tuple(part_order(self.order, camera_vehicle)))


@lru_cache(maxsize=4096)
def _sequence(mesh: VehicleMesh, order: tuple[int, ...]) -> np.ndarray:
    return np.concatenate([mesh.part_draw[p] for p in order])


def part_order(node: OrderNode, cam: np.ndarray) -> list[int]:
    """Evaluate an ``OrderNode`` for a camera at ``cam`` (3,) vehicle frame -> part indices, far to near."""
    out: list[int] = []
    _walk(node, (float(cam[0]), float(cam[1]), float(cam[2])), out)
    return out


def _walk(node: OrderNode, cam: tuple[float, float, float], out: list[int]) -> None:
    if isinstance(node, int):
        out.append(node)
        return
    tag = node[0]
    if tag == "seq":
        for child in node[1]:
            _walk(child, cam, out)
    elif tag == "split":
        _, n, offset, below, above = node
        camera_above = n[0] * cam[0] + n[1] * cam[1] + n[2] * cam[2] > offset
        first, second = (below, above) if camera_above else (above, below)
        _walk(first, cam, out)
        _walk(second, cam, out)
    else:  # "row"
        _, axis, centres, children = node
        c = cam[axis]
        for i in sorted(range(len(children)), key=lambda i: -abs(centres[i] - c)):
            _walk(children[i], cam, out)


def rect(x0: float, x1: float, y0: float, y1: float, z: float | list[float]) -> np.ndarray:
    """(4, 3) ring (rear-right, front-right, front-left, rear-left) of x in [x0, x1], y in [y0, y1]."""
    zs = np.broadcast_to(np.asarray(z, dtype=np.float64), (4,))
    return np.array([[x0, y0, zs[0]], [x1, y0, zs[1]], [x1, y1, zs[2]], [x0, y1, zs[3]]])


def octagon(cx: float, cz: float, radius: float) -> np.ndarray:
    """(8, 2) octagon around (cx, cz) in a side face's (x, z) coordinates."""
    a = np.deg2rad(22.5 + 45.0 * np.arange(8))
    return np.column_stack([cx + radius * np.cos(a), cz + radius * np.sin(a)])


def newell_normal(points: np.ndarray) -> np.ndarray:
    """(n, 3) polygon, counter-clockwise seen from outside -> (3,) unit outward normal."""
    nxt = np.roll(points, -1, axis=0)
    n = np.array(
        [
            np.sum((points[:, 1] - nxt[:, 1]) * (points[:, 2] + nxt[:, 2])),
            np.sum((points[:, 2] - nxt[:, 2]) * (points[:, 0] + nxt[:, 0])),
            np.sum((points[:, 0] - nxt[:, 0]) * (points[:, 1] + nxt[:, 1])),
        ]
    )
    return n / np.linalg.norm(n)


class MeshBuilder:
    """Accumulates parts, decals and light anchors, then freezes them into a ``VehicleMesh``."""

    def __init__(self) -> None:
        self._verts: list[np.ndarray] = []
        self._n_verts = 0
        self._polys: list[list[int]] = []
        self._colour: list[tuple[float, float, float]] = []
        self._material: list[int] = []
        self._normal: list[np.ndarray] = []
        self._parent: list[int] = []
        self._part: list[int] = []
        self._min_px: list[float] = []
        self._silhouette: list[bool] = []
        self._faces: list[dict[str, int]] = []  # per part: face name -> polygon index
        self._corners: list[np.ndarray] = []  # per part: (8, 3) vertices
        self._decals: dict[int, list[int]] = {}
        self._lights: list[tuple[np.ndarray, int, int]] = []

    def _add_vertices(self, pts: np.ndarray) -> list[int]:
        idx = list(range(self._n_verts, self._n_verts + len(pts)))
        self._verts.append(np.asarray(pts, dtype=np.float64))
        self._n_verts += len(pts)
        return idx

    def _add_polygon(self, idx, colour, material, normal, parent, part, min_px, silhouette) -> int:
        self._polys.append(idx)
        self._colour.append(tuple(float(c) for c in colour))
        self._material.append(int(material))
        self._normal.append(normal)
        self._parent.append(parent)
        self._part.append(part)
        self._min_px.append(min_px)
        self._silhouette.append(silhouette)
        return len(self._polys) - 1

    def part(self, bottom: np.ndarray, top: np.ndarray, colour, face_colours: dict | None = None) -> int:
        """Add a convex hexahedron from its bottom and top rings (4, 3) each; returns the part index."""
        corners = np.vstack([bottom, top])
        idx = self._add_vertices(corners)
        part = len(self._faces)
        faces: dict[str, int] = {}
        for name, (ccw, _) in HEX_FACES.items():
            c = (face_colours or {}).get(name, colour)
            normal = newell_normal(corners[list(ccw)])
            faces[name] = self._add_polygon(
                [idx[i] for i in ccw], c, Material.PAINT, normal, -1, part, 0.0, True
            )
        self._faces.append(faces)
        self._corners.append(corners)
        return part

    def face_uv(self, part: int, face: str, uv) -> np.ndarray:
        """Points (n, 2) in a face's (u, v) in [0, 1] -> (n, 3), bilinear over its canonical corners."""
        c = self._corners[part][list(HEX_FACES[face][1])]
        uv = np.asarray(uv, dtype=np.float64)
        u, v = uv[:, :1], uv[:, 1:]
        return (1 - v) * ((1 - u) * c[0] + u * c[1]) + v * ((1 - u) * c[3] + u * c[2])

    def on_face(self, part: int, face: str, pts, free_axis: int) -> np.ndarray:
        """Points (n, 2) giving the two coordinates other than ``free_axis`` -> (n, 3) on the face's plane."""
        pts = np.asarray(pts, dtype=np.float64)
        normal = self._normal[self._faces[part][face]]
        anchor = self._corners[part][HEX_FACES[face][0][0]]
        axes = [a for a in range(3) if a != free_axis]
        out = np.zeros((len(pts), 3))
        out[:, axes[0]], out[:, axes[1]] = pts[:, 0], pts[:, 1]
        rest = (out[:, axes[0]] - anchor[axes[0]]) * normal[axes[0]] + (
            out[:, axes[1]] - anchor[axes[1]]
        ) * normal[axes[1]]
        out[:, free_axis] = anchor[free_axis] - rest / normal[free_axis]
        return out

    def decal(
        self,
        part: int,
        face: str,
        pts: np.ndarray,
        colour,
        material: Material = Material.PAINT,
        min_px: float = DECAL_MIN_PX,
        silhouette: bool = False,
    ) -> int:
        """A flat polygon (n, 3) lying on a part's face, drawn right after it (in call order)."""
        if len(pts) > MAX_POLY_VERTS:
            raise ValueError(f"a decal has at most {MAX_POLY_VERTS} vertices, got {len(pts)}")
        parent = self._faces[part][face]
        idx = self._add_vertices(pts)
        poly = self._add_polygon(
            idx, colour, material, self._normal[parent], parent, part, min_px, silhouette
        )
        self._decals.setdefault(parent, []).append(poly)
        return poly

    def light(self, part: int, face: str, centre: np.ndarray, kind: int) -> None:
        """A glow anchor (3,) on a face: 0 = headlight, 1 = tail light."""
        self._lights.append((np.asarray(centre, dtype=np.float64), kind, self._faces[part][face]))

    def face(self, part: int, name: str) -> int:
        return self._faces[part][name]

    def build(self, order: OrderNode, length: float, width: float, height: float) -> VehicleMesh:
        vertices = np.vstack(self._verts)
        polygons = np.array([p + [p[-1]] * (MAX_POLY_VERTS - len(p)) for p in self._polys], dtype=np.int32)
        parent = np.array(self._parent, dtype=np.int32)
        owner = np.where(parent < 0, np.arange(len(parent)), parent).astype(np.int32)
        centroids = np.array([vertices[p].mean(axis=0) for p in self._polys])
        part_draw = []
        for faces in self._faces:
            seq: list[int] = []
            for f in faces.values():
                seq += [f, *self._decals.get(f, [])]
            part_draw.append(np.array(seq, dtype=np.int32))
        lights = np.array([c for c, _, _ in self._lights]).reshape(-1, 3)
        return VehicleMesh(
            vertices=vertices,
            polygons=polygons,
            n_vertices=np.array([len(p) for p in self._polys], dtype=np.int32),
            colours=np.array(self._colour, dtype=np.float32),
            material=np.array(self._material, dtype=np.uint8),
            normals=np.array(self._normal),
            centroids=centroids,
            parent=parent,
            owner=owner,
            part=np.array(self._part, dtype=np.int32),
            min_px=np.array(self._min_px, dtype=np.float32),
            silhouette=np.array(self._silhouette, dtype=bool),
            part_draw=tuple(part_draw),
            order=order,
            lights=lights,
            light_kind=np.array([k for _, k, _ in self._lights], dtype=np.uint8),
            light_owner=np.array([o for _, _, o in self._lights], dtype=np.int32),
            hull_vertices=np.unique(
                [i for p, sil in zip(self._polys, self._silhouette, strict=True) if sil for i in p]
            ),
            length_m=length,
            width_m=width,
            height_m=height,
        )
