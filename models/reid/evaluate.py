"""Re-ID ranking metrics (CMC, mAP, mINP): pure functions over arrays, fast-reid's ``evaluate_rank`` protocol.

For each query the gallery is ranked by distance (a stable sort, so equal distances keep gallery order).
Gallery entries of the query's identity seen by the query's own camera are removed first (VeRi-776 /
Market-1501 protocol: matching a vehicle to itself in the same camera is tracking, not Re-ID). A query with
no correct match left is skipped and counted. Then, over the remaining ranking:

- CMC@k: the fraction of queries whose first correct match lies within the top k.
- AP: the mean, over the query's correct matches, of the precision at each one's rank; mAP averages AP.
- INP (Ye et al., 2021): number of correct matches / rank of the last one; mINP averages it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.reid.data import ReidRecord

DEFAULT_MAX_RANK = 10
REPORTED_RANKS = (1, 5, 10)
EPS = 1e-12
# Queries are ranked in chunks so memory stays at a few (chunk, G) arrays, whatever the query count.
QUERY_CHUNK = 256


@dataclass(frozen=True, eq=False)
class RankResult:
    """Ranking metrics, all fractions in [0, 1]. cmc: (max_rank,), cmc[k - 1] = CMC@k.

    n_queries: queries evaluated; n_skipped: queries without any correct gallery match once same-identity
    same-camera entries are removed (they count in no metric).
    """

    cmc: np.ndarray
    mAP: float  # noqa: N815 (the metric's usual name)
    mINP: float  # noqa: N815
    n_queries: int
    n_skipped: int

    def rank(self, k: int) -> float:
        """CMC@k: fraction of queries with a correct match in the top k (1 <= k <= max_rank)."""
        if not 1 <= k <= len(self.cmc):
            raise ValueError(f"rank {k} outside 1..{len(self.cmc)}; evaluate with max_rank >= {k}")
        return float(self.cmc[k - 1])

    @property
    def rank1(self) -> float:
        return self.rank(1)

    @property
    def rank5(self) -> float:
        return self.rank(5)

    @property
    def rank10(self) -> float:
        return self.rank(10)

    def as_dict(self) -> dict[str, Any]:
        """Plain floats and ints for JSON: mAP, mINP, rank-1/5/10 (those within max_rank), cmc, counts."""
        ranks = {f"rank{k}": self.rank(k) for k in REPORTED_RANKS if k <= len(self.cmc)}
        return {
            "mAP": float(self.mAP),
            "mINP": float(self.mINP),
            **ranks,
            "cmc": [float(c) for c in self.cmc],
            "n_queries": int(self.n_queries),
            "n_skipped": int(self.n_skipped),
        }


def cosine_distance(q: np.ndarray, g: np.ndarray) -> np.ndarray:
    """(Q, D) x (G, D) -> (Q, G): 1 - cosine similarity of the L2-normalised rows, in [0, 2].

    Float32 inputs give float32, anything else float64. A zero row has distance 1 to everything.
    """
    q, g = np.asarray(q), np.asarray(g)
    if q.ndim != 2 or g.ndim != 2 or q.shape[1] != g.shape[1]:
        raise ValueError(f"cosine_distance needs (Q, D) and (G, D) features, got {q.shape} and {g.shape}")
    dtype = np.result_type(q.dtype, g.dtype, np.float32)
    qn = q.astype(dtype) / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), EPS).astype(dtype)
    gn = g.astype(dtype) / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), EPS).astype(dtype)
    return 1.0 - qn @ gn.T


def _as_column(name: str, values: np.ndarray, n: int) -> np.ndarray:
    column = np.asarray(values).reshape(-1)
    if len(column) != n:
        raise ValueError(f"{name} has {len(column)} entries, the distance matrix needs {n}")
    return column


def _rank_chunk(
    distmat: np.ndarray, q_ids: np.ndarray, g_ids: np.ndarray, q_cams: np.ndarray, g_cams: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For (Q', G) distances: per query (valid, first-hit rank, AP, INP); ranks are 1-based, counted over
    the gallery entries kept for that query."""
    order = np.argsort(distmat, axis=1, kind="stable")
    ids, cams = g_ids[order], g_cams[order]  # (Q', G) gallery labels in rank order
    same_id = ids == q_ids[:, None]
    keep = ~(same_id & (cams == q_cams[:, None]))
    hits = same_id & keep
    kept_rank = np.cumsum(keep, axis=1)  # rank of each kept entry once removed ones are skipped
    n_hits = hits.sum(axis=1)
    valid = n_hits > 0
    hit_ranks = np.where(hits, kept_rank, 0)
    first = np.where(hits, kept_rank, np.iinfo(np.int64).max).min(axis=1)
    precision = np.cumsum(hits, axis=1) / np.maximum(kept_rank, 1)
    safe_hits = np.maximum(n_hits, 1)
    ap = (precision * hits).sum(axis=1) / safe_hits
    inp = n_hits / np.maximum(hit_ranks.max(axis=1), 1)
    return valid, first, ap, inp


