"""Vehicle meshes: dimensions, closed outward-facing parts, decals on their faces, draw order, details."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from synth.config import VEHICLE_TYPES
from synth.mesh_builder import Material, part_order
from synth.meshes import vehicle_mesh
from synth.types import VehicleIdentity
from synth.vehicle_parts import GLYPH_MIN_PX
from synth.vehicles import typical_identity


def identity(vtype: str, **changes) -> VehicleIdentity:
    return typical_identity(1, vtype, **changes)


ALL_TYPES = list(VEHICLE_TYPES)


@pytest.mark.parametrize("vtype", ALL_TYPES)
@pytest.mark.parametrize("rack", [False, True])
def test_mesh_fills_its_identity_box(vtype: str, rack: bool) -> None:
    ident = identity(vtype, roof_rack=rack)
    mesh = vehicle_mesh(ident)
    lo, hi = mesh.vertices.min(axis=0), mesh.vertices.max(axis=0)
    half = np.array([ident.length_m / 2, ident.width_m / 2])
    assert np.all(hi[:2] <= half + 1e-9) and np.all(lo[:2] >= -half - 1e-9)
    assert lo[2] >= -1e-9 and hi[2] <= ident.height_m + 1e-9
    # ...and really spans it: the mesh is as long, wide and tall as the identity says.
    assert hi[0] - lo[0] > 0.97 * ident.length_m
    assert hi[1] - lo[1] > 0.97 * ident.width_m
    assert hi[2] == pytest.approx(ident.height_m, abs=0.02)  # a roof rack may sit a little below the top


@pytest.mark.parametrize("vtype", ALL_TYPES)
def test_solid_faces_point_out_of_their_part_and_decals_lie_on_their_face(vtype: str) -> None:
    mesh = vehicle_mesh(identity(vtype, stripe="side", sunroof=vtype in ("sedan", "suv")))
    solid = mesh.parent < 0
    for f in np.flatnonzero(solid):
        part_faces = np.flatnonzero(solid & (mesh.part == mesh.part[f]))
        part_centre = mesh.centroids[part_faces].mean(axis=0)
        assert np.dot(mesh.normals[f], mesh.centroids[f] - part_centre) > 0
    for d in np.flatnonzero(~solid):
        parent = mesh.parent[d]
        assert mesh.parent[parent] == -1
        pts = mesh.vertices[mesh.polygons[d, : mesh.n_vertices[d]]]
        anchor = mesh.vertices[mesh.polygons[parent, 0]]
        assert np.abs((pts - anchor) @ mesh.normals[parent]).max() < 1e-6


@pytest.mark.parametrize("vtype", ALL_TYPES)
def test_draw_sequence_holds_every_polygon_once_with_decals_after_their_face(vtype: str) -> None:
    mesh = vehicle_mesh(identity(vtype, roof_rack=vtype in ("sedan", "van")))
    for cam in ([30.0, -20.0, 9.0], [-25.0, 5.0, 10.0], [0.0, 40.0, 8.0], [3.0, 0.0, 12.0]):
        seq = mesh.draw_sequence(np.array(cam))
        assert sorted(seq.tolist()) == list(range(len(mesh.polygons)))
        current_face = -1
        for p in seq:
            if mesh.parent[p] < 0:
                current_face = p
            else:
                assert mesh.parent[p] == current_face


def test_order_puts_the_part_nearer_the_camera_last() -> None:
    node = ("split", (1.0, 0.0, 0.0), 1.0, 0, 1)  # part 0 at x < 1, part 1 at x > 1
    assert part_order(node, np.array([5.0, 0.0, 0.0])) == [0, 1]
    assert part_order(node, np.array([-5.0, 0.0, 0.0])) == [1, 0]
    row = ("row", 0, (-2.0, 0.0, 2.0), (0, 1, 2))
    assert part_order(row, np.array([10.0, 0.0, 0.0])) == [0, 1, 2]
    assert part_order(row, np.array([0.5, 0.0, 0.0]))[-1] == 1


def test_types_have_their_own_shapes() -> None:
    def top_at(mesh, x0: float, x1: float) -> float:
        """Highest solid vertex with x in [x0, x1]."""
        solid_v = np.unique(mesh.polygons[mesh.parent < 0])
        v = mesh.vertices[solid_v]
        sel = (v[:, 0] >= x0) & (v[:, 0] <= x1)
        return float(v[sel, 2].max()) if sel.any() else 0.0

    sedan, van, truck = (vehicle_mesh(identity(t)) for t in ("sedan", "van", "truck"))
    # A sedan's bonnet is low; a van's nose is short and its box starts right behind it.
    assert top_at(sedan, 1.8, 2.3) < 0.65 * sedan.height_m
    assert top_at(van, 1.0, 1.9) > 0.95 * van.height_m
    # A truck has a gap between cab and cargo box where nothing stands above the chassis.
    polys = truck.polygons[truck.parent < 0]
    tall = [p for p in polys if truck.vertices[p, 2].min() > 1.2]
    xs = np.concatenate([truck.vertices[p, 0] for p in tall])
    cab_rear = truck.length_m / 2 - 2.0
    assert not np.any((xs > cab_rear - 0.2) & (xs < cab_rear - 0.05))
    colours = {tuple(c) for c in truck.colours.astype(int).tolist()}
    assert (235, 235, 235) in colours and (35, 35, 175) in colours  # cargo box and cab
    bus = vehicle_mesh(identity("bus"))
    side_glass = (bus.material == Material.GLASS) & (np.abs(bus.normals[:, 1]) > 0.9)
    assert side_glass.sum() >= 2


def test_details_change_the_mesh() -> None:
    plain = vehicle_mesh(identity("sedan"))
    for change in ({"roof_rack": True}, {"stripe": "side"}, {"stripe": "bonnet"}, {"sunroof": True}):
        assert len(vehicle_mesh(identity("sedan", **change)).polygons) > len(plain.polygons), change
    dark = vehicle_mesh(identity("sedan", window_tint=0.95))
    glass = plain.material == Material.GLASS
    assert dark.colours[glass].mean() < plain.colours[glass].mean()
    yellow = vehicle_mesh(identity("sedan", plate_bgr=(40, 200, 245)))
    assert (yellow.colours == (40, 200, 245)).all(axis=1).sum() == 2  # front and rear plates


def test_plate_glyphs_follow_the_plate_code_and_need_resolution() -> None:
    a, b = vehicle_mesh(identity("suv", plate_code=1)), vehicle_mesh(identity("suv", plate_code=2**20 + 77))
    glyphs_a, glyphs_b = a.min_px == GLYPH_MIN_PX, b.min_px == GLYPH_MIN_PX
    assert glyphs_a.sum() == glyphs_b.sum() > 0
    pa = a.vertices[a.polygons[glyphs_a]]
    pb = b.vertices[b.polygons[glyphs_b]]
    assert not np.allclose(pa, pb)


def test_meshes_are_cached_per_identity_and_unknown_types_rejected() -> None:
    ident = identity("van")
    assert vehicle_mesh(ident) is vehicle_mesh(identity("van"))
    with pytest.raises(ValueError, match="unknown vehicle type"):
        vehicle_mesh(replace(identity("sedan"), vtype="tank"))


@pytest.mark.parametrize("vtype", ALL_TYPES)
def test_lights_sit_on_front_and_rear(vtype: str) -> None:
    mesh = vehicle_mesh(identity(vtype))
    heads, tails = mesh.lights[mesh.light_kind == 0], mesh.lights[mesh.light_kind == 1]
    assert len(heads) == len(tails) == 2
    assert heads[:, 0].min() > 0.4 * mesh.length_m and tails[:, 0].max() < -0.4 * mesh.length_m
    assert np.all(mesh.normals[mesh.light_owner[mesh.light_kind == 0], 0] > 0.9)
