"""Tracklet builder: quality filter, aggregation, emission at the end and at intervals, ground positions."""

from __future__ import annotations

import numpy as np
import pytest

from trackers.calibration import GroundPlane
from trackers.tracklets import TrackletBuilder, TrackletConfig, covered_fraction, good_observations
from trackers.types import Detections, Tracks

SIZE = (640, 360)


def config(**changes) -> TrackletConfig:
    return TrackletConfig.from_yaml(**changes)


def frame(index: int, boxes, embeddings, track_ids, confidence=None):
    n = len(boxes)
    conf = np.ones(n) if confidence is None else np.asarray(confidence)
    dets = Detections("cam01", index, np.asarray(boxes, float).reshape(n, 4), conf, np.zeros(n, int))
    emb = np.asarray(embeddings, np.float32)
    dets = dets.with_embeddings(emb.reshape(n, emb.shape[-1]))
    tracks = Tracks(
        "cam01", index, np.asarray(track_ids), np.asarray(boxes, float).reshape(n, 4), np.arange(n)
    )
    return dets, tracks


def test_covered_fraction_is_hand_computed():
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [100, 100, 110, 120]], float)
    np.testing.assert_allclose(covered_fraction(boxes), [0.5, 0.5, 0.0])


def test_quality_filter_drops_small_cut_and_covered_boxes():
    cfg = config(min_box_height_px=20, min_box_width_px=20, border_margin_px=3, max_covered_fraction=0.3)
    boxes = np.array(
        [
            [100, 100, 160, 150],  # good
            [300, 100, 310, 110],  # tiny
            [0, 200, 60, 250],  # touches the left border
            [400, 100, 460, 150],  # half covered by the next box...
            [430, 100, 490, 150],  # ...and it by this one
        ],
        float,
    )
    np.testing.assert_array_equal(good_observations(boxes, SIZE, cfg), [True, False, False, False, False])


def test_embedding_is_the_confidence_weighted_mean_of_good_observations_only():
    builder = TrackletBuilder("cam01", SIZE, config(end_after_s=1.0, emit_every_s=0, min_observations=1))
    good_box, tiny_box = [100, 100, 160, 150], [100, 100, 105, 104]
    builder.update(0.0, *frame(1, [good_box], [[1, 0, 0]], [7], confidence=[0.9]))
    builder.update(
        0.1, *frame(2, [good_box], [[0, 2, 0]], [7], confidence=[0.3])
    )  # normalised before weighting
    builder.update(0.2, *frame(3, [tiny_box], [[0, 0, 1]], [7]))  # too small: not in the embedding
    out = builder.update(1.5, *frame(16, np.zeros((0, 4)), np.zeros((0, 3)), []))
    assert len(out) == 1
    t = out[0]
    expected = np.array([0.9, 0.3, 0.0]) / np.hypot(0.9, 0.3)
    np.testing.assert_allclose(t.embedding, expected, atol=1e-6)
    assert t.n_obs == 2 and len(t) == 3 and t.final
    np.testing.assert_array_equal(t.frames, [1, 2, 3])
    assert (t.t_start, t.t_end) == (0.0, 0.2)


def test_a_track_never_seen_well_falls_back_to_every_observation():
    builder = TrackletBuilder("cam01", SIZE, config(min_observations=1))
    builder.update(0.0, *frame(1, [[0, 0, 50, 40]], [[1, 0]], [3]))  # cut by the border
    builder.update(0.1, *frame(2, [[0, 0, 50, 40]], [[0, 1]], [3]))
    (t,) = builder.flush()
    np.testing.assert_allclose(t.embedding, np.array([1, 1]) / np.sqrt(2), atol=1e-6)
    assert t.n_obs == 2


def test_emission_at_end_at_intervals_and_at_flush():
    builder = TrackletBuilder("cam01", SIZE, config(end_after_s=1.0, emit_every_s=2.0, min_observations=3))
    box = [100, 100, 160, 150]
    emitted = []
    for i in range(31):  # track 1 lives 0.0 .. 3.0 s; track 2 appears for two frames only
        ids, boxes = [1], [box]
        if i in (5, 6):
            ids, boxes = [1, 2], [box, [300, 100, 360, 150]]
        emitted += builder.update(i / 10, *frame(i + 1, boxes, np.eye(2)[: len(ids)], ids))
    interim = [t for t in emitted if not t.final]
    assert [(t.local_track_id, t.t_end) for t in interim] == [(1, 2.0)]
    # track 2 was last seen at 0.6 s: over end_after_s ago, ended, and too short to be emitted
    assert builder.live_track_ids == [1]
    assert all(t.local_track_id == 1 for t in emitted)
    ended = builder.update(4.0, *frame(41, np.zeros((0, 4)), np.zeros((0, 2)), []))
    assert [(t.local_track_id, t.final, t.t_end) for t in ended] == [(1, True, 3.0)]
    assert builder.flush() == [] and builder.live_track_ids == []


def test_ground_positions_through_the_homography():
    # a homography that maps pixel (u, v) to ground (u / 10, v / 10) m, camera at the origin
    plane = GroundPlane(np.diag([0.1, 0.1, 1.0]), camera_xy=np.zeros(2))
    builder = TrackletBuilder("cam01", SIZE, config(foot_offset_m=0.0, min_observations=1), plane)
    builder.update(0.0, *frame(1, [[100, 100, 160, 150]], [[1, 0]], [1]))
    (t,) = builder.flush()
    np.testing.assert_allclose(t.world_xy, [[13.0, 15.0]])  # bottom centre (130, 150) px


def test_missing_embeddings_are_an_error():
    builder = TrackletBuilder("cam01", SIZE, config())
    dets = Detections("cam01", 1, np.array([[1.0, 1, 5, 5]]), np.ones(1), np.zeros(1, int))
    tracks = Tracks("cam01", 1, np.array([1]), np.array([[1.0, 1, 5, 5]]), np.array([0]))
    with pytest.raises(ValueError, match="needs detections with embeddings"):
        builder.update(0.0, dets, tracks)