def evaluate_rank(
    distmat: np.ndarray,
    q_ids: np.ndarray,
    g_ids: np.ndarray,
    q_cams: np.ndarray,
    g_cams: np.ndarray,
    max_rank: int = DEFAULT_MAX_RANK,
) -> RankResult:
    """CMC, mAP and mINP of a (Q, G) distance matrix (smaller = more alike); ids and cams: (Q,) and (G,).

    Ties are broken by gallery order (stable sort). When fewer than ``max_rank`` gallery entries remain for
    a query, its CMC stays at 1 beyond them (its match was found). Raises ValueError when no query has a
    correct match left.
    """
    distmat = np.asarray(distmat)
    if distmat.ndim != 2:
        raise ValueError(f"distmat must be (Q, G), got shape {distmat.shape}")
    if max_rank < 1:
        raise ValueError(f"max_rank must be >= 1, got {max_rank}")
    n_q, n_g = distmat.shape
    q_ids, q_cams = _as_column("q_ids", q_ids, n_q), _as_column("q_cams", q_cams, n_q)
    g_ids, g_cams = _as_column("g_ids", g_ids, n_g), _as_column("g_cams", g_cams, n_g)
    parts = [
        _rank_chunk(
            distmat[s : s + QUERY_CHUNK],
            q_ids[s : s + QUERY_CHUNK],
            g_ids,
            q_cams[s : s + QUERY_CHUNK],
            g_cams,
        )
        for s in range(0, n_q, QUERY_CHUNK)
    ]
    valid, first, ap, inp = (
        np.concatenate([p[i] for p in parts]) if parts else np.zeros(0) for i in range(4)
    )
    valid = valid.astype(bool)
    n_valid = int(valid.sum())
    if n_valid == 0:
        raise ValueError(
            f"no query of {n_q} has a correct gallery match from another camera; check that query identities "
            "appear in the gallery (image_test/) and that ids and cameras are passed in the right order"
        )
    ks = np.arange(1, max_rank + 1)
    cmc = (first[valid][:, None] <= ks[None, :]).mean(axis=0)
    return RankResult(
        cmc=cmc.astype(np.float64),
        mAP=float(ap[valid].mean()),
        mINP=float(inp[valid].mean()),
        n_queries=n_valid,
        n_skipped=n_q - n_valid,
    )


def evaluate_features(
    query_feats: np.ndarray,
    gallery_feats: np.ndarray,
    query_records: Sequence[ReidRecord],
    gallery_records: Sequence[ReidRecord],
    max_rank: int = DEFAULT_MAX_RANK,
) -> RankResult:
    """Rank (Q, D) query features against (G, D) gallery features by cosine distance; labels from the records."""
    if len(query_feats) != len(query_records) or len(gallery_feats) != len(gallery_records):
        raise ValueError(
            f"features and records disagree: {len(query_feats)} query features for {len(query_records)} records, "
            f"{len(gallery_feats)} gallery features for {len(gallery_records)} records"
        )
    return evaluate_rank(
        cosine_distance(query_feats, gallery_feats),
        np.array([r.vehicle_id for r in query_records], dtype=np.int64),
        np.array([r.vehicle_id for r in gallery_records], dtype=np.int64),
        np.array([r.camera_id for r in query_records], dtype=np.int64),
        np.array([r.camera_id for r in gallery_records], dtype=np.int64),
        max_rank=max_rank,
    )
