"""Patch rule, Eq. 1-2 refinement on hand-computed cases, background ratio, IoU, pixel features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.reid.patch_mask import (
    background_ratio,
    mean_patch_iou,
    patch_iou,
    patch_mask,
    pixel_patch_features,
    refine_batch,
    refine_patch_mask,
    space_constrained_scores,
)


def test_patch_rule_more_than_half_exactly_half_is_background() -> None:
    # 2 x 4 px, P = 2: patch 0 holds 3 of 4 vehicle pixels, patch 1 exactly 2 of 4.
    pixels = np.array([[1, 1, 1, 0], [1, 0, 0, 1]], dtype=bool)
    assert patch_mask(pixels, 2).tolist() == [[True, False]]


def test_patch_rule_odd_patch_and_batch() -> None:
    # P = 3: 9 px per patch, 4 vehicle px is under half, 5 is over.
    four, five = np.zeros((3, 3), bool), np.zeros((3, 3), bool)
    four.flat[:4] = True
    five.flat[:5] = True
    batch = np.stack([np.hstack([four, five]), np.hstack([five, np.ones((3, 3), bool)])])
    assert patch_mask(batch, 3).tolist() == [[[False, True]], [[True, True]]]


def test_patch_rule_rejects_partial_patches() -> None:
    with pytest.raises(ValueError, match="not a whole number of 4x4 patches"):
        patch_mask(np.zeros((6, 8), bool), 4)


def test_refinement_hand_computed_flips_one_patch() -> None:
    # Patches 0, 1 vehicle; 2, 3 background. f = (1,0), (1,0), (0,3), (2,0); cosine ignores the norms.
    #   M_VV = [[1, 1], [1, 1]]           -> S_VV = [1, 1]
    #   M_BV = [[0, 0], [1, 1]] (rows 2,3) -> S_BV = [0, 1];  M_BV^T = [[0, 1], [0, 1]] -> S_VB = [.5, .5]
    #   M_BB = [[1, 0], [0, 1]]           -> S_BB = [.5, .5]
    #   S_V = S_VV - S_VB = [.5, .5];  S_B = S_BV - S_BB = [-.5, .5]
    # Patch 3 looks like the vehicle: its score is positive and it becomes vehicle.
    f = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 3.0], [2.0, 0.0]])
    refined, scores = refine_patch_mask(f, torch.tensor([True, True, False, False]))
    assert scores.tolist() == pytest.approx([0.5, 0.5, -0.5, 0.5])
    assert refined.tolist() == [True, True, False, True]


def test_refinement_tie_is_background() -> None:
    # f = (1,0) V, (0,0) V, (0,1) B. A zero feature is similar (0) to nothing, itself included:
    #   patch 0: S_VV = (1 + 0) / 2 = .5, S_VB = 0 -> .5;  patch 1: S_VV = 0, S_VB = 0 -> 0 (noise)
    #   patch 2: S_BV = (0 + 0) / 2 = 0, S_BB = 1 -> -1
    f = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    refined, scores = refine_patch_mask(f, torch.tensor([True, True, False]))
    assert scores.tolist() == pytest.approx([0.5, 0.0, -1.0])
    assert refined.tolist() == [True, False, False]


@pytest.mark.parametrize("mask", [[True, True, True], [False, False, False]])
def test_refinement_single_region_returns_mask_unchanged(mask: list[bool]) -> None:
    refined, scores = refine_patch_mask(torch.randn(3, 4), torch.tensor(mask))
    assert refined.tolist() == mask
    assert scores.tolist() == [0.0, 0.0, 0.0]
    assert refine_batch(torch.randn(1, 3, 4), torch.tensor([mask])).tolist() == [mask]


def test_batched_refinement_matches_reference() -> None:
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(5, 16, 6, generator=g)
    masks = torch.rand(5, 16, generator=g) > 0.5
    masks[4] = True  # one single-region image in the batch
    reference = [refine_patch_mask(f, m) for f, m in zip(feats, masks, strict=True)]
    scores = space_constrained_scores(feats, masks)
    assert torch.allclose(scores, torch.stack([s for _, s in reference]), atol=1e-6)
    assert torch.equal(refine_batch(feats, masks), torch.stack([r for r, _ in reference]))


def test_background_ratio() -> None:
    assert background_ratio(np.array([True, False, False, False])) == 0.75
    ratios = background_ratio(torch.tensor([[True, True], [False, True]]))
    assert ratios.tolist() == [0.0, 0.5]


def test_patch_iou() -> None:
    assert patch_iou(np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0], bool)) == pytest.approx(1 / 3)
    assert patch_iou(np.zeros((2, 2), bool), np.zeros((2, 2), bool)) == 1.0
    pred = np.array([[[1, 1], [0, 0]], [[0, 0], [0, 0]]], bool)
    truth = np.array([[[1, 0], [0, 0]], [[0, 0], [0, 0]]], bool)
    assert mean_patch_iou(pred, truth) == pytest.approx((0.5 + 1.0) / 2)
    with pytest.raises(ValueError, match="one shape"):
        patch_iou(np.zeros(3, bool), np.zeros(4, bool))


def test_pixel_features_shape_order_and_standardised() -> None:
    images = torch.full((2, 3, 16, 16), 0.5)
    images[0, :, 0:8, 8:16] = torch.tensor([1.0, 0.0, 0.0]).view(3, 1, 1)  # red top-right patch, P = 8
    feats = pixel_patch_features(images, 8)
    assert feats.shape == (2, 4, 11) and feats.dtype == torch.float32
    assert torch.isfinite(feats).all()  # the flat second image must not divide by zero
    assert torch.allclose(feats.mean(1), torch.zeros(2, 11), atol=1e-5)
    colour = feats[0, :, :6]  # row-major patches: index 1 is the top-right one
    others = [i for i in range(4) if i != 1]
    assert (colour[1] - colour[others]).abs().sum() > 1.0
    assert torch.allclose(colour[others], colour[others[0]].expand(3, -1), atol=1e-5)


def test_pixel_features_refine_a_coloured_square() -> None:
    # A red 16 x 16 square on grey noise, 32 x 32 px, P = 8; the segmenter's mask wrongly drops one of the
    # square's patches and adds a corner patch: the refinement puts both right.
    g = torch.Generator().manual_seed(1)
    images = 0.45 + 0.1 * torch.rand(1, 3, 32, 32, generator=g)
    images[0, :, 8:24, 8:24] = torch.tensor([0.8, 0.1, 0.1]).view(3, 1, 1)
    truth = torch.zeros(4, 4, dtype=torch.bool)
    truth[1:3, 1:3] = True
    noisy = truth.clone()
    noisy[1, 1], noisy[0, 0] = False, True
    refined = refine_batch(pixel_patch_features(images, 8), noisy.reshape(1, -1))
    assert torch.equal(refined.reshape(4, 4), truth)
