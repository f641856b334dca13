"""The trained Re-ID model as the pipeline's ``Embedder`` (torch backend; ONNX / TensorRT in ``export``)."""

from __future__ import annotations

from pathlib import Path

from export.backends.torch_backend import TorchEmbedder
from models.reid.checkpoint import load_checkpoint
from models.reid.vit import EmbeddingHead

# The model this repository trains and ships (models/weights/README.md has its card and figures).
DEFAULT_REID_WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "reid_vit.pt"


def load_reid_embedder(weights: str | Path | None = None, device: str = "cpu") -> TorchEmbedder:
    """An embedder over a Re-ID checkpoint (default: the shipped weights); CheckpointError when unusable."""
    ckpt = load_checkpoint(weights or DEFAULT_REID_WEIGHTS)
    return TorchEmbedder(
        EmbeddingHead(ckpt.build_net()),
        ckpt.data.image_size,
        ckpt.data.mean,
        ckpt.data.std,
        ckpt.model.width,
        device,
    )
