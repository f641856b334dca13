"""OnnxEmbedder: the Embedder contract on ONNX Runtime, parity with torch, provider choice, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from torch import nn

from export.backends import open_exported
from export.backends.onnx_backend import OnnxEmbedder, choose_providers
from export.backends.torch_backend import TorchEmbedder
from export.spec import EmbedderSpec, ModelFileError
from trackers.appearance import Embedder


def _crops(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [
        rng.integers(0, 256, (int(rng.integers(5, 90)), int(rng.integers(5, 90)), 3), dtype=np.uint8)
        for _ in range(n)
    ]


def test_contract_and_parity_with_torch_on_64_crops(
    tiny_onnx: Path, tiny_module: nn.Module, tiny_spec: EmbedderSpec
):
    embedder = OnnxEmbedder(tiny_onnx, batch_size=24)
    assert isinstance(embedder, Embedder) and embedder.dim == 8
    assert embedder.session.get_providers() == ["CPUExecutionProvider"]
    crops = _crops(64)
    got = embedder.embed(crops)
    assert got.shape == (64, 8) and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)
    reference = TorchEmbedder(
        tiny_module, tiny_spec.input_size, tiny_spec.mean, tiny_spec.std, tiny_spec.dim
    ).embed(crops)
    assert (got * reference).sum(axis=1).min() >= 0.9999
    assert embedder.embed([]).shape == (0, 8)


def test_providers_fastest_first_and_missing_ones_named():
    assert choose_providers(
        ["CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"]
    ) == [
        "TensorrtExecutionProvider",
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]
    assert choose_providers(["AzureExecutionProvider", "CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    with pytest.raises(ValueError, match=r"no CUDAExecutionProvider .*install onnxruntime-gpu"):
        choose_providers(["CPUExecutionProvider"], ["CUDAExecutionProvider"])


def test_corrupt_truncated_and_missing_files_get_one_clear_error(tiny_onnx: Path, tmp_path: Path):
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(tiny_onnx.read_bytes()[: tiny_onnx.stat().st_size // 2])
    for bad in (garbage, truncated):
        with pytest.raises(ModelFileError, match=f"{bad.name}: not a valid ONNX model.*export it again"):
            OnnxEmbedder(bad)
    with pytest.raises(ModelFileError, match=r"missing.onnx: no such ONNX file"):
        OnnxEmbedder(tmp_path / "missing.onnx")


def test_open_exported_picks_the_backend_by_suffix(tiny_onnx: Path, tmp_path: Path):
    assert isinstance(open_exported(tiny_onnx), OnnxEmbedder)
    with pytest.raises(ModelFileError, match=r"weights.bin: unknown embedder file type \.bin"):
        open_exported(tmp_path / "weights.bin")
    engine = tmp_path / "reid.engine"
    engine.write_bytes(b"not an engine")
    # The build record is read before TensorRT is needed, so this error is the same on any machine.
    with pytest.raises(ModelFileError, match=r"reid.engine: its build record reid.engine.json is missing"):
        open_exported(engine)


def test_tensorrt_provider_gets_fp16_and_an_engine_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from export.backends.onnx_backend import TRT_CACHE_ENV, provider_options

    monkeypatch.setenv(TRT_CACHE_ENV, str(tmp_path / "trt"))
    options = provider_options(["CUDAExecutionProvider", "TensorrtExecutionProvider", "CPUExecutionProvider"])
    assert options[0] == {} and options[2] == {}
    assert options[1]["trt_engine_cache_path"] == str(tmp_path / "trt")
    assert options[1]["trt_fp16_enable"] == "True" and options[1]["trt_engine_cache_enable"] == "True"
