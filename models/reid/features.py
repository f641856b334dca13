"""Embeddings of a whole image bank with a Re-ID network, and retrieval scores of a network."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from models.reid.augment import normalise
from models.reid.config import ReidConfig
from models.reid.data import ReidRecord, load_image_bank
from models.reid.evaluate import RankResult, evaluate_features
from models.reid.vit import ReidNet


@torch.no_grad()
def extract_embeddings(net: ReidNet, bank: torch.Tensor, cfg: ReidConfig) -> np.ndarray:
    """bank: (N, 3, H, W) uint8 RGB -> (N, D) float32 L2-normalised embeddings (eval mode, no augmentation)."""
    device = cfg.torch_device()
    was_training = net.training
    net.eval()
    out = []
    for first in range(0, bank.shape[0], cfg.eval.batch_size):
        batch = normalise(bank[first : first + cfg.eval.batch_size].to(device), cfg.data.mean, cfg.data.std)
        out.append(net.embed(batch).float().cpu())
    net.train(was_training)
    if not out:
        return np.zeros((0, net.dim), dtype=np.float32)
    return torch.cat(out).numpy()


@dataclass(frozen=True)
class EvalSplit:
    """Query and gallery crops of a VeRi-layout set, decoded once at the model's input size."""

    query: Sequence[ReidRecord]
    gallery: Sequence[ReidRecord]
    query_bank: torch.Tensor
    gallery_bank: torch.Tensor

    @classmethod
    def load(
        cls,
        query: Sequence[ReidRecord],
        gallery: Sequence[ReidRecord],
        size_hw: tuple[int, int],
        progress: bool,
    ) -> EvalSplit:
        return cls(
            query,
            gallery,
            load_image_bank([r.path for r in query], size_hw, progress=progress),
            load_image_bank([r.path for r in gallery], size_hw, progress=progress),
        )

    def score(self, net: ReidNet, cfg: ReidConfig) -> RankResult:
        """mAP and CMC of ``net`` under the cross-camera protocol."""
        q = extract_embeddings(net, self.query_bank, cfg)
        g = extract_embeddings(net, self.gallery_bank, cfg)
        return evaluate_features(q, g, self.query, self.gallery)
