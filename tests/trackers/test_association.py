"""Online association over hand-built tracklets: right global ids, the time and position gates, learning the
topology through the associator, and snapshot/restore."""

from __future__ import annotations

import numpy as np
import pytest

from trackers.association import AssociationConfig, Associator
from trackers.gallery import GalleryConfig


def associator(**changes) -> Associator:
    cfg = AssociationConfig.from_yaml(camera_centre=False, **changes)
    return Associator(8, cfg)


def add_all(assoc: Associator, tracklets) -> dict[tuple[str, int], int]:
    # online order: a tracklet reaches the associator when its track ends
    for t in sorted(tracklets, key=lambda t: t.t_end):
        assoc.add(t)
    return {t.key: assoc.gid_of[t.key] for t in tracklets}


def test_three_cameras_three_vehicles_get_the_right_ids(make_tracklet, unit_vector):
    red, blue, white = unit_vector(1, 0.1), unit_vector(0.1, 1), unit_vector(0, 0.1, 1)
    # Each vehicle drives east at 10 m/s: cam01 sees x in [0, 40], cam02 x in [200, 240], cam03 x in [400, 440].
    tracklets = []
    for n, (emb, t0) in enumerate([(red, 0.0), (blue, 6.0), (white, 12.0)]):
        for cam, x0 in (("cam01", 0.0), ("cam02", 200.0), ("cam03", 400.0)):
            start = t0 + x0 / 10.0
            # each camera's view of a vehicle differs a little
            noisy = emb + np.random.default_rng([n, int(x0)]).normal(0, 0.05, 8).astype(np.float32)
            tracklets.append(
                make_tracklet(cam, n + 1, start, start + 4.0, noisy / np.linalg.norm(noisy), (x0, 0))
            )
    ids = add_all(assoc := associator(), tracklets)
    by_vehicle = [{ids[(cam, n)] for cam in ("cam01", "cam02", "cam03")} for n in (1, 2, 3)]
    assert all(len(s) == 1 for s in by_vehicle)  # one id per vehicle across the three cameras
    assert len(set.union(*by_vehicle)) == 3  # and three different vehicles
    identities = assoc.identities()
    assert [i.cameras for i in identities] == [("cam01", "cam02", "cam03")] * 3
    assert identities[0].first_seen == 0.0 and identities[0].last_seen == pytest.approx(44.0)


def test_time_gate_keeps_two_simultaneous_vehicles_apart(make_tracklet, unit_vector):
    twin = unit_vector(1, 1)
    # Identical looks, same time, two cameras far apart: two vehicles, whatever the embedder says.
    a = make_tracklet("cam01", 1, 0.0, 5.0, twin, (0, 0))
    b = make_tracklet("cam03", 1, 1.0, 6.0, twin, (400, 0))
    ids = add_all(associator(), [a, b])
    assert ids[a.key] != ids[b.key]
    # Without ground positions the time gate alone does it: the pair is not known to overlap.
    a2 = make_tracklet("cam01", 2, 0.0, 5.0, twin)
    b2 = make_tracklet("cam03", 2, 1.0, 6.0, twin)
    ids = add_all(associator(), [a2, b2])
    assert ids[a2.key] != ids[b2.key]
    # One camera never sees one vehicle twice at the same time.
    c1 = make_tracklet("cam01", 3, 0.0, 5.0, twin, (0, 0))
    c2 = make_tracklet("cam01", 4, 0.0, 5.0, twin, (0, 3.5))
    ids = add_all(associator(), [c1, c2])
    assert ids[c1.key] != ids[c2.key]


def test_overlapping_views_match_by_ground_position(make_tracklet, unit_vector):
    # Two cameras see a crossing from opposite sides: the same vehicle looks different (front vs back),
    # its ground position is the same. A second vehicle 10 m behind looks like the first's front.
    front, back = unit_vector(1, 0), unit_vector(0, 1)
    lead_cam1 = make_tracklet("cam01", 1, 0.0, 4.0, front, (0, 0))
    follow_cam1 = make_tracklet("cam01", 2, 0.0, 4.0, back, (-10, 0))
    lead_cam2 = make_tracklet("cam02", 1, 0.5, 4.5, back, (5.3, 0.4))
    ids = add_all(associator(), [lead_cam1, follow_cam1, lead_cam2])
    assert ids[lead_cam2.key] == ids[lead_cam1.key] != ids[follow_cam1.key]


