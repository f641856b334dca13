"""Reading and checking crosscam ONNX embedder files without torch: what every runtime needs from one.

The exporter (``export.onnx_export``) writes these files; ONNX Runtime and the TensorRT builder read them
through here, so a runtime-only install (onnxruntime, no torch) can load them.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from google.protobuf.message import DecodeError

from export.spec import METADATA_KEY, EmbedderSpec, ModelFileError


def load_onnx_model(path: Path) -> onnx.ModelProto:
    """Read and check an ONNX file; ModelFileError naming the file and the fix when it is not a valid one."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(
            f"{path}: no such ONNX file; export one with `crosscam export onnx --out {path}`"
        )
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except (DecodeError, onnx.checker.ValidationError, ValueError, RuntimeError) as exc:
        raise ModelFileError(
            f"{path}: not a valid ONNX model ({type(exc).__name__}: {str(exc).splitlines()[0][:160]}); the "
            "file is corrupt or truncated: export it again with `crosscam export onnx`"
        ) from None
    return model


def set_metadata(model: onnx.ModelProto, spec: EmbedderSpec) -> None:
    """Store ``spec`` in the model's metadata (replacing an older one) and name crosscam as the producer."""
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
