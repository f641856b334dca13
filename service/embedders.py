"""Which appearance model a camera pipeline uses: the trained Re-ID model, or the training-free stand-in."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from trackers.appearance import ColourHogEmbedder, Embedder

EmbedderKind = Literal["reid", "colourhog"]
EMBEDDER_KINDS: tuple[str, ...] = ("reid", "colourhog")


def build_embedder(kind: str, weights: Path | None = None, device: str = "cpu") -> Embedder:
    """``reid``: the Re-ID model at ``weights`` (default: the shipped checkpoint), run by the backend its
    suffix names: ``.pt`` torch, ``.onnx`` ONNX Runtime, ``.engine`` TensorRT; ``colourhog``: the colour
    histogram + HOG stand-in. Raises ValueError for an unknown kind, CheckpointError / ModelFileError for
    unusable weights."""
    if kind == "colourhog":
        return ColourHogEmbedder()
    if kind == "reid":
        if weights is not None and Path(weights).suffix.lower() != ".pt":
            from export.backends import open_exported

            return open_exported(weights, device)
        from models.reid.embedder import load_reid_embedder

        return load_reid_embedder(weights, device)
    raise ValueError(f"embedder {kind!r} is not one of {', '.join(EMBEDDER_KINDS)}")
