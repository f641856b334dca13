"""Re-ID losses of the meta-train and meta-test steps (Eq. 4): batch-hard triplet + label-smoothed CE."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def batch_hard_triplet(features: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    """Triplet loss with hard mining (Hermans et al.): per anchor, its farthest positive and nearest negative.

    features: (B, D), L2-normalised inside (distances are Euclidean on the unit sphere, in [0, 2]);
    labels: (B,) int. Anchors without a positive or a negative in the batch are left out.
    """
    feats = F.normalize(features, dim=1)
    # Squared distance from the Gram matrix; clamped before the root, whose gradient is infinite at 0.
    dist = (2.0 - 2.0 * feats @ feats.t()).clamp(min=1e-12).sqrt()
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    pos = same & ~eye
    valid = pos.any(dim=1) & (~same).any(dim=1)
    if not valid.any():
        return features.sum() * 0.0
    hardest_pos = torch.where(pos, dist, torch.zeros_like(dist)).amax(dim=1)
    hardest_neg = torch.where(same, torch.full_like(dist, float("inf")), dist).amin(dim=1)
    return F.relu(hardest_pos - hardest_neg + margin)[valid].mean()


def reid_loss(
    features: torch.Tensor,
    logits: torch.Tensor,
    labels: torch.Tensor,
    margin: float,
    label_smoothing: float,
) -> torch.Tensor:
    """L = L_tri(features) + L_CE(logits) with label smoothing (Eq. 4).

    features: (B, D) before the BN neck; logits: (B, C) classifier scores of the neck features; labels (B,).
    """
    ce = F.cross_entropy(logits, labels, label_smoothing=label_smoothing)
    return batch_hard_triplet(features, labels, margin) + ce
