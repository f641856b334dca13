"""Vehicle meshes from a ``VehicleIdentity``: one model per type, built once per identity and cached.

Vehicle frame: x forward, y left, z up, metres; origin = footprint centre on the ground. Every vertex lies in
the identity's box: |x| <= L/2, |y| <= W/2, 0 <= z <= H. Sedans have a low body and a raked, tapered cabin;
SUVs a taller, boxier cabin; vans a tall box with a short sloped nose; trucks a cab and a separate cargo box;
buses a long box with a window band. Details that tell look-alikes apart (stripes, roof rack, tint, sunroof,
plate colour and glyphs, rim colour, cargo colour) are decals or thin parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from synth.mesh_builder import Material, MeshBuilder, OrderNode, VehicleMesh, rect
from synth.types import VehicleIdentity
from synth.vehicle_parts import (
    CHASSIS,
    HEADLAMP,
    RACK_H,
    ROOF_UNIT,
    SIGN_BOARD,
    SIGN_TEXT,
    TAIL_RED,
    TRIM,
    band,
    glass_colour,
    plate,
    rack,
    side,
    split_z,
    sym,
    underbody,
    wheels,
)

__all__ = ["VehicleMesh", "vehicle_mesh"]


@dataclass(frozen=True)
class _CarShape:
    """Proportions of a passenger car, fractions of L or H unless marked (m)."""

    clearance: float  # m
    shoulder: float  # belt-line height / H
    hood_drop: float  # m lower at the front of the bonnet than at the belt line
    trunk: float  # cabin base starts this far from the rear / L
    bonnet: float  # cabin base ends this far from the front / L
    rear_rake: float  # roof pulled forward by this * cabin height (rear window slope)
    front_rake: float  # roof pulled back by this * cabin height (windscreen slope)
    tumble: float  # roof narrower than the belt by this much each side (m)
    wheel_r: float  # m
    front_overhang: float  # / L
    rear_overhang: float  # / L
    pillars: tuple[float, ...]  # side-window pillars, u along the cabin side (0 rear, 1 front)


SEDAN = _CarShape(0.2, 0.6, 0.1, 0.2, 0.3, 0.9, 1.05, 0.11, 0.32, 0.19, 0.22, (0.5,))
SUV = _CarShape(0.26, 0.57, 0.06, 0.05, 0.26, 0.2, 0.75, 0.07, 0.37, 0.18, 0.2, (0.3, 0.62))


@lru_cache(maxsize=2048)  # ~20 kB a mesh
def vehicle_mesh(identity: VehicleIdentity) -> VehicleMesh:
    """The mesh of one identity (cached: identities never change)."""
    builders = {"sedan": _car, "suv": _car, "van": _van, "truck": _truck, "bus": _bus}
    if identity.vtype not in builders:
        raise ValueError(f"unknown vehicle type {identity.vtype!r}; expected one of {sorted(builders)}")
    return builders[identity.vtype](identity)


# ----------------------------------------------------------------------------------------------- models


def _car(ident: VehicleIdentity) -> VehicleMesh:
    s = SUV if ident.vtype == "suv" else SEDAN
    L, W, H = ident.length_m, ident.width_m, ident.height_m
    hl, hw = L / 2, W / 2
    b = MeshBuilder()
    roof = H - (RACK_H if ident.roof_rack else 0.0)
    c, belt = s.clearance, s.shoulder * H
    hood = belt - s.hood_drop
    r = s.wheel_r
    fa, ra = hl - s.front_overhang * L, -hl + s.rear_overhang * L
    under = underbody(b, ra - 0.55 * r, fa + 0.55 * r, hw - 0.12, c + 0.06)
    body = b.part(
        rect(-hl + 0.08, hl - 0.08, -hw + 0.02, hw - 0.02, c),
        rect(-hl, hl, -hw, hw, [belt, hood, hood, belt]),
        ident.body_bgr,
    )

    def deck(x: float) -> float:  # height of the body's top face at x
        return belt + (hood - belt) * (x + hl) / L

    x0, x1 = -hl + s.trunk * L, hl - s.bonnet * L
    rise = roof - belt
    t0, t1 = x0 + s.rear_rake * rise, x1 - s.front_rake * rise
    # The roof runs parallel to the deck (rear corner at full height), so every cabin face is planar.
    top_z = [roof, roof + deck(t1) - deck(t0), roof + deck(t1) - deck(t0), roof]
    cabin = b.part(
        rect(x0, x1, -hw + 0.05, hw - 0.05, [deck(x0), deck(x1), deck(x1), deck(x0)]),
        rect(t0, t1, -hw + s.tumble, hw - s.tumble, top_z),
        ident.body_bgr,
    )
    glass = glass_colour(ident.window_tint)
    # Stripes go first so the wheels and lamps paint over them.
    if ident.stripe == "side":
        side(b, body, -hl + 0.15, hl - 0.15, c + 0.55 * (belt - c), c + 0.68 * (belt - c), ident.stripe_bgr)
    elif ident.stripe == "bonnet":
        for y0, y1 in ((-0.26, -0.1), (0.1, 0.26)):
            pts = b.on_face(body, "top", [(x1, y0), (hl - 0.04, y0), (hl - 0.04, y1), (x1, y1)], 2)
            b.decal(body, "top", pts, ident.stripe_bgr)
    wheels(b, body, [ra, fa], r, ident.wheel_bgr, c)
    b.decal(
        cabin,
        "front",
        b.face_uv(cabin, "front", [(0.05, 0.06), (0.95, 0.06), (0.95, 0.93), (0.05, 0.93)]),
        glass,
        Material.GLASS,
    )
    b.decal(
        cabin,
        "rear",
        b.face_uv(cabin, "rear", [(0.08, 0.12), (0.92, 0.12), (0.92, 0.9), (0.08, 0.9)]),
        glass,
        Material.GLASS,
    )
    for face in ("right", "left"):
        win = [(0.04, 0.12), (0.96, 0.12), (0.95, 0.9), (0.05, 0.9)]
        b.decal(cabin, face, b.face_uv(cabin, face, win), glass, Material.GLASS)
        for u in s.pillars:
            pillar = b.face_uv(
                cabin, face, [(u - 0.025, 0.0), (u + 0.025, 0.0), (u + 0.025, 1.0), (u - 0.025, 1.0)]
            )
            b.decal(cabin, face, pillar, ident.body_bgr)
    if ident.sunroof:
        pts = b.face_uv(cabin, "top", [(0.38, 0.22), (0.7, 0.22), (0.7, 0.78), (0.38, 0.78)])
        b.decal(cabin, "top", pts, glass_colour(max(ident.window_tint, 0.9)), Material.GLASS)
    # Front: a dark fascia carrying the lamps (they must read on white paint), a lower lip, the plate.
    band(b, body, "front", hw - 0.06, hood - 0.21, hood - 0.03, TRIM)
    sym(b, body, "front", hw - 0.42, hw - 0.1, hood - 0.17, hood - 0.06, HEADLAMP, Material.LAMP)
    band(b, body, "front", hw - 0.04, c, c + 0.1, TRIM)
    plate(b, body, "front", c + 0.13, ident)
    # Rear: a dark panel between the tail lights (they must read on red paint).
    band(b, body, "rear", hw - 0.08, belt - 0.2, belt - 0.07, TRIM)
    sym(b, body, "rear", hw - 0.4, hw - 0.06, belt - 0.2, belt - 0.05, TAIL_RED, Material.TAIL)
    band(b, body, "rear", hw - 0.04, c, c + 0.1, TRIM)
    plate(b, body, "rear", c + 0.2, ident)
    for sy in (-1, 1):
        b.light(body, "front", (hl, sy * (hw - 0.26), hood - 0.11), 0)
        b.light(body, "rear", (-hl, sy * (hw - 0.23), belt - 0.12), 1)
    top: OrderNode = cabin
    if ident.roof_rack:
        top = (
            "seq",
            (cabin, rack(b, t0, t1, hw - s.tumble - 0.03, lambda x: roof + deck(x) - deck(t0))),
        )
    order = (
        "seq",
        (under, ("split", _deck_normal(belt, hood, L), _deck_offset(belt, hood, L, hl), body, top)),
    )
    return b.build(order, L, W, H)


def _deck_normal(belt: float, hood: float, L: float) -> tuple[float, float, float]:
    n = np.array([belt - hood, 0.0, L])
    return tuple(n / np.linalg.norm(n))


def _deck_offset(belt: float, hood: float, L: float, hl: float) -> float:
    return float(np.dot(_deck_normal(belt, hood, L), (-hl, 0.0, belt)))


def _van(ident: VehicleIdentity) -> VehicleMesh:
    L, W, H = ident.length_m, ident.width_m, ident.height_m
    hl, hw = L / 2, W / 2
    b = MeshBuilder()
    roof = H - (RACK_H if ident.roof_rack else 0.0)
    c, belt, r = 0.24, 0.47 * H, 0.36
    nose, rake = 0.8, 0.6
    fa, ra = hl - 0.95, -hl + 1.05
    under = underbody(b, ra - 0.55 * r, fa + 0.55 * r, hw - 0.14, c + 0.06)
    lower = b.part(
        rect(-hl + 0.06, hl - 0.06, -hw + 0.02, hw - 0.02, c),
        rect(-hl, hl - 0.1, -hw, hw, belt),
        ident.body_bgr,
    )
    front = hl - nose
    upper = b.part(
        rect(-hl, front, -hw, hw, belt), rect(-hl, front - rake, -hw + 0.06, hw - 0.06, roof), ident.body_bgr
    )
    glass = glass_colour(ident.window_tint)
    if ident.stripe == "side":
        side(b, lower, -hl + 0.15, hl - 0.2, c + 0.5 * (belt - c), c + 0.66 * (belt - c), ident.stripe_bgr)
    elif ident.stripe == "bonnet":
        pts = b.on_face(
            lower, "top", [(front, -0.14), (hl - 0.14, -0.14), (hl - 0.14, 0.14), (front, 0.14)], 2
        )
        b.decal(lower, "top", pts, ident.stripe_bgr)
    wheels(b, lower, [ra, fa], r, ident.wheel_bgr, c)
    b.decal(
        upper,
        "front",
        b.face_uv(upper, "front", [(0.04, 0.05), (0.96, 0.05), (0.95, 0.9), (0.05, 0.9)]),
        glass,
        Material.GLASS,
    )
    z0, z1 = belt + 0.06, roof - 0.14

    def slope_x(z: float) -> float:  # x of the sloped front edge of the upper box at height z
        return front - rake * (z - belt) / (roof - belt) - 0.06

    for face in ("right", "left"):
        win = [(front - 1.1, z0), (slope_x(z0), z0), (slope_x(z1), z1), (front - 1.1, z1)]
        b.decal(upper, face, b.on_face(upper, face, win, 1), glass, Material.GLASS)
    for u0, u1 in ((0.07, 0.46), (0.54, 0.93)):
        pts = b.face_uv(upper, "rear", [(u0, 0.35), (u1, 0.35), (u1, 0.85), (u0, 0.85)])
        b.decal(upper, "rear", pts, glass, Material.GLASS)
    band(b, upper, "rear", 0.015, belt, roof - 0.02, TRIM)  # rear door seam
    band(b, lower, "front", hw - 0.05, belt - 0.24, belt - 0.03, TRIM)
    sym(b, lower, "front", hw - 0.4, hw - 0.08, belt - 0.2, belt - 0.06, HEADLAMP, Material.LAMP)
    band(b, lower, "front", 0.45, belt - 0.3, belt - 0.08, TRIM)
    band(b, lower, "front", hw - 0.04, c, c + 0.12, TRIM)
    plate(b, lower, "front", c + 0.15, ident)
    sym(b, lower, "rear", hw - 0.2, hw - 0.02, c + 0.27, belt - 0.02, TRIM, Material.PAINT)
    sym(b, lower, "rear", hw - 0.17, hw - 0.04, c + 0.3, belt - 0.05, TAIL_RED, Material.TAIL)
    band(b, lower, "rear", hw - 0.04, c, c + 0.12, TRIM)
    plate(b, lower, "rear", c + 0.2, ident)
    for sy in (-1, 1):
        b.light(lower, "front", (hl - 0.1, sy * (hw - 0.24), belt - 0.13), 0)
        b.light(lower, "rear", (-hl, sy * (hw - 0.1), belt - 0.25), 1)
    top: OrderNode = upper
    if ident.roof_rack:
        top = ("seq", (upper, rack(b, -hl + 0.5, front - rake - 0.3, hw - 0.1, lambda x: roof)))
    return b.build(("seq", (under, split_z(belt, lower, top))), L, W, H)


def _truck(ident: VehicleIdentity) -> VehicleMesh:
    L, W, H = ident.length_m, ident.width_m, ident.height_m
    hl, hw = L / 2, W / 2
    b = MeshBuilder()
    c, r, floor = 0.45, 0.5, 1.08
    cab_len, gap, cab_h = 2.0, 0.25, 0.84 * H
    cab_rear = hl - cab_len
    fa, rear_axles = hl - 1.25, [-hl + 1.35, -hl + 2.45]
    front_block = underbody(b, fa - 0.55 * r, fa + 0.55 * r, hw - 0.16, c + 0.1)
    rear_block = underbody(b, rear_axles[0] - 0.55 * r, rear_axles[1] + 0.55 * r, hw - 0.16, 0.62)
    chassis = b.part(
        rect(-hl + 0.3, cab_rear, -hw + 0.35, hw - 0.35, c),
        rect(-hl + 0.3, cab_rear, -hw + 0.35, hw - 0.35, floor),
        CHASSIS,
    )
    cargo = b.part(
        rect(-hl, cab_rear - gap, -hw, hw, floor), rect(-hl, cab_rear - gap, -hw, hw, H), ident.cargo_bgr
    )
    cab = b.part(
        rect(cab_rear, hl, -hw + 0.05, hw - 0.05, c),
        rect(cab_rear, hl - 0.18, -hw + 0.14, hw - 0.14, cab_h),
        ident.body_bgr,
    )
    glass = glass_colour(ident.window_tint)
    if ident.stripe == "side":
        side(b, cargo, -hl + 0.2, cab_rear - gap - 0.2, floor + 0.35, floor + 0.55, ident.stripe_bgr)
    elif ident.stripe == "bonnet":
        band(b, cab, "front", hw - 0.1, c + 1.0, c + 1.12, ident.stripe_bgr)
    wheels(b, cab, [fa], r, ident.wheel_bgr, c)
    wheels(b, cargo, rear_axles, r, ident.wheel_bgr, None)
    b.decal(
        cab,
        "front",
        b.face_uv(cab, "front", [(0.05, 0.56), (0.95, 0.56), (0.95, 0.93), (0.05, 0.93)]),
        glass,
        Material.GLASS,
    )
    for face in ("right", "left"):
        win = [
            (hl - 1.15, 0.6 * cab_h),
            (hl - 0.24, 0.6 * cab_h),
            (hl - 0.3, cab_h - 0.12),
            (hl - 1.15, cab_h - 0.12),
        ]
        b.decal(cab, face, b.on_face(cab, face, win, 1), glass, Material.GLASS)
    band(b, cab, "front", 0.55, c + 0.3, c + 0.95, TRIM)
    sym(b, cab, "front", hw - 0.4, hw - 0.1, c + 0.28, c + 0.45, HEADLAMP, Material.LAMP)
    band(b, cab, "front", hw - 0.06, c, c + 0.22, TRIM)
    plate(b, cab, "front", c + 0.05, ident)
    band(b, cargo, "rear", 0.02, floor, H - 0.05, TRIM)  # door seam
    sym(b, cargo, "rear", hw - 0.38, hw - 0.06, floor + 0.05, floor + 0.2, TAIL_RED, Material.TAIL)
    plate(b, cargo, "rear", floor + 0.06, ident)
    for sy in (-1, 1):
        b.light(cab, "front", (hl, sy * (hw - 0.25), c + 0.36), 0)
        b.light(cargo, "rear", (-hl, sy * (hw - 0.22), floor + 0.12), 1)
    wheels_first: OrderNode = ("row", 0, (fa, sum(rear_axles) / 2), (front_block, rear_block))
    body: OrderNode = ("split", (1.0, 0.0, 0.0), cab_rear, split_z(floor, chassis, cargo), cab)
    return b.build(("seq", (wheels_first, body)), L, W, H)


def _bus(ident: VehicleIdentity) -> VehicleMesh:
    L, W, H = ident.length_m, ident.width_m, ident.height_m
    hl, hw = L / 2, W / 2
    b = MeshBuilder()
    c, r, unit_h = 0.32, 0.5, 0.22
    roof = H - unit_h
    fa, ra = hl - 0.22 * L, -hl + 0.27 * L
    under = underbody(b, ra - 0.55 * r, fa + 0.55 * r, hw - 0.16, c + 0.08)
    body = b.part(
        rect(-hl, hl, -hw, hw, c),
        rect(-hl + 0.06, hl - 0.1, -hw, hw, roof),
        ident.body_bgr,
        {"top": ident.cargo_bgr},
    )
    unit = b.part(rect(-1.4, 0.6, -0.65, 0.65, roof), rect(-1.3, 0.5, -0.6, 0.6, H), ROOF_UNIT)
    glass = glass_colour(ident.window_tint)
    band_lo, band_hi = 1.25, roof - 0.28
    if ident.stripe == "side":
        side(b, body, -hl + 0.2, hl - 0.2, band_lo - 0.3, band_lo - 0.14, ident.stripe_bgr)
    elif ident.stripe == "bonnet":
        band(b, body, "front", hw - 0.05, c + 0.6, c + 0.72, ident.stripe_bgr)
    side(b, body, -hl + 0.45, hl - 0.5, band_lo, band_hi, glass, Material.GLASS)
    n_pillars = int((L - 1.2) / 1.4)
    for k in range(1, n_pillars):
        x = -hl + 0.45 + k * (L - 0.95) / n_pillars
        side(b, body, x - 0.06, x + 0.06, band_lo, band_hi, ident.body_bgr)
    for x0, x1 in ((hl - 1.5, hl - 0.45), (-0.55, 0.55)):  # doors on the kerb (right) side
        pts = b.on_face(body, "right", [(x0, c + 0.08), (x1, c + 0.08), (x1, band_hi), (x0, band_hi)], 1)
        b.decal(body, "right", pts, glass_colour(max(ident.window_tint, 0.6)), Material.GLASS)
        seam = [((x0 + x1) / 2 - 0.02, c + 0.08), ((x0 + x1) / 2 + 0.02, c + 0.08)]
        seam += [((x0 + x1) / 2 + 0.02, band_hi), ((x0 + x1) / 2 - 0.02, band_hi)]
        b.decal(body, "right", b.on_face(body, "right", seam, 1), TRIM)
    wheels(b, body, [ra, fa], r, ident.wheel_bgr, c)
    b.decal(
        body,
        "front",
        b.face_uv(body, "front", [(0.04, 0.36), (0.96, 0.36), (0.96, 0.87), (0.04, 0.87)]),
        glass,
        Material.GLASS,
    )
    b.decal(
        body,
        "front",
        b.face_uv(body, "front", [(0.08, 0.885), (0.92, 0.885), (0.92, 0.97), (0.08, 0.97)]),
        SIGN_BOARD,
    )
    sign = b.face_uv(body, "front", [(0.22, 0.91), (0.78, 0.91), (0.78, 0.945), (0.22, 0.945)])
    b.decal(body, "front", sign, SIGN_TEXT, Material.LAMP)
    sym(b, body, "front", hw - 0.45, hw - 0.07, c + 0.27, c + 0.49, TRIM, Material.PAINT)
    sym(b, body, "front", hw - 0.42, hw - 0.1, c + 0.3, c + 0.46, HEADLAMP, Material.LAMP)
    band(b, body, "front", hw - 0.03, c, c + 0.2, TRIM)
    plate(b, body, "front", c + 0.24, ident)
    b.decal(
        body,
        "rear",
        b.face_uv(body, "rear", [(0.1, 0.64), (0.9, 0.64), (0.9, 0.88), (0.1, 0.88)]),
        glass,
        Material.GLASS,
    )
    sym(b, body, "rear", hw - 0.23, hw - 0.02, c + 0.27, c + 0.78, TRIM, Material.PAINT)
    sym(b, body, "rear", hw - 0.2, hw - 0.05, c + 0.3, c + 0.75, TAIL_RED, Material.TAIL)
    band(b, body, "rear", hw - 0.03, c, c + 0.2, TRIM)
    plate(b, body, "rear", c + 0.3, ident)
    for sy in (-1, 1):
        b.light(body, "front", (hl, sy * (hw - 0.26), c + 0.38), 0)
        b.light(body, "rear", (-hl, sy * (hw - 0.12), c + 0.52), 1)
    return b.build(("seq", (under, split_z(roof, body, unit))), L, W, H)
