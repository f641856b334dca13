"""Offline refinement: merges what online association split, never what is physically impossible."""

from __future__ import annotations

from trackers.association import AssociationConfig, Associator, RefineConfig
from trackers.refine import refine_identities


def test_refinement_merges_split_identities_but_not_impossible_ones(make_tracklet, unit_vector):
    assoc = Associator(
        8, AssociationConfig.from_yaml(camera_centre=False, similarity_threshold=0.99, clear_margin=2.0)
    )
    look = unit_vector(1, 0.3)
    seen = [
        make_tracklet("cam01", 1, 0.0, 4.0, look, (0, 0)),
        make_tracklet("cam02", 1, 20.0, 24.0, unit_vector(1, 0.6), (200, 0)),  # cos 0.97 < 0.99: split online
        make_tracklet("cam03", 1, 40.0, 44.0, unit_vector(1, 0.0), (400, 0)),
        # looks much like the first (cos 0.90), but cam01 sees both at once: a different vehicle
        make_tracklet("cam01", 2, 1.0, 3.0, unit_vector(1, 0.3, -0.5), (0, 10)),
    ]
    for t in seen:
        assoc.add(t)
    assert len(set(assoc.gid_of.values())) == 4
    refined = refine_identities(assoc, RefineConfig(similarity_threshold=0.8, weight_cap=30))
    assert refined[("cam01", 1)] == refined[("cam02", 1)] == refined[("cam03", 1)]
    assert refined[("cam01", 2)] != refined[("cam01", 1)]
    assert refined[("cam01", 1)] == assoc.gid_of[("cam01", 1)]  # a merged identity keeps its oldest id
    # a threshold above every similarity changes nothing
    assert refine_identities(assoc, RefineConfig(similarity_threshold=0.999, weight_cap=30)) == assoc.gid_of
