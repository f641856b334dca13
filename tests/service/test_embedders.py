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


def test_reid_runtime_follows_the_file(tmp_path: Path):
    from export.backends.onnx_backend import OnnxEmbedder
    from export.backends.torch_backend import TorchEmbedder
    from export.spec import ModelFileError
    from models.reid.embedder import DEFAULT_REID_WEIGHTS, shipped_onnx

    if not DEFAULT_REID_WEIGHTS.is_file():
        pytest.skip("no shipped Re-ID weights yet")
    assert isinstance(build_embedder("reid", DEFAULT_REID_WEIGHTS), TorchEmbedder)  # a .pt asks for torch
    default = build_embedder("reid")
    # The shipped model runs on ONNX Runtime from the ONNX copy shipped with it.
    assert shipped_onnx() is not None and isinstance(default, OnnxEmbedder)
    (tmp_path / "reid.engine").write_bytes(b"x")
    with pytest.raises(ModelFileError, match=r"reid\.engine: its build record"):
        build_embedder("reid", tmp_path / "reid.engine")