def test_track_broken_by_an_occlusion_is_carried_on(make_tracklet, unit_vector):
    before = make_tracklet("cam01", 1, 0.0, 3.0, unit_vector(1, 0), (0, 0))
    # 1 s hidden behind a bus; the tracker starts a new track 10 m on, and it looks different now
    after = make_tracklet("cam01", 7, 4.0, 7.0, unit_vector(0, 1), (40, 0))
    elsewhere = make_tracklet("cam01", 8, 4.0, 7.0, unit_vector(0, 1), (40, 20))
    ids = add_all(associator(), [before, after, elsewhere])
    assert ids[after.key] == ids[before.key] != ids[elsewhere.key]


def test_wrong_direction_and_impossible_speed_are_ruled_out(make_tracklet, unit_vector):
    look = unit_vector(1, 1)
    left_east = make_tracklet("cam01", 1, 0.0, 4.0, look, (0, 0), velocity=(10, 0))
    # arrives 200 m east 16 s later, but driving west: it came from the other side
    westbound = make_tracklet("cam02", 1, 20.0, 24.0, look, (200, 0), velocity=(-10, 0))
    # arrives 1000 m east 2 s later: 500 m/s
    too_fast = make_tracklet("cam03", 1, 6.0, 9.0, look, (1000, 0), velocity=(10, 0))
    ids = add_all(associator(), [left_east, westbound, too_fast])
    assert len({ids[left_east.key], ids[westbound.key], ids[too_fast.key]}) == 3


def test_dissimilar_tracklets_start_new_identities(make_tracklet, unit_vector):
    a = make_tracklet("cam01", 1, 0.0, 4.0, unit_vector(1, 0))
    b = make_tracklet("cam02", 1, 10.0, 14.0, unit_vector(0, 1))
    ids = add_all(associator(), [a, b])
    assert ids[a.key] != ids[b.key]


def test_later_emission_of_a_track_keeps_its_identity(make_tracklet, unit_vector):
    assoc = associator()
    early = make_tracklet("cam01", 5, 0.0, 2.0, unit_vector(1, 0), (0, 0))
    gid = assoc.add(early)
    later = make_tracklet("cam01", 5, 0.0, 6.0, unit_vector(1, 0.2), (0, 0))
    assert assoc.add(later) == gid
    assert assoc.tracklets[later.key] is later and len(assoc.members[gid]) == 1
    assert assoc.gallery.last_seen(gid) == pytest.approx(6.0)


def test_confident_matches_teach_the_topology(make_tracklet, unit_vector):
    assoc = associator()
    for n in range(6):
        look = unit_vector(1, n, n * n + 1)
        t0 = 30.0 * n
        assoc.add(make_tracklet("cam01", n, t0, t0 + 3.0, look, (0, 0)))
        assoc.add(make_tracklet("cam02", n, t0 + 23.0, t0 + 26.0, look, (230, 0)))
    learned = assoc.topology.learned_pairs()[("cam01", "cam02")]
    assert learned["samples"] == 6 and learned["median_s"] == pytest.approx(20.0, abs=0.01)
    lo, hi = learned["window_s"]
    assert lo <= 20.0 <= hi and hi < assoc.config.topology.prior_max_transit_s


def test_camera_centring_removes_a_colour_cast(make_tracklet):
    # cam02 adds the same cast to every embedding; after centring, vehicle k matches vehicle k.
    rng = np.random.default_rng(1)
    looks = rng.normal(size=(10, 8)).astype(np.float32)
    cast = 3.0 * np.ones(8, dtype=np.float32)
    assoc = Associator(8, AssociationConfig.from_yaml(camera_centre=True, camera_centre_min_tracklets=3))
    for k, look in enumerate(looks):
        t0 = 40.0 * k
        e1 = look / np.linalg.norm(look)
        e2 = (look + cast) / np.linalg.norm(look + cast)
        assoc.add(make_tracklet("cam01", k, t0, t0 + 3.0, e1))
        assoc.add(make_tracklet("cam02", k, t0 + 10.0, t0 + 13.0, e2))
    matched = sum(assoc.gid_of[("cam01", k)] == assoc.gid_of[("cam02", k)] for k in range(3, 10))
    assert matched == 7


