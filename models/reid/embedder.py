"""The trained Re-ID model as the pipeline's ``Embedder`` (torch backend) and as an exportable module
(``export.onnx_export`` turns it into ONNX; ``export.backends`` run that)."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from export.backends.torch_backend import TorchEmbedder
from export.spec import EmbedderSpec
from models.manifest import sha256
from models.reid.checkpoint import load_checkpoint
from models.reid.vit import EmbeddingHead

# The model this repository trains and ships (models/weights/README.md has its card and figures).
DEFAULT_REID_WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "reid_vit.pt"


def reid_module(weights: str | Path | None = None) -> tuple[nn.Module, EmbedderSpec]:
    """A Re-ID checkpoint (default: the shipped weights) as an inference module, images (B, 3, H, W)
    normalised -> (B, D) unit rows, and the spec an exported copy carries. CheckpointError when unusable."""
    path = Path(weights or DEFAULT_REID_WEIGHTS)
    ckpt = load_checkpoint(path)
    spec = EmbedderSpec(
        input_size=tuple(ckpt.data.image_size),  # type: ignore[arg-type]
        mean=tuple(ckpt.data.mean),  # type: ignore[arg-type]
        std=tuple(ckpt.data.std),  # type: ignore[arg-type]
        dim=ckpt.model.width,
        source_sha256=sha256(path),
        source_name=path.name,
    )
    return EmbeddingHead(ckpt.build_net()).eval(), spec


def load_reid_embedder(weights: str | Path | None = None, device: str = "cpu") -> TorchEmbedder:
    """An embedder over a Re-ID checkpoint (default: the shipped weights) on torch; CheckpointError when
    unusable."""
    module, spec = reid_module(weights)
    return TorchEmbedder(module, spec.input_size, spec.mean, spec.std, spec.dim, device)


def shipped_onnx(weights: str | Path | None = None) -> Path | None:
    """The ONNX copy shipped beside a checkpoint (``<weights>.onnx``) when it was exported from exactly that
    checkpoint (its metadata carries the checkpoint's sha256), else None."""
    from export.onnx_model import load_onnx_model, read_spec

    path = Path(weights or DEFAULT_REID_WEIGHTS)
    onnx_path = path.with_suffix(".onnx")
    if not (path.is_file() and onnx_path.is_file()):
        return None
    spec = read_spec(load_onnx_model(onnx_path), onnx_path)
    return onnx_path if spec.source_sha256 == sha256(path) else None
