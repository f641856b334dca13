"""The shipped Re-ID model as an embedder, and its ONNX export: per-crop and retrieval parity with torch."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from export.backends.onnx_backend import OnnxEmbedder
from export.onnx_export import export_onnx
from models.manifest import sha256
from models.reid.data import load_veri
from models.reid.embedder import DEFAULT_REID_WEIGHTS, load_reid_embedder, reid_module
from models.reid.evaluate import evaluate_features

pytestmark = pytest.mark.skipif(not DEFAULT_REID_WEIGHTS.is_file(), reason="no shipped Re-ID weights")


@pytest.fixture(scope="module")
def shipped_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    module, spec = reid_module()
    return export_onnx(module, spec, tmp_path_factory.mktemp("reid") / "reid.onnx")


def test_spec_names_the_shipped_weights(shipped_onnx: Path):
    embedder = OnnxEmbedder(shipped_onnx)
    torch_embedder = load_reid_embedder()
    assert embedder.spec.source_sha256 == sha256(DEFAULT_REID_WEIGHTS)
    assert embedder.spec.source_name == DEFAULT_REID_WEIGHTS.name
    assert (embedder.dim, embedder.input_size) == (torch_embedder.dim, torch_embedder.input_size)


def test_onnx_matches_torch_per_crop_on_64_crops(shipped_onnx: Path, smoke_scene: Path):
    # The smoke scene's crops and their mirror images: 64 real vehicle crops of many sizes.
    real = [cv2.imread(str(p)) for p in sorted((smoke_scene / "reid").glob("image_*/*.jpg"))]
    crops = (real + [np.ascontiguousarray(c[:, ::-1]) for c in real])[:64]
    assert len(crops) == 64
    cosine = (OnnxEmbedder(shipped_onnx).embed(crops) * load_reid_embedder().embed(crops)).sum(axis=1)
    assert cosine.min() >= 0.9999


def test_retrieval_is_the_same_with_onnx(shipped_onnx: Path, smoke_scene: Path):
    data = load_veri(smoke_scene / "reid")
    queries = [cv2.imread(str(r.path)) for r in data.query]
    gallery = [cv2.imread(str(r.path)) for r in data.gallery]
    scores = {}
    for name, embedder in (("torch", load_reid_embedder()), ("onnx", OnnxEmbedder(shipped_onnx))):
        scores[name] = evaluate_features(
            embedder.embed(queries), embedder.embed(gallery), data.query, data.gallery
        )
    assert scores["torch"].mAP > 0
    assert abs(scores["torch"].mAP - scores["onnx"].mAP) <= 0.002
    assert np.isclose(scores["torch"].rank1, scores["onnx"].rank1, atol=0.02)


def test_int8_weights_export_stays_close_to_torch(smoke_scene: Path, tmp_path: Path):
    module, spec = reid_module()
    int8 = OnnxEmbedder(export_onnx(module, spec, tmp_path / "reid-int8.onnx", int8=True))
    assert int8.spec.weights == "int8" and int8.spec.source_sha256 == spec.source_sha256
    real = [cv2.imread(str(p)) for p in sorted((smoke_scene / "reid").glob("image_*/*.jpg"))]
    cosine = (int8.embed(real) * load_reid_embedder().embed(real)).sum(axis=1)
    assert cosine.min() >= 0.999  # measured ~0.9996: int8 weights cost a little fidelity, by design
