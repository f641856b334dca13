"""TensorRT engines: the build record, the version / GPU checks, calibration data (any machine), and
building + running an engine (GPU-marked: needs CUDA and the tensorrt package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from export.backends.tensorrt_backend import check_engine_matches
from export.spec import EmbedderSpec, ModelFileError
from export.tensorrt_build import EngineInfo, calibration_batches, calibration_crops

HAS_TENSORRT = torch.cuda.is_available() and importlib.util.find_spec("tensorrt") is not None


def _info(spec: EmbedderSpec) -> EngineInfo:
    return EngineInfo(spec, "fp16", "10.9.0", "NVIDIA H100 80GB HBM3", (9, 0), 64)


def test_build_record_round_trips_and_bad_records_are_named(tmp_path: Path, tiny_spec: EmbedderSpec):
    engine = tmp_path / "reid.engine"
    _info(tiny_spec).write(engine)
    assert EngineInfo.read(engine) == _info(tiny_spec)
    (tmp_path / "reid.engine.json").write_text('{"spec": {}}')
    with pytest.raises(ModelFileError, match=r"reid\.engine\.json"):
        EngineInfo.read(engine)


def test_engine_from_another_tensorrt_or_gpu_is_refused_with_the_fix(tiny_spec: EmbedderSpec):
    info, path = _info(tiny_spec), Path("reid.engine")
    check_engine_matches(info, path, "10.9.0", "NVIDIA H100", (9, 0))  # same build: accepted
    with pytest.raises(ModelFileError, match=r"built with TensorRT 10.9.0, this is 10.13.0; rebuild it here"):
        check_engine_matches(info, path, "10.13.0", "NVIDIA H100", (9, 0))
    with pytest.raises(
        ModelFileError, match=r"compute 9.0\), this GPU is NVIDIA A10 \(compute 8.6\); rebuild"
    ):
        check_engine_matches(info, path, "10.9.0", "NVIDIA A10", (8, 6))


def test_calibration_crops_and_batches(tmp_path: Path, tiny_spec: EmbedderSpec):
    with pytest.raises(ModelFileError, match=r"no readable .jpg/.png crops for INT8 calibration"):
        calibration_crops(tmp_path, 10)
    rng = np.random.default_rng(0)
    for i in range(7):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), rng.integers(0, 256, (20 + i, 30, 3), dtype=np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    crops = calibration_crops(tmp_path, 5)
    assert len(crops) == 5
    batches = list(calibration_batches(crops, tiny_spec, 2))
    assert len(batches) == 2 and batches[0].shape == (2, 3, 16, 24)  # the odd fifth crop is dropped


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_TENSORRT, reason="needs an NVIDIA GPU and the tensorrt package")
def test_fp16_and_int8_engines_match_torch(
    tmp_path: Path, tiny_onnx: Path, tiny_module: nn.Module, tiny_spec: EmbedderSpec
):
    from export.backends.tensorrt_backend import TensorRTEmbedder
    from export.backends.torch_backend import TorchEmbedder
    from export.tensorrt_build import build_engine

    rng = np.random.default_rng(2)
    crops = [rng.integers(0, 256, (40, 60, 3), dtype=np.uint8) for _ in range(64)]
    calib = tmp_path / "calib"
    calib.mkdir()
    for i, crop in enumerate(crops):
        cv2.imwrite(str(calib / f"{i:03d}.png"), crop)
    reference = TorchEmbedder(tiny_module, tiny_spec.input_size, tiny_spec.mean, tiny_spec.std, 8).embed(
        crops
    )
    fp16 = TensorRTEmbedder(build_engine(tiny_onnx, tmp_path / "fp16.engine"))
    assert (fp16.embed(crops) * reference).sum(axis=1).min() >= 0.999
    int8 = TensorRTEmbedder(build_engine(tiny_onnx, tmp_path / "int8.engine", int8=True, calib_dir=calib))
    assert (int8.embed(crops) * reference).sum(axis=1).min() >= 0.99
    assert (tmp_path / "fp16.engine.timing").is_file() and (tmp_path / "int8.engine.calib").is_file()
