"""Which appearance model a camera pipeline uses: the trained Re-ID model, or the training-free stand-in."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from trackers.appearance import ColourHogEmbedder, Embedder

EmbedderKind = Literal["reid", "colourhog"]
EMBEDDER_KINDS: tuple[str, ...] = ("reid", "colourhog")


def build_embedder(kind: str, weights: Path | None = None, device: str = "cpu") -> Embedder:
    """``reid``: the Re-ID model at ``weights``, run by the backend its suffix names: ``.pt`` torch, ``.onnx``
    ONNX Runtime, ``.engine`` TensorRT; by default the shipped model, on ONNX Runtime from the ONNX copy
    shipped with it (torch when that copy is absent or stale). ``colourhog``: the colour histogram + HOG
    stand-in. Raises ValueError for an unknown kind, CheckpointError / ModelFileError for
    unusable weights."""
    if kind == "colourhog":
        return ColourHogEmbedder()
    if kind == "reid":
        from export.backends import open_exported
        from models.reid.embedder import load_reid_embedder, shipped_onnx

        if weights is not None and Path(weights).suffix.lower() != ".pt":
            return open_exported(weights, device)
        exported = shipped_onnx() if weights is None else None
        return open_exported(exported, device) if exported else load_reid_embedder(weights, device)
    raise ValueError(f"embedder {kind!r} is not one of {', '.join(EMBEDDER_KINDS)}")


def embedding_dim(embedder: Embedder) -> int:
    """The length D of the embeddings ``embedder`` produces (one blank crop through it)."""
    import numpy as np

    return int(embedder.embed([np.zeros((64, 64, 3), dtype=np.uint8)]).shape[1])
