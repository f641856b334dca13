"""DBSCAN pseudo-labels over cosine and k-reciprocal Jaccard distances."""

from __future__ import annotations

import numpy as np
import pytest

from models.reid.config import ClusterConfig
from models.reid.pseudo_labels import camera_centred, cluster_features, cosine_distances, jaccard_distances


def _blobs(n_per: int, centres: int, noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(centres, 16))
    feats = np.concatenate([m + noise * rng.normal(size=(n_per, 16)) for m in means])
    return feats, np.repeat(np.arange(centres), n_per)


def test_cosine_distances_hand_values():
    f = np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]])
    assert np.allclose(cosine_distances(f), [[0, 1, 2], [1, 0, 1], [2, 1, 0]])


def test_jaccard_is_zero_within_tight_groups_and_one_across():
    feats, labels = _blobs(6, 4, 0.05)
    dist = jaccard_distances(feats, k1=5, k2=2)
    assert dist.shape == (24, 24)
    assert np.allclose(np.diag(dist), 0)
    same = labels[:, None] == labels[None, :]
    assert dist[same].max() < 0.5 and dist[~same].min() > 0.95


# Jaccard without query expansion (k2 = 1): expansion averages a lone point's neighbourhood with its nearest
# group's and so, by design, pulls it into that group.
@pytest.mark.parametrize("distance,eps", [("jaccard", 0.6), ("cosine", 0.2)])
def test_clusters_recover_planted_groups_with_an_outlier(distance: str, eps: float):
    feats, labels = _blobs(8, 5, 0.05)
    outlier = np.random.default_rng(9).normal(size=(1, 16)) * 3
    cfg = ClusterConfig(distance=distance, eps=eps, min_samples=4, k1=8, k2=1, camera_centre=False)
    result = cluster_features(np.concatenate([feats, outlier]), cfg)
    assert result.n_clusters == 5
    assert result.labels[-1] == -1 and result.n_outliers == 1
    # Same planted group <-> same cluster (a perfect partition up to renaming).
    got = result.labels[:-1]
    assert len({(a, b) for a, b in zip(labels, got, strict=True)}) == 5


def _dense_reference(features: np.ndarray, k1: int, k2: int) -> np.ndarray:
    """Zhong et al.'s k-reciprocal Jaccard distance written out densely, line by line (the slow form)."""
    n = len(features)
    dist = cosine_distances(features)
    rank = np.argsort(dist, axis=1, kind="stable")[:, : k1 + 1]

    def recip(i: int, k: int) -> np.ndarray:
        fwd = rank[i, : k + 1]
        return fwd[np.any(rank[fwd, : k + 1] == i, axis=1)]

    v = np.zeros((n, n))
    for i in range(n):
        r = recip(i, k1)
        exp = r
        for c in r:
            cr = recip(int(c), round(k1 / 2))
            if len(np.intersect1d(cr, r)) > 2 / 3 * len(cr):
                exp = np.append(exp, cr)
        exp = np.unique(exp)
        w = np.exp(-dist[i, exp])
        v[i, exp] = w / w.sum()
    if k2 > 1:
        v = v[rank[:, :k2]].mean(axis=1)
    out = np.zeros((n, n))
    for i in range(n):
        mins = np.minimum(v[i][None, :], v).sum(axis=1)
        out[i] = 1 - mins / (2 - mins)
    np.fill_diagonal(out, 0)
    return out


def test_sparse_jaccard_equals_the_dense_reference_and_clusters_alike():
    feats, _ = _blobs(7, 6, 0.4, seed=4)
    ref = _dense_reference(feats, k1=6, k2=3)
    assert np.allclose(jaccard_distances(feats, 6, 3), ref, atol=1e-5)
    from sklearn.cluster import DBSCAN

    dense_labels = DBSCAN(eps=0.6, min_samples=3, metric="precomputed").fit_predict(ref)
    ours = cluster_features(
        feats, ClusterConfig(distance="jaccard", eps=0.6, min_samples=3, k1=6, k2=3, camera_centre=False)
    )
    assert np.array_equal(ours.labels, dense_labels)


def test_camera_centring_hand_values():
    # Camera 0 holds (1, 1) and (1, -1): mean (1, 0) after normalising; camera 1 a lone row, which is its mean.
    f = np.array([[1.0, 1.0], [1.0, -1.0], [0.0, 5.0]])
    out = camera_centred(f, np.array([0, 0, 1]))
    assert np.allclose(out, [[0, 1], [0, -1], [0, 0]], atol=1e-6)
    with pytest.raises(ValueError, match="3 features but 2 camera ids"):
        camera_centred(f, np.array([0, 1]))


def test_camera_aware_clusters_span_cameras_that_a_shared_offset_keeps_apart():
    # Four vehicles seen by two cameras; each camera adds one large offset to all its crops (colour cast,
    # viewpoint). Plain clustering groups by camera; centring each camera recovers the vehicles.
    rng = np.random.default_rng(3)
    vehicles = rng.normal(size=(4, 16))
    offsets = 4.0 * rng.normal(size=(2, 16))
    feats, ids, cams = [], [], []
    for cam in (0, 1):
        for v in range(4):
            feats.append(vehicles[v] + offsets[cam] + 0.05 * rng.normal(size=(5, 16)))
            ids += [v] * 5
            cams += [cam] * 5
    feats, ids, cams = np.concatenate(feats), np.array(ids), np.array(cams)
    plain = ClusterConfig(distance="cosine", eps=0.15, min_samples=3, k1=8, k2=1, camera_centre=False)
    aware = plain.model_copy(update={"camera_centre": True})

    def spans_cameras(labels: np.ndarray) -> int:
        return sum(len(set(cams[labels == c])) == 2 for c in set(labels) - {-1})

    assert spans_cameras(cluster_features(feats, plain, cams).labels) == 0
    got = cluster_features(feats, aware, cams).labels
    assert spans_cameras(got) == 4
    assert len({(a, b) for a, b in zip(ids, got, strict=True)}) == 4  # one cluster per vehicle
    # Without camera ids the setting has nothing to act on.
    assert np.array_equal(cluster_features(feats, aware).labels, cluster_features(feats, plain).labels)
