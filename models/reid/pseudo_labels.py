"""Pseudo-labels for unsupervised Re-ID (METHOD.md, stage 3): DBSCAN over encoder features.

The distance is either plain cosine or the k-reciprocal Jaccard distance of Zhong et al. (CVPR 2017),
the usual choice in unsupervised Re-ID because it keeps apart images that are near one another but do
not share neighbourhoods. Crops DBSCAN leaves in no cluster get label -1 and sit the epoch out.

Camera-aware clustering (``camera_centre``) removes each camera's mean embedding first: a camera's colour
cast, viewpoint and background move all of its crops the same way, and left in, that shared offset groups
crops by camera rather than by vehicle, so few clusters span two cameras and the model never learns to
match across them. Camera ids come with the unlabelled crops; identities are never read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
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


# Rows of the feature matrix compared with all others per block when ranking neighbours: bounds memory to
# (block x N) similarities, so a real data set (VeRi-776: 37,778 crops) needs no N x N matrix.
RANK_BLOCK = 1024


def nearest_ranks(f: np.ndarray, k: int) -> np.ndarray:
    """(N, D) L2-normalised rows -> (N, k + 1) indices of each row's k + 1 nearest rows by cosine (itself
    first, ties by index)."""
    n = f.shape[0]
    out = np.empty((n, k + 1), dtype=np.int64)
    for first in range(0, n, RANK_BLOCK):
        dist = 1.0 - f[first : first + RANK_BLOCK] @ f.T
        rows = np.arange(dist.shape[0])
        dist[rows, first + rows] = -np.inf  # a row is always its own nearest, even among duplicates
        part = (
            np.argpartition(dist, k, axis=1)[:, : k + 1]
            if k + 1 < n
            else np.tile(np.arange(n), (len(rows), 1))
        )
        order = np.lexsort((part, np.take_along_axis(dist, part, axis=1)), axis=1)
        out[first : first + RANK_BLOCK] = np.take_along_axis(part, order, axis=1)
    return out


def _k_reciprocal(rank: np.ndarray, i: int, k: int) -> np.ndarray:
    forward = rank[i, : k + 1]
    backward = rank[forward, : k + 1]
    return forward[np.any(backward == i, axis=1)]


def _reciprocal_weights(f: np.ndarray, rank: np.ndarray, k1: int) -> sparse.csr_matrix:
    """Row i: softmax(-distance) over i's expanded k-reciprocal set (Zhong et al., eq. 7 and 12)."""
    n = f.shape[0]
    half = max(1, round(k1 / 2))
    rows, cols, vals = [], [], []
    for i in range(n):
        recip = _k_reciprocal(rank, i, k1)
        expanded = [recip]
        for cand in recip:
            cand_recip = _k_reciprocal(rank, int(cand), half)
            if len(np.intersect1d(cand_recip, recip)) > EXPANSION_OVERLAP * len(cand_recip):
                expanded.append(cand_recip)
        members = np.unique(np.concatenate(expanded))
        w = np.exp(-(1.0 - f[members] @ f[i]))
        rows.append(np.full(len(members), i))
        cols.append(members)
        vals.append(w / w.sum())
    return sparse.csr_matrix(
        (np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )


def jaccard_graph(features: np.ndarray, k1: int, k2: int) -> sparse.csr_matrix:
    """(N, D) -> sparse (N, N) k-reciprocal Jaccard distances (Zhong et al. 2017, without the mix-in of the
    original distance, as cluster-based Re-ID methods use it). Only pairs that share a neighbour are
    stored; every pair left out is at distance 1 (nothing in common), which no DBSCAN eps < 1 reaches."""
    n = features.shape[0]
    k1, k2 = min(k1, n - 1), min(k2, n)
    f = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    rank = nearest_ranks(f, k1)
    weights = _reciprocal_weights(f, rank, k1)
    if k2 > 1:
        # Local query expansion: average each row with its k2 nearest neighbours' rows.
        expand = sparse.csr_matrix(
            (
                np.full(n * k2, 1.0 / k2, dtype=np.float32),
                (np.repeat(np.arange(n), k2), rank[:, :k2].ravel()),
            ),
            shape=(n, n),
        )
        weights = (expand @ weights).tocsr()
    by_column = weights.tocsc()
    rows, cols, vals = [], [], []
    overlap = np.zeros(n, dtype=np.float32)
    for i in range(n):
        touched = []
        for j, w_ij in zip(
            weights.indices[weights.indptr[i] : weights.indptr[i + 1]],
            weights.data[weights.indptr[i] : weights.indptr[i + 1]],
            strict=True,
        ):
            lo, hi = by_column.indptr[j], by_column.indptr[j + 1]
            others = by_column.indices[lo:hi]
            overlap[others] += np.minimum(w_ij, by_column.data[lo:hi])
            touched.append(others)
        near = np.unique(np.concatenate(touched)) if touched else np.array([i])
        near = near[near != i]
        rows.append(np.full(len(near), i))
        cols.append(near)
        vals.append(np.clip(1.0 - overlap[near] / (2.0 - overlap[near]), 0.0, 1.0))
        overlap[near] = 0.0
        overlap[i] = 0.0
    return sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n), dtype=np.float32
    )


def jaccard_distances(features: np.ndarray, k1: int, k2: int) -> np.ndarray:
    """Dense (N, N) form of ``jaccard_graph`` (pairs with nothing in common at 1, the diagonal at 0)."""
    graph = jaccard_graph(features, k1, k2)
    dense = np.ones(graph.shape, dtype=np.float32)
    coo = graph.tocoo()
    dense[coo.row, coo.col] = coo.data
    np.fill_diagonal(dense, 0.0)
    return dense


def camera_centred(features: np.ndarray, camera_ids: np.ndarray) -> np.ndarray:
    """(N, D) features, (N,) camera ids -> (N, D) float32: rows L2-normalised, each camera's mean row
    subtracted, then L2-normalised again (a row equal to its camera's mean stays all zeros)."""
    f = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    cams = np.asarray(camera_ids).reshape(-1)
    if cams.shape[0] != f.shape[0]:
        raise ValueError(f"camera_centred: {f.shape[0]} features but {cams.shape[0]} camera ids")
    out = np.empty_like(f, dtype=np.float32)
    for cam in np.unique(cams):
        rows = cams == cam
        out[rows] = f[rows] - f[rows].mean(axis=0)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def cluster_features(
    features: np.ndarray, cfg: ClusterConfig, camera_ids: np.ndarray | None = None
) -> PseudoLabels:
    """DBSCAN pseudo-labels of (N, D) features under ``cfg`` (distance, eps, min_samples, k1, k2).

    camera_ids: (N,) camera of each crop; with ``cfg.camera_centre`` each camera's mean embedding is
    removed before the distances are taken (no effect without camera ids).
    """
    if features.shape[0] < 2:
        return PseudoLabels(np.full(features.shape[0], -1, dtype=np.int64))
    if cfg.camera_centre and camera_ids is not None:
        features = camera_centred(features, camera_ids)
    if cfg.distance == "jaccard":
        # Sparse precomputed distances: DBSCAN sees only stored pairs (and each point itself) as neighbours.
        labels = DBSCAN(eps=cfg.eps, min_samples=cfg.min_samples, metric="precomputed").fit_predict(
            jaccard_graph(features, cfg.k1, cfg.k2)
        )
    else:
        labels = DBSCAN(eps=cfg.eps, min_samples=cfg.min_samples, metric="cosine").fit_predict(features)
    return PseudoLabels(labels.astype(np.int64))
