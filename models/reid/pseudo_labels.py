"""Pseudo-labels for unsupervised Re-ID (METHOD.md, stage 3): DBSCAN over encoder features.

The distance is either plain cosine or the k-reciprocal Jaccard distance of Zhong et al. (CVPR 2017),
the usual choice in unsupervised Re-ID because it keeps apart images that are near one another but do
not share neighbourhoods. Crops DBSCAN leaves in no cluster get label -1 and sit the epoch out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import DBSCAN

from models.reid.config import ClusterConfig

# A candidate's own k-reciprocal set joins the query's when it overlaps that set by more than this
# fraction (Zhong et al., eq. 12).
EXPANSION_OVERLAP = 2.0 / 3.0


@dataclass(frozen=True)
class PseudoLabels:
    """labels: (N,) int64, -1 = outlier; clusters numbered 0..n_clusters-1."""

    labels: np.ndarray

    @property
    def n_clusters(self) -> int:
        return int(self.labels.max()) + 1 if (self.labels >= 0).any() else 0

    @property
    def n_outliers(self) -> int:
        return int((self.labels < 0).sum())


def cosine_distances(features: np.ndarray) -> np.ndarray:
    """(N, D) -> (N, N) 1 - cosine similarity, in [0, 2]."""
    f = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    return np.clip(1.0 - f @ f.T, 0.0, 2.0)


def _k_reciprocal(rank: np.ndarray, i: int, k: int) -> np.ndarray:
    forward = rank[i, : k + 1]
    backward = rank[forward, : k + 1]
    return forward[np.any(backward == i, axis=1)]


def jaccard_distances(features: np.ndarray, k1: int, k2: int) -> np.ndarray:
    """(N, D) -> (N, N) k-reciprocal Jaccard distance in [0, 1] (Zhong et al. 2017, without the mix-in
    of the original distance, as cluster-based Re-ID methods use it)."""
    n = features.shape[0]
    dist = cosine_distances(features).astype(np.float32)
    k1, k2 = min(k1, n - 1), min(k2, n)
    rank = np.argsort(dist, axis=1, kind="stable")[:, : k1 + 1]
    half = max(1, round(k1 / 2))
    weights = np.zeros((n, n), dtype=np.float32)
    for i in range(n):
        recip = _k_reciprocal(rank, i, k1)
        expanded = recip
        for cand in recip:
            cand_recip = _k_reciprocal(rank, int(cand), half)
            if len(np.intersect1d(cand_recip, recip)) > EXPANSION_OVERLAP * len(cand_recip):
                expanded = np.append(expanded, cand_recip)
        expanded = np.unique(expanded)
        w = np.exp(-dist[i, expanded])
        weights[i, expanded] = w / w.sum()
    if k2 > 1:
        # Local query expansion: average each row with its k2 nearest neighbours' rows.
        weights = weights[rank[:, :k2]].mean(axis=1)
    jaccard = np.empty((n, n), dtype=np.float32)
    nonzero_rows = [np.flatnonzero(weights[:, j]) for j in range(n)]
    for i in range(n):
        overlap = np.zeros(n, dtype=np.float32)
        for j in np.flatnonzero(weights[i]):
            rows = nonzero_rows[j]
            overlap[rows] += np.minimum(weights[i, j], weights[rows, j])
        jaccard[i] = 1.0 - overlap / (2.0 - overlap)
    np.fill_diagonal(jaccard, 0.0)
    return np.clip(jaccard, 0.0, 1.0)


def cluster_features(features: np.ndarray, cfg: ClusterConfig) -> PseudoLabels:
    """DBSCAN pseudo-labels of (N, D) features under ``cfg`` (distance, eps, min_samples, k1, k2)."""
    if features.shape[0] < 2:
        return PseudoLabels(np.full(features.shape[0], -1, dtype=np.int64))
    if cfg.distance == "jaccard":
        dist = jaccard_distances(features, cfg.k1, cfg.k2)
    else:
        dist = cosine_distances(features)
    labels = DBSCAN(eps=cfg.eps, min_samples=cfg.min_samples, metric="precomputed").fit_predict(dist)
    return PseudoLabels(labels.astype(np.int64))
