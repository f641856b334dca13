"""Search by image: embed a vehicle crop, rank identities by their closest tracklet (cosine similarity).

The appearance model is built on the first search (``embedder_factory``), never at start: an API replica that
nobody searches needs no model. The tracklet embeddings are read from the store at most once per
``cache_s`` seconds, so a burst of searches does not reload the whole matrix each time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from service.store import StateStore
from trackers.appearance import Embedder

DEFAULT_CACHE_S = 1.0
EPS = 1e-12


class SearchUnavailableError(RuntimeError):
    """Search by image cannot run in this service (no appearance model, or one that does not fit the
    stored embeddings); the message says what to configure. The API answers 503."""


@dataclass(frozen=True)
class _Gallery:
    """Every embedded tracklet: identity ids (N,) int64 and unit rows (N, D) float32."""

    global_ids: np.ndarray
    embeddings: np.ndarray
    loaded: float  # time.monotonic() of the load


def best_per_identity(global_ids: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Each identity's best tracklet score, the ``k`` best identities first (ties: lower id first).

    global_ids: (N,) int64, one per tracklet; scores: (N,) float, that tracklet's similarity."""
    if len(global_ids) == 0:
        return []
    order = np.argsort(global_ids, kind="stable")
    ids, starts = np.unique(global_ids[order], return_index=True)
    best = np.maximum.reduceat(scores[order], starts)
    top = np.lexsort((ids, -best))[:k]
    return [(int(ids[i]), float(best[i])) for i in top]


class SearchIndex:
    """Ranks the store's identities by appearance similarity to an image."""

    def __init__(
        self,
        store: StateStore,
        embedder_factory: Callable[[], Embedder] | None,
        cache_s: float = DEFAULT_CACHE_S,
    ) -> None:
        self._store = store
        self._factory = embedder_factory
        self._cache_s = cache_s
        self._embedder: Embedder | None = None
        self._gallery: _Gallery | None = None
        self._lock = threading.Lock()

    def embedder(self) -> Embedder:
        """The appearance model, built on first use; SearchUnavailableError when there is none."""
        with self._lock:
            if self._embedder is None:
                if self._factory is None:
                    raise SearchUnavailableError(
                        "search by image is not available: this service was started without an appearance "
                        "model (crosscam serve builds one from CROSSCAM_EMBEDDER)"
                    )
                try:
                    self._embedder = self._factory()
                except (OSError, ValueError, RuntimeError) as exc:
                    raise SearchUnavailableError(
                        f"search by image is not available: the appearance model cannot be loaded ({exc}); "
                        "check CROSSCAM_EMBEDDER and CROSSCAM_REID_WEIGHTS"
                    ) from None
            return self._embedder

    def invalidate(self) -> None:
        """Forget the cached embeddings (after a merge or split moved tracklets between identities)."""
        with self._lock:
            self._gallery = None

    def _current_gallery(self) -> _Gallery:
        with self._lock:
            gallery = self._gallery
            if gallery is not None and time.monotonic() - gallery.loaded < self._cache_s:
                return gallery
        global_ids, embeddings = self._store.tracklet_embeddings()
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if len(embeddings):
            # Stored embeddings are rounded (service.recorder): normalise again so scores are cosines.
            embeddings = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), EPS)
        gallery = _Gallery(np.asarray(global_ids, dtype=np.int64), embeddings, time.monotonic())
        with self._lock:
            self._gallery = gallery
        return gallery

    def search(self, crop: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` identities most similar to ``crop`` ((H, W, 3) uint8 BGR) as (global id, cosine)."""
        embedder = self.embedder()
        query = np.asarray(embedder.embed([crop]), dtype=np.float32).reshape(-1)
        query = query / max(float(np.linalg.norm(query)), EPS)
        gallery = self._current_gallery()
        if len(gallery.global_ids) == 0:
            return []
        if gallery.embeddings.shape[1] != query.shape[0]:
            raise SearchUnavailableError(
                f"search by image is not available: the appearance model makes {query.shape[0]}-d embeddings "
                f"but the stored tracklets have {gallery.embeddings.shape[1]}-d ones; configure the same "
                "CROSSCAM_EMBEDDER (and weights) as the camera workers"
            )
        return best_per_identity(gallery.global_ids, gallery.embeddings @ query, k)
