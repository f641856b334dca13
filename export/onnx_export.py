"""Exporting an embedder module to one self-contained ONNX file: dynamic batch, checked, with its spec inside.

Any module mapping normalised images (B, 3, H, W) to embeddings (B, D) exports here; ``models`` turns its
checkpoints into such a module and an ``EmbedderSpec``. The exporter is torch's ``torch.export``-based one
(``dynamo=True``; the TorchScript exporter is deprecated).
"""

from __future__ import annotations

import logging
from pathlib import Path

import onnx
import torch
from torch import nn

from export.spec import METADATA_KEY, EmbedderSpec, ModelFileError

ONNX_OPSET = 18  # the issue asks >= 17; 18 is the oldest opset torch's current exporter writes natively
INPUT_NAME, OUTPUT_NAME = "images", "embeddings"
# The largest batch the exported graph promises to accept; the dimension itself stays symbolic.
MAX_EXPORT_BATCH = 4096


def export_onnx(module: nn.Module, spec: EmbedderSpec, out: Path, opset: int = ONNX_OPSET) -> Path:
    """Write ``module`` (images (B, 3, H, W) float32 -> (B, D) float32) to ``out`` as one ONNX file.

    The batch axis is dynamic; the model is checked with ``onnx.checker`` (full check) and its input and
    output shapes against ``spec``; ``spec`` is stored as metadata. Returns ``out``.
    """
    if opset < 17:
        raise ModelFileError(f"opset {opset} is too old: crosscam exports need opset >= 17")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    module = module.eval().cpu()
    height, width = spec.input_size
    example = torch.zeros(2, 3, height, width)
    batch = torch.export.Dim("batch", min=1, max=MAX_EXPORT_BATCH)
    # torch.onnx logs every step at INFO; a CLI wants one line per export, not eight.
    logging.getLogger("torch.onnx").setLevel(logging.WARNING)
    with torch.no_grad():
        program = torch.onnx.export(
            module,
            (example,),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: batch},),
            opset_version=opset,
            verbose=False,
        )
    model = program.model_proto
    _set_metadata(model, spec)
    # One file (weights inline): the ViTs here are a few MB, far below protobuf's 2 GB limit.
    onnx.save_model(model, str(out), save_as_external_data=False)
    onnx.checker.check_model(str(out), full_check=True)
    check_io(model, spec, out)
    return out


def _set_metadata(model: onnx.ModelProto, spec: EmbedderSpec) -> None:
    for prop in list(model.metadata_props):
        if prop.key == METADATA_KEY:
            model.metadata_props.remove(prop)
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, spec.to_json()
    model.producer_name = "crosscam"


def read_spec(model: onnx.ModelProto, path: Path) -> EmbedderSpec:
    """The ``EmbedderSpec`` stored in an ONNX model; ModelFileError when it was not exported by crosscam."""
    for prop in model.metadata_props:
        if prop.key == METADATA_KEY:
            return EmbedderSpec.from_json(prop.value, path)
    raise ModelFileError(
        f"{path}: no crosscam embedder metadata (input size, normalisation, dimension); export the weights "
        "with `crosscam export onnx --weights W --out FILE.onnx`"
    )


def _dims(value_info: onnx.ValueInfoProto) -> list[int | str]:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def check_io(model: onnx.ModelProto, spec: EmbedderSpec, path: Path) -> None:
    """ModelFileError unless the graph takes one (batch, 3, H, W) input and gives one (batch, D) output as
    ``spec`` says (batch symbolic)."""
    inputs = [i for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
    if len(inputs) != 1 or len(model.graph.output) != 1:
        raise ModelFileError(
            f"{path}: an embedder takes one image batch and returns one embedding batch; this graph has "
            f"{len(inputs)} inputs and {len(model.graph.output)} outputs"
        )
    got_in, got_out = _dims(inputs[0]), _dims(model.graph.output[0])
    want_in = [3, *spec.input_size]
    if len(got_in) != 4 or got_in[1:] != want_in or (isinstance(got_in[0], int) and got_in[0] > 0):
        raise ModelFileError(
            f"{path}: input shape {got_in}, but its metadata says (batch, {', '.join(map(str, want_in))}) "
            "with a dynamic batch; re-export it with `crosscam export onnx`"
        )
    if len(got_out) != 2 or got_out[1] != spec.dim:
        raise ModelFileError(
            f"{path}: output shape {got_out}, but its metadata says (batch, {spec.dim}); re-export it with "
            "`crosscam export onnx`"
        )
