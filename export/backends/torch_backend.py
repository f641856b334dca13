"""The PyTorch backend: any module mapping normalised images to embeddings, behind ``Embedder``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from export.preprocess import embed_in_batches

# Crops per forward pass: bounds memory when a frame holds many vehicles.
DEFAULT_BATCH = 64


class TorchEmbedder:
    """Embeds BGR uint8 crops with ``module``: (B, 3, H, W) float images -> (B, D) L2-normalised rows.

    ``input_size``: (H, W) px the crops are resized to; ``mean``/``std``: RGB normalisation of the [0, 1]
    pixel scale, as the model was trained. Inference only (eval mode, no autograd), so one instance may be
    shared by camera threads.
    """

    def __init__(
        self,
        module: nn.Module,
        input_size: tuple[int, int],
        mean: tuple[float, float, float],
        std: tuple[float, float, float],
        dim: int,
        device: str = "cpu",
        batch_size: int = DEFAULT_BATCH,
    ) -> None:
        self.device = torch.device(device)
        self.module = module.eval().to(self.device)
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.mean, self.std = tuple(mean), tuple(std)
        self.dim = int(dim)
        self.batch_size = batch_size

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """crops: BGR uint8 (h, w, 3) of any size -> (N, dim) float32 unit rows; (0, dim) for none."""
        return embed_in_batches(
            crops, self.run, self.dim, self.batch_size, self.input_size, self.mean, self.std
        )

    @torch.inference_mode()
    def run(self, batch: np.ndarray) -> np.ndarray:
        """(B, 3, H, W) float32 preprocessed images -> (B, dim) float32 embeddings."""
        return self.module(torch.from_numpy(batch).to(self.device)).float().cpu().numpy()
