"""DBSCAN pseudo-labels over cosine and k-reciprocal Jaccard distances."""

from __future__ import annotations

import numpy as np
import pytest

from models.reid.config import ClusterConfig
from models.reid.pseudo_labels import cluster_features, cosine_distances, jaccard_distances


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
    cfg = ClusterConfig(distance=distance, eps=eps, min_samples=4, k1=8, k2=1)
    result = cluster_features(np.concatenate([feats, outlier]), cfg)
    assert result.n_clusters == 5
    assert result.labels[-1] == -1 and result.n_outliers == 1
    # Same planted group <-> same cluster (a perfect partition up to renaming).
    got = result.labels[:-1]
    assert len({(a, b) for a, b in zip(labels, got, strict=True)}) == 5