def test_snapshot_and_restore_round_trip_exactly(tmp_path, make_tracklet, unit_vector):
    assoc = associator()
    for n in range(4):
        assoc.add(make_tracklet("cam01", n, 10.0 * n, 10.0 * n + 3, unit_vector(1, n), (0, 0)))
        assoc.add(make_tracklet("cam02", n, 10.0 * n + 5, 10.0 * n + 8, unit_vector(1, n), (50, 0)))
    assoc.snapshot(tmp_path / "state")
    back = Associator.restore(tmp_path / "state", assoc.config)
    assert back.gid_of == assoc.gid_of and back.members == assoc.members
    assert back.topology.samples() == assoc.topology.samples()
    for key, t in assoc.tracklets.items():
        r = back.tracklets[key]
        for name in ("embedding", "frames", "timestamps", "xyxy", "world_xy"):
            np.testing.assert_array_equal(getattr(r, name), getattr(t, name))
    for gid in assoc.members:
        np.testing.assert_array_equal(back.gallery.prototype(gid), assoc.gallery.prototype(gid))
    # the restored associator carries on exactly like the original
    nxt = make_tracklet("cam01", 99, 100.0, 103.0, unit_vector(0, 0, 1), (0, 0))
    assert back.add(nxt) == assoc.add(nxt)


def test_restore_of_a_non_snapshot_names_the_folder(tmp_path):
    with pytest.raises(ValueError, match="not an association snapshot"):
        Associator.restore(tmp_path)


def test_embedding_of_the_wrong_size_is_rejected(make_tracklet, unit_vector):
    assoc = Associator(4, AssociationConfig.from_yaml(), GalleryConfig.from_yaml())
    with pytest.raises(ValueError, match="8 dims, the gallery 4"):
        assoc.add(make_tracklet("cam01", 1, 0.0, 1.0, unit_vector(1)))


def test_a_clear_winner_joins_below_the_main_threshold(make_tracklet, unit_vector):
    # cos(a, b) = 0.45: below similarity_threshold 0.6, above similarity_floor 0.25, and no rival candidate
    a = make_tracklet("cam01", 1, 0.0, 4.0, unit_vector(1, 0, 0))
    b = make_tracklet("cam02", 1, 20.0, 24.0, unit_vector(0.45, np.sqrt(1 - 0.45**2), 0))
    lenient = associator(similarity_threshold=0.6, similarity_floor=0.25, clear_margin=0.15)
    assert len(set(add_all(lenient, [a, b]).values())) == 1
    # a rival about as similar (0.42) makes the winner unclear: a new identity instead
    rival = make_tracklet("cam03", 1, 5.0, 9.0, unit_vector(0, 0.47, np.sqrt(1 - 0.47**2)))
    ids = add_all(
        associator(similarity_threshold=0.6, similarity_floor=0.25, clear_margin=0.15), [a, rival, b]
    )
    assert ids[b.key] not in (ids[a.key], ids[rival.key])


def test_expire_forgets_old_identities_entirely(make_tracklet, unit_vector):
    assoc = Associator(
        8, AssociationConfig.from_yaml(camera_centre=False), GalleryConfig.from_yaml(max_age_s=60)
    )
    old = make_tracklet("cam01", 1, 0.0, 3.0, unit_vector(1, 0))
    recent = make_tracklet("cam01", 2, 100.0, 103.0, unit_vector(0, 1))
    assoc.add(old)
    assoc.add(recent)
    gone = assoc.expire(now=110.0)
    assert [i.members for i in gone] == [(old.key,)]
    assert old.key not in assoc.tracklets and old.key not in assoc.gid_of
    assert [i.members for i in assoc.identities()] == [(recent.key,)]
    # the same look later starts a new identity: the old one is gone
    again = make_tracklet("cam02", 1, 120.0, 123.0, unit_vector(1, 0))
    assert assoc.add(again) not in (gone[0].global_id, assoc.gid_of[recent.key])
