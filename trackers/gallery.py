"""The gallery of global vehicle identities: one prototype embedding per identity, searched with FAISS.

Vectors are L2-normalised, so inner product = cosine similarity. The gallery keeps its own record of every
identity (prototype, first and last time seen) and treats the FAISS index as a derived, rebuildable view:
that keeps updates, removals and expiry exact for every index type (HNSW cannot delete in place) and makes a
snapshot just the record. Snapshots are written atomically (temporary file, then rename), so a crash while
saving leaves the previous snapshot intact.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import faiss
import numpy as np
from pydantic import Field

from trackers.atomic import atomic_write
from trackers.config import ComponentConfig

SNAPSHOT_VERSION = 1
# HNSW cannot remove vectors: removed ids stay in the graph, are filtered from results, and the index is
# rebuilt once they exceed this fraction of it.
HNSW_STALE_FRACTION = 0.2


class GalleryConfig(ComponentConfig):
    """Gallery settings (``trackers/configs/gallery.yaml`` holds the defaults and explains each key)."""

    default_file: ClassVar[str] = "gallery.yaml"

    index: Literal["flat", "ivf", "hnsw"] = Field(description="flat (exact), ivf or hnsw (approximate).")
    ivf_nlist: int = Field(ge=1, description="IVF: number of inverted lists.")
    ivf_nprobe: int = Field(ge=1, description="IVF: lists visited per query.")
    ivf_min_train: int = Field(ge=1, description="IVF: training vectors needed per list before IVF is used.")
    hnsw_m: int = Field(ge=2, description="HNSW: graph neighbours per node.")
    hnsw_ef_construction: int = Field(ge=1, description="HNSW: candidate list size while inserting.")
    hnsw_ef_search: int = Field(ge=1, description="HNSW: candidate list size per query.")
    max_age_s: float = Field(ge=0, description="Identities unseen this long (s) are expired; 0 = never.")
    use_gpu: bool = Field(description="Put flat/IVF indexes on a GPU when faiss-gpu and a GPU are present.")


class GalleryError(ValueError):
    """A gallery call or snapshot that cannot be honoured; the message names the problem and the fix."""


@dataclass(frozen=True)
class Match:
    """One search result: an identity and its cosine similarity to the query."""

    global_id: int
    score: float


def _unit_rows(vectors: np.ndarray, dim: int) -> np.ndarray:
    v = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32).reshape(-1, dim))
    if not np.isfinite(v).all():
        raise GalleryError("embeddings contain NaN or infinity; check the embedder's input")
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    if (norms < 1e-12).any():
        raise GalleryError("an embedding is all zeros and has no direction; drop it before the gallery")
    # Rows already of unit length are kept bit for bit, so a snapshot restores exactly what was saved.
    return np.where(np.abs(norms - 1.0) > 1e-6, v / norms, v)


class Gallery:
    """Global identities: ``upsert``, ``remove``, ``expire``, ``search``, ``snapshot`` / ``restore``.

    dim: the embedding length D. Times are seconds on the caller's clock (e.g. the scene timestamp).
    """

    def __init__(self, dim: int, config: GalleryConfig | None = None) -> None:
        if dim < 1:
            raise GalleryError(f"embedding dimension must be >= 1, got {dim}")
        self.dim = int(dim)
        self.config = config or GalleryConfig.from_yaml()
        self._vectors: dict[int, np.ndarray] = {}
        self._first_seen: dict[int, float] = {}
        self._last_seen: dict[int, float] = {}
        self._forget_index()

    # ----- the record -----
    def __len__(self) -> int:
        return len(self._vectors)

    def __contains__(self, global_id: int) -> bool:
        return global_id in self._vectors

    def ids(self) -> list[int]:
        return sorted(self._vectors)

    def prototype(self, global_id: int) -> np.ndarray:
        """(D,) float32 unit prototype of an identity; GalleryError for an unknown id."""
        if global_id not in self._vectors:
            raise GalleryError(f"identity {global_id} is not in the gallery")
        return self._vectors[global_id].copy()

    def last_seen(self, global_id: int) -> float:
        return self._last_seen[global_id]

    def upsert(self, global_id: int, vector: np.ndarray, seen_at: float) -> None:
        """Add an identity, or replace its prototype; ``seen_at`` (s) updates its last sighting."""
        unit = _unit_rows(vector, self.dim)[0]
        gid = int(global_id)
        if gid in self._gid_label:
            self._drop_from_index(gid)
        self._vectors[gid] = unit
        self._first_seen.setdefault(gid, float(seen_at))
        self._last_seen[gid] = max(float(seen_at), self._last_seen.get(gid, float("-inf")))
        if self._index is not None:
            self._add_to_index([gid])

    def load(
        self, ids: np.ndarray, vectors: np.ndarray, first_seen: np.ndarray, last_seen: np.ndarray
    ) -> None:
        """Add many identities at once (ids (N,), vectors (N, D), times (N,) s), as ``restore`` and bulk
        imports do; ids already present are replaced. The index is rebuilt at the next search."""
        units = _unit_rows(vectors, self.dim)
        for gid, vector, first, last in zip(ids, units, first_seen, last_seen, strict=True):
            gid = int(gid)
            self._vectors[gid] = vector
            self._first_seen[gid], self._last_seen[gid] = float(first), float(last)
        self._forget_index()

    def remove(self, global_id: int) -> None:
        """Forget an identity (e.g. merged into another by an operator); GalleryError if unknown."""
        gid = int(global_id)
        if gid not in self._vectors:
            raise GalleryError(f"identity {gid} is not in the gallery")
        if gid in self._gid_label:
            self._drop_from_index(gid)
        del self._vectors[gid], self._first_seen[gid], self._last_seen[gid]

    def expire(self, now: float) -> list[int]:
        """Remove identities last seen more than ``max_age_s`` before ``now``; returns their ids."""
        if self.config.max_age_s <= 0:
            return []
        old = [gid for gid, seen in self._last_seen.items() if now - seen > self.config.max_age_s]
        for gid in old:
            self.remove(gid)
        return sorted(old)

    # ----- search -----
    def search(self, queries: np.ndarray, k: int = 5) -> list[list[Match]]:
        """Top-``k`` identities for each query row (Q, D), most similar first (fewer when the gallery
        is smaller)."""
        q = _unit_rows(queries, self.dim)
        if not self._vectors or k < 1:
            return [[] for _ in range(len(q))]
        index = self._ensure_index()
        # Stale HNSW rows may take result slots: ask for enough extra to still return k live ones.
        scores, labels = index.search(q, min(k + self._stale, index.ntotal))
        results = []
        for row_scores, row_labels in zip(scores, labels, strict=True):
            live = [
                Match(self._label_gid[int(label)], float(score))
                for score, label in zip(row_scores, row_labels, strict=True)
                if int(label) in self._label_gid
            ]
            results.append(live[:k])
        return results

    def _ensure_index(self) -> faiss.Index:
        """The index over every identity, (re)built when missing, when HNSW holds too many stale entries,
        or when an IVF gallery has grown enough to train its lists."""
        cfg, index = self.config, self._index
        too_stale = (
            cfg.index == "hnsw" and index is not None and self._stale > HNSW_STALE_FRACTION * index.ntotal
        )
        ivf_ready = (
            cfg.index == "ivf" and not self._trained_ivf and len(self) >= cfg.ivf_nlist * cfg.ivf_min_train
        )
        if index is None or too_stale or ivf_ready:
            self._forget_index()
            self._index = self._build_index()
            self._add_to_index(self.ids())
        return self._index

    def _forget_index(self) -> None:
        """Drop the index and everything derived from it; the next search rebuilds it from the record."""
        self._index: faiss.Index | None = None
        # Index labels: the global id itself for flat and IVF; for HNSW, which cannot delete, the row number,
        # so a replaced prototype gets a new row and the old row goes stale.
        self._label_gid: dict[int, int] = {}  # index label -> global id, live labels only
        self._gid_label: dict[int, int] = {}  # global id -> its live label
        self._stale = 0  # HNSW rows left behind by removals and replacements
        self._trained_ivf = False

    def _build_index(self) -> faiss.Index:
        """A new, empty index of the configured type, searching by inner product and keyed by global id.
        Flat sits in an IndexIDMap2 (global ids -> rows); IVF stores the ids itself (and removes by id:
        IndexIDMap's removal assumes a sub-index that renumbers its rows, which IVF does not); HNSW is
        labelled by row."""
        cfg, dim = self.config, self.dim
        if cfg.index == "hnsw":
            index = faiss.IndexHNSWFlat(dim, cfg.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = cfg.hnsw_ef_construction
            index.hnsw.efSearch = cfg.hnsw_ef_search
            return index
        if cfg.index == "ivf" and len(self._vectors) >= cfg.ivf_nlist * cfg.ivf_min_train:
            quantizer = faiss.IndexFlatIP(dim)
            core = faiss.IndexIVFFlat(quantizer, dim, cfg.ivf_nlist, faiss.METRIC_INNER_PRODUCT)
            core.train(np.stack([self._vectors[g] for g in self.ids()]))
            core.nprobe = cfg.ivf_nprobe
            self._quantizer = quantizer  # the IVF index refers to its quantizer: keep it alive with us
            self._trained_ivf = True
            return self._on_gpu(core)
        # Exact search: the default, and IVF's until it has enough vectors to train on.
        return faiss.IndexIDMap2(self._on_gpu(faiss.IndexFlatIP(dim)))

    def _on_gpu(self, index: faiss.Index) -> faiss.Index:
        if self.config.use_gpu and hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0:
            self._gpu_resources = faiss.StandardGpuResources()
            return faiss.index_cpu_to_gpu(self._gpu_resources, 0, index)
        return index

    def _add_to_index(self, gids: list[int]) -> None:
        if not gids:
            return
        vectors = np.stack([self._vectors[g] for g in gids])
        if self.config.index == "hnsw":
            labels = list(range(self._index.ntotal, self._index.ntotal + len(gids)))
            self._index.add(vectors)
        else:
            labels = gids
            self._index.add_with_ids(vectors, np.asarray(gids, dtype=np.int64))
        for label, gid in zip(labels, gids, strict=True):
            self._label_gid[label], self._gid_label[gid] = gid, label

    def _drop_from_index(self, gid: int) -> None:
        label = self._gid_label.pop(gid)
        del self._label_gid[label]
        if self.config.index == "hnsw":
            self._stale += 1  # the row stays in the graph, unlabelled, until the next rebuild
        else:
            self._index.remove_ids(np.asarray([label], dtype=np.int64))

    # ----- persistence -----
    def snapshot(self, path: str | Path) -> Path:
        """Write every identity (id, prototype, first/last seen) to ``path`` (.npz), atomically."""
        ids = self.ids()
        vectors = np.stack([self._vectors[g] for g in ids]) if ids else np.zeros((0, self.dim), np.float32)
        return atomic_write(
            path,
            lambda fh: np.savez(
                fh,
                version=np.int64(SNAPSHOT_VERSION),
                dim=np.int64(self.dim),
                ids=np.asarray(ids, dtype=np.int64),
                vectors=vectors,
                first_seen=np.asarray([self._first_seen[g] for g in ids], dtype=np.float64),
                last_seen=np.asarray([self._last_seen[g] for g in ids], dtype=np.float64),
            ),
        )

    @classmethod
    def restore(cls, path: str | Path, config: GalleryConfig | None = None) -> Gallery:
        """A gallery exactly as ``snapshot`` left it; GalleryError naming the file when it is unusable."""
        path = Path(path)
        if not path.is_file():
            raise GalleryError(f"{path}: no gallery snapshot here; start empty or point to a saved one")
        try:
            with np.load(path, allow_pickle=False) as data:
                if int(data["version"]) != SNAPSHOT_VERSION:
                    raise GalleryError(
                        f"{path}: snapshot version {int(data['version'])}, expected {SNAPSHOT_VERSION}"
                    )
                gallery = cls(int(data["dim"]), config)
                ids, vectors = data["ids"], data["vectors"]
                first, last = data["first_seen"], data["last_seen"]
        except (OSError, ValueError, KeyError) as exc:
            if isinstance(exc, GalleryError):
                raise
            raise GalleryError(
                f"{path}: not a readable gallery snapshot ({exc}); restore an older copy"
            ) from None
        gallery.load(ids, vectors, first, last)
        return gallery
