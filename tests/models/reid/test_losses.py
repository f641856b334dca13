"""Re-ID losses (Eq. 4) on hand-computed cases."""

from __future__ import annotations

import math

import torch

from models.reid.losses import batch_hard_triplet, reid_loss


def test_batch_hard_triplet_hand_computed():
    # Unit vectors at angles 0, 90 deg (identity 0) and 180, 270 deg... identity 1 at 60 and 120 deg.
    angles = torch.tensor([0.0, 90.0, 60.0, 120.0]) * math.pi / 180
    feats = torch.stack([angles.cos(), angles.sin()], dim=1)
    labels = torch.tensor([0, 0, 1, 1])
    # Chord length between angles a, b: 2 sin(|a-b|/2).
    d = lambda deg: 2 * math.sin(math.radians(deg) / 2)  # noqa: E731
    # anchor 0: pos 90 -> d(90); nearest neg 60 -> d(60).  anchor 1 (90): pos d(90); neg min(d(30), d(30)).
    # anchor 2 (60): pos 120 -> d(60); neg min(d(60), d(30)) = d(30).  anchor 3 (120): pos d(60); neg d(30).
    margin = 0.3
    expected = (
        max(0, d(90) - d(60) + margin)
        + max(0, d(90) - d(30) + margin)
        + max(0, d(60) - d(30) + margin)
        + max(0, d(60) - d(30) + margin)
    ) / 4
    assert abs(batch_hard_triplet(feats, labels, margin).item() - expected) < 1e-5


def test_triplet_is_zero_for_well_separated_identities_and_scale_free():
    feats = torch.tensor([[1.0, 0.0], [0.99, 0.01], [-1.0, 0.0], [-0.98, 0.02]])
    labels = torch.tensor([0, 0, 1, 1])
    assert batch_hard_triplet(feats, labels, 0.3).item() == 0.0
    assert batch_hard_triplet(10 * feats, labels, 0.3).item() == 0.0


def test_triplet_without_positives_is_zero_but_differentiable():
    feats = torch.randn(3, 4, requires_grad=True)
    loss = batch_hard_triplet(feats, torch.tensor([0, 1, 2]), 0.3)
    loss.backward()
    assert loss.item() == 0.0 and feats.grad is not None


def test_reid_loss_adds_label_smoothed_ce():
    feats = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    labels = torch.tensor([0, 1])
    # CE with smoothing 0.1 over 2 classes: target (0.95, 0.05); -0.95 log p - 0.05 log q, p = sigmoid(2).
    p = 1 / (1 + math.exp(-2))
    expected_ce = -(0.95 * math.log(p) + 0.05 * math.log(1 - p))
    assert abs(reid_loss(feats, logits, labels, 0.3, 0.1).item() - expected_ce) < 1e-5
