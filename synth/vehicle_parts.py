"""Shared pieces of the vehicle models: colours, lamps, plates with glyphs, wheels, roof racks, glass.

Vehicle frame: x forward, y left, z up, metres. Decals on front/rear faces are given in (y, z), on side faces
in (x, z), on top faces in (x, y); ``MeshBuilder.on_face`` puts them on the face's plane.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from synth.mesh_builder import Material, MeshBuilder, OrderNode, octagon, rect
from synth.types import VehicleIdentity

# Fixed part colours, BGR before lighting.
TYRE = (34, 34, 36)
ARCH = (18, 18, 20)
UNDERBODY = (26, 26, 28)
TRIM = (44, 44, 47)
RACK = (30, 30, 33)
HEADLAMP = (228, 236, 242)
TAIL_RED = (36, 36, 196)
GLYPH = (28, 28, 30)
CHASSIS = (40, 40, 43)
ROOF_UNIT = (196, 198, 200)
SIGN_BOARD = (24, 24, 24)
SIGN_TEXT = (40, 170, 255)
LIGHT_GLASS = np.array([112.0, 102.0, 90.0])  # clear glass over a dark interior
DARK_GLASS = np.array([20.0, 20.0, 23.0])

PLATE_W, PLATE_H = 0.52, 0.12
PLATE_CHARS = 7
GLYPH_MIN_PX = 2.5  # glyphs are drawn only where one spans this many pixels (the plate ~ 18 px wide)
RACK_H = 0.08  # roof-rack bar height (m); the roof is lowered by it so the vehicle keeps its height
RACK_BAR_M = 0.09  # bar thickness along the vehicle (m)
RACK_BARS = 3
ARCH_MARGIN = 0.06  # wheel arch radius beyond the tyre (m)
RIM_FRACTION = 0.62


def glass_colour(tint: float) -> tuple[float, float, float]:
    """Window colour for a tint in [0, 1] (0 = clear, 1 = near black), BGR."""
    t = float(np.clip(tint, 0.0, 1.0))
    return tuple((1 - t) * LIGHT_GLASS + t * DARK_GLASS)


def sym(
    b: MeshBuilder, part: int, face: str, y_in: float, y_out: float, z0: float, z1: float, colour, mat
) -> None:
    """A mirrored pair of rectangles on a front/rear face, |y| in [y_in, y_out], z in [z0, z1]."""
    for s in (-1.0, 1.0):
        pts = [(s * y_in, z0), (s * y_out, z0), (s * y_out, z1), (s * y_in, z1)]
        b.decal(part, face, b.on_face(part, face, pts, 0), colour, mat)


def band(
    b: MeshBuilder, part: int, face: str, y: float, z0: float, z1: float, colour, mat=Material.PAINT
) -> int:
    """A centred rectangle |y| <= y, z in [z0, z1] on a front/rear face."""
    return b.decal(part, face, b.on_face(part, face, [(-y, z0), (y, z0), (y, z1), (-y, z1)], 0), colour, mat)


def side(
    b: MeshBuilder, part: int, x0: float, x1: float, z0: float, z1: float, colour, mat=Material.PAINT
) -> None:
    """The same rectangle x in [x0, x1], z in [z0, z1] on both side faces of a part."""
    for face in ("right", "left"):
        pts = [(x0, z0), (x1, z0), (x1, z1), (x0, z1)]
        b.decal(part, face, b.on_face(part, face, pts, 1), colour, mat)


def wheels(b: MeshBuilder, part: int, axles: list[float], r: float, rim, arch_bottom: float | None) -> None:
    """Arch (if the face reaches down to ``arch_bottom``), tyre and rim discs on both sides of ``part``."""
    for face in ("right", "left"):
        for xa in axles:
            if arch_bottom is not None:
                ra = r + ARCH_MARGIN
                c45 = ra * np.sqrt(0.5)
                arch = [(xa - ra, arch_bottom), (xa - ra, r), (xa - c45, r + c45), (xa, r + ra)]
                arch += [(xa + c45, r + c45), (xa + ra, r), (xa + ra, arch_bottom)]
                b.decal(part, face, b.on_face(part, face, arch, 1), ARCH)
            b.decal(part, face, b.on_face(part, face, octagon(xa, r, r), 1), TYRE, silhouette=True)
            b.decal(part, face, b.on_face(part, face, octagon(xa, r, RIM_FRACTION * r), 1), rim)


def underbody(b: MeshBuilder, x0: float, x1: float, half_w: float, top: float) -> int:
    """Dark block between the wheels: the shadowed underside and the tyre treads seen from front or back."""
    return b.part(rect(x0, x1, -half_w, half_w, 0.0), rect(x0, x1, -half_w, half_w, top), UNDERBODY)


def plate(b: MeshBuilder, part: int, face: str, z0: float, ident: VehicleIdentity) -> None:
    """A plate centred on a front/rear face with a glyph pattern drawn from ``plate_code``."""
    band(b, part, face, PLATE_W / 2, z0, z0 + PLATE_H, ident.plate_bgr)
    # Glyphs read left to right as seen by a viewer: +y is on the right of the front, on the left of the rear.
    reading = 1.0 if face == "front" else -1.0
    cell = (PLATE_W - 0.08) / PLATE_CHARS
    code = ident.plate_code
    for i in range(PLATE_CHARS):
        shape = (code >> (2 * i)) & 3
        y0 = reading * (-PLATE_W / 2 + 0.04 + cell * (i + 0.2))
        y1 = reading * (-PLATE_W / 2 + 0.04 + cell * (i + (0.55 if shape == 3 else 0.8)))
        lo, hi = 0.2, 0.8
        if shape == 1:
            lo = 0.45
        elif shape == 2:
            hi = 0.55
        zz0, zz1 = z0 + PLATE_H * lo, z0 + PLATE_H * hi
        pts = b.on_face(part, face, [(y0, zz0), (y1, zz0), (y1, zz1), (y0, zz1)], 0)
        b.decal(part, face, pts, GLYPH, min_px=GLYPH_MIN_PX)


def rack(b: MeshBuilder, x0: float, x1: float, half_w: float, roof_at: Callable[[float], float]) -> OrderNode:
    """Thin dark bars across the roof (roof height ``roof_at(x)``); returns their order node (a row along x)."""
    xs = [x0 + (x1 - x0) * (k + 0.5) / RACK_BARS for k in range(RACK_BARS)]
    parts = [
        b.part(
            rect(x - RACK_BAR_M / 2, x + RACK_BAR_M / 2, -half_w, half_w, roof_at(x)),
            rect(x - RACK_BAR_M / 2, x + RACK_BAR_M / 2, -half_w, half_w, roof_at(x) + RACK_H),
            RACK,
        )
        for x in xs
    ]
    return ("row", 0, tuple(xs), tuple(parts))


def split_z(z: float, below: OrderNode, above: OrderNode) -> OrderNode:
    return ("split", (0.0, 0.0, 1.0), z, below, above)
