"""TorchEmbedder: the Embedder contract over any torch module, with the shared preprocessing."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from export.backends.torch_backend import TorchEmbedder
from export.preprocess import preprocess_crops
from trackers.appearance import Embedder


class _MeanColour(nn.Module):
    """(B, 3, H, W) -> (B, 3) L2-normalised mean colour plus a constant, so every row is non-zero."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return F.normalize(images.mean(dim=(2, 3)) + 2.0, dim=1)


def _crops(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [
        rng.integers(0, 256, (int(rng.integers(5, 80)), int(rng.integers(5, 80)), 3), dtype=np.uint8)
        for _ in range(n)
    ]


def test_contract_and_preprocessing():
    embedder = TorchEmbedder(_MeanColour(), (16, 24), (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), dim=3, batch_size=4)
    assert isinstance(embedder, Embedder)
    crops = _crops(10)
    out = embedder.embed(crops)
    assert out.shape == (10, 3) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    expected = _MeanColour()(
        torch.from_numpy(preprocess_crops(crops, (16, 24), (0.5,) * 3, (0.5,) * 3))
    ).numpy()
    assert np.allclose(out, expected, atol=1e-6)  # batches of 4 give what one batch of 10 gives
    assert embedder.embed([]).shape == (0, 3)
