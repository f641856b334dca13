"""ONNX export of an embedder module: one checked file, dynamic batch, its spec inside, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from export.onnx_export import ONNX_OPSET, export_onnx
from export.onnx_model import check_io, read_spec
from export.spec import EmbedderSpec, ModelFileError


def test_export_is_one_checked_file_with_dynamic_batch_and_spec(
    tiny_onnx: Path, tiny_module: nn.Module, tiny_spec: EmbedderSpec
):
    assert [p.name for p in tiny_onnx.parent.iterdir()] == ["tiny.onnx"]  # no external-data file
    model = onnx.load(str(tiny_onnx))
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version >= 17 and ONNX_OPSET >= 17
    assert read_spec(model, tiny_onnx) == tiny_spec
    batch_dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch_dim.dim_param and not batch_dim.dim_value
    session = ort.InferenceSession(str(tiny_onnx), providers=["CPUExecutionProvider"])
    for batch in (1, 5, 70):
        images = np.random.default_rng(batch).normal(size=(batch, 3, 16, 24)).astype(np.float32)
        got = session.run(None, {"images": images})[0]
        assert got.shape == (batch, 8)
        assert np.allclose(got, tiny_module(torch.from_numpy(images)).detach().numpy(), atol=1e-5)


def test_spec_mismatches_are_named(tiny_onnx: Path, tiny_spec: EmbedderSpec):
    model = onnx.load(str(tiny_onnx))
    with pytest.raises(ModelFileError, match=r"input shape .*metadata says \(batch, 3, 32, 32\)"):
        check_io(model, EmbedderSpec((32, 32), tiny_spec.mean, tiny_spec.std, 8, "", ""), tiny_onnx)
    with pytest.raises(ModelFileError, match=r"output shape .*metadata says \(batch, 128\)"):
        check_io(
            model, EmbedderSpec(tiny_spec.input_size, tiny_spec.mean, tiny_spec.std, 128, "", ""), tiny_onnx
        )


def test_a_graph_without_crosscam_metadata_is_refused_with_the_fix(tiny_onnx: Path, tmp_path: Path):
    plain = tmp_path / "plain.onnx"
    model = onnx.load(str(tiny_onnx))
    del model.metadata_props[:]
    onnx.save(model, str(plain))
    with pytest.raises(
        ModelFileError, match=r"plain.onnx: no crosscam embedder metadata.*crosscam export onnx"
    ):
        read_spec(onnx.load(str(plain)), plain)


def test_malformed_metadata_and_old_opsets(tmp_path: Path, tiny_module: nn.Module, tiny_spec: EmbedderSpec):
    with pytest.raises(ModelFileError, match=r"meta.json: its crosscam embedder metadata is unreadable"):
        EmbedderSpec.from_json('{"version": 1, "input_size": [64]}', tmp_path / "meta.json")
    with pytest.raises(ModelFileError, match="opset 16 is too old"):
        export_onnx(tiny_module, tiny_spec, tmp_path / "old.onnx", opset=16)
