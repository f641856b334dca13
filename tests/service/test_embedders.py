"""Choosing the pipeline's appearance model."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.reid.checkpoint import CheckpointError
from service.embedders import build_embedder
from trackers.appearance import ColourHogEmbedder, Embedder


def test_kinds(tmp_path: Path):
    assert isinstance(build_embedder("colourhog"), ColourHogEmbedder)
    with pytest.raises(ValueError, match="not one of reid, colourhog"):
        build_embedder("sift")
    with pytest.raises(CheckpointError, match="no such Re-ID checkpoint"):
        build_embedder("reid", tmp_path / "missing.pt")


def test_shipped_reid_model_is_an_embedder():
    from models.reid.embedder import DEFAULT_REID_WEIGHTS

    if not DEFAULT_REID_WEIGHTS.is_file():
        pytest.skip("no shipped Re-ID weights yet")
    embedder = build_embedder("reid")
    assert isinstance(embedder, Embedder) and embedder.dim > 0
