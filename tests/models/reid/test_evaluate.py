"""Re-ID ranking metrics: hand-derived CMC / mAP / mINP, the same-camera exclusion, skipped queries."""

import json
from pathlib import Path

import numpy as np
import pytest

from models.reid.data import ReidRecord
from models.reid.evaluate import RankResult, cosine_distance, evaluate_features, evaluate_rank

# One query (id 1, camera 1) against five gallery crops, listed in distance order:
#   g0 id 1 cam 1 d=0.1  -> same identity, same camera: removed
#   g1 id 2 cam 2 d=0.2  -> rank 1, miss
#   g2 id 1 cam 2 d=0.3  -> rank 2, hit
#   g3 id 3 cam 1 d=0.4  -> rank 3, miss
#   g4 id 1 cam 3 d=0.5  -> rank 4, hit
G_IDS = np.array([1, 2, 1, 3, 1])
G_CAMS = np.array([1, 2, 2, 1, 3])
ROW = np.array([0.1, 0.2, 0.3, 0.4, 0.5])


def test_same_camera_same_identity_is_excluded():
    result = evaluate_rank(ROW[None], np.array([1]), G_IDS, np.array([1]), G_CAMS, max_rank=5)
    # First hit at rank 2: CMC = [0, 1, 1, 1, 1].
    # AP = mean precision at the hits = (1/2 + 2/4) / 2 = 0.5.  INP = 2 hits / last hit rank 4 = 0.5.
    np.testing.assert_allclose(result.cmc, [0, 1, 1, 1, 1])
    assert result.mAP == pytest.approx(0.5)
    assert result.mINP == pytest.approx(0.5)
    assert (result.n_queries, result.n_skipped) == (1, 0)
    assert result.rank1 == 0.0 and result.rank5 == 1.0


def test_same_identity_from_another_camera_counts():
    # The same query from camera 4: g0 is now a legal hit at rank 1, ranking = hit, miss, hit, miss, hit.
    # AP = (1/1 + 2/3 + 3/5) / 3 = 34/45.  INP = 3 / 5.
    result = evaluate_rank(ROW[None], np.array([1]), G_IDS, np.array([4]), G_CAMS, max_rank=5)
    np.testing.assert_allclose(result.cmc, [1, 1, 1, 1, 1])
    assert result.mAP == pytest.approx(34 / 45)
    assert result.mINP == pytest.approx(0.6)


def test_query_without_valid_match_is_skipped():
    # q0: as in the first test (AP 0.5, first hit at rank 2).
    # q1: id 2 cam 2; the only id-2 gallery crop (g1) is from camera 2 -> no valid match, skipped.
    # q2: id 3 cam 2; g3 (id 3, camera 1) is nearest -> AP 1, first hit at rank 1.
    distmat = np.array(
        [
            ROW,
            [0.5, 0.1, 0.2, 0.3, 0.4],
            [0.5, 0.4, 0.3, 0.0, 0.1],
        ]
    )
    result = evaluate_rank(distmat, np.array([1, 2, 3]), G_IDS, np.array([1, 2, 2]), G_CAMS, max_rank=3)
    # CMC over the 2 valid queries: rank 1 = (0 + 1) / 2, ranks 2, 3 = 1.  mAP = (0.5 + 1) / 2.
    np.testing.assert_allclose(result.cmc, [0.5, 1, 1])
    assert result.mAP == pytest.approx(0.75)
    assert (result.n_queries, result.n_skipped) == (2, 1)


def test_ties_keep_gallery_order():
    # All distances equal: the stable sort ranks the gallery in its given order.
    # [miss, hit] -> hit at rank 2, AP 1/2;  [hit, miss] -> hit at rank 1, AP 1.
    zeros = np.zeros((1, 2))
    late = evaluate_rank(zeros, np.array([1]), np.array([2, 1]), np.array([1]), np.array([2, 2]), max_rank=2)
    early = evaluate_rank(zeros, np.array([1]), np.array([1, 2]), np.array([1]), np.array([2, 2]), max_rank=2)
    assert late.mAP == pytest.approx(0.5) and late.rank1 == 0.0
    assert early.mAP == pytest.approx(1.0) and early.rank1 == 1.0


def test_cmc_beyond_a_short_gallery_stays_at_one():
    # One legal gallery entry, a hit at rank 1; max_rank 10 asks past the end of the gallery.
    result = evaluate_rank(np.zeros((1, 1)), np.array([7]), np.array([7]), np.array([1]), np.array([2]))
    np.testing.assert_allclose(result.cmc, np.ones(10))
    assert result.rank10 == 1.0


def test_all_queries_skipped_is_an_error():
    with pytest.raises(ValueError, match="no query"):
        evaluate_rank(np.zeros((1, 2)), np.array([1]), np.array([1, 2]), np.array([1]), np.array([1, 3]))


def test_label_lengths_checked():
    with pytest.raises(ValueError, match="g_cams has 2 entries"):
        evaluate_rank(np.zeros((1, 3)), np.array([1]), np.array([1, 2, 3]), np.array([1]), np.array([1, 3]))


def reference_rank(distmat, q_ids, g_ids, q_cams, g_cams, max_rank):
    """fast-reid's per-query loop (with a stable sort), to check the vectorised, chunked implementation."""
    cmcs, aps = [], []
    for i in range(len(distmat)):
        order = np.argsort(distmat[i], kind="stable")
        keep = ~((g_ids[order] == q_ids[i]) & (g_cams[order] == q_cams[i]))
        raw = (g_ids[order] == q_ids[i])[keep].astype(float)
        if not raw.any():
            continue
        cmc = np.minimum(raw.cumsum(), 1)
        cmcs.append(np.pad(cmc, (0, max(0, max_rank - len(cmc))), mode="edge")[:max_rank])
        precision = raw.cumsum() / np.arange(1, len(raw) + 1)
        aps.append((precision * raw).sum() / raw.sum())
    return np.mean(cmcs, axis=0), float(np.mean(aps)), len(distmat) - len(aps)


def test_agrees_with_per_query_reference_across_chunks():
    rng = np.random.default_rng(0)
    n_q, n_g = 600, 120  # more queries than one chunk
    q_ids, g_ids = rng.integers(0, 30, n_q), rng.integers(0, 30, n_g)
    q_cams, g_cams = rng.integers(0, 4, n_q), rng.integers(0, 4, n_g)
    distmat = rng.random((n_q, n_g)).round(2)  # rounding makes ties
    result = evaluate_rank(distmat, q_ids, g_ids, q_cams, g_cams, max_rank=20)
    cmc, m_ap, skipped = reference_rank(distmat, q_ids, g_ids, q_cams, g_cams, 20)
    np.testing.assert_allclose(result.cmc, cmc)
    assert result.mAP == pytest.approx(m_ap)
    assert result.n_skipped == skipped


def test_cosine_distance_by_hand():
    q = np.array([[1.0, 0.0]])
    g = np.array([[3.0, 0.0], [0.0, 2.0], [-1.0, 0.0], [1.0, 1.0]])
    # cosines 1, 0, -1, 1/sqrt(2); the length of a vector does not matter.
    np.testing.assert_allclose(cosine_distance(q, g), [[0.0, 1.0, 2.0, 1 - 1 / np.sqrt(2)]], atol=1e-12)
    assert cosine_distance(q.astype(np.float32), g.astype(np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match=r"\(Q, D\)"):
        cosine_distance(q, np.zeros((2, 3)))


def record(vehicle_id: int, camera_id: int, frame: int) -> ReidRecord:
    return ReidRecord(
        Path(f"{vehicle_id:04d}_c{camera_id:03d}_{frame:06d}.jpg"), vehicle_id, camera_id, frame
    )


def test_evaluate_features_from_records():
    # Query: vehicle 1 in camera 1, feature pointing along x.
    # Gallery: vehicle 2 (camera 2) at 30 degrees, vehicle 1 (camera 2) at 60 degrees, vehicle 1 (camera 1,
    # excluded) identical to the query. Ranking after exclusion: miss, hit -> AP 1/2, rank-1 0.
    angles = np.deg2rad([30, 60, 0])
    gallery = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    result = evaluate_features(
        np.array([[1.0, 0.0]]),
        gallery,
        [record(1, 1, 10)],
        [record(2, 2, 5), record(1, 2, 7), record(1, 1, 3)],
    )
    assert result.mAP == pytest.approx(0.5)
    assert result.rank1 == 0.0 and result.rank5 == 1.0
    with pytest.raises(ValueError, match="features and records disagree"):
        evaluate_features(np.zeros((2, 2)), gallery, [record(1, 1, 10)], [record(2, 2, 5)] * 3)


def test_as_dict_is_json():
    result = RankResult(cmc=np.array([0.5, 1.0, 1.0]), mAP=0.75, mINP=0.5, n_queries=2, n_skipped=1)
    data = json.loads(json.dumps(result.as_dict()))
    assert data == {
        "mAP": 0.75,
        "mINP": 0.5,
        "rank1": 0.5,
        "cmc": [0.5, 1.0, 1.0],
        "n_queries": 2,
        "n_skipped": 1,
    }
    with pytest.raises(ValueError, match="max_rank >= 5"):
        _ = result.rank5
