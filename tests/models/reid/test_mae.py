"""SAM-driven MAE: which patches stay visible, patch layout, and the reconstruction loss."""

from __future__ import annotations

import torch

from models.reid.config import load_reid_config
from models.reid.mae import (
    MaskedAutoencoder,
    choose_visible,
    patchify,
    reconstruction_loss,
    unpatchify,
    visible_mask,
)


def test_patchify_round_trip_and_layout():
    images = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).view(2, 3, 4, 6)
    patches = patchify(images, 2)
    assert patches.shape == (2, 6, 12)
    # Patch 1 is row 0, columns 2-3; its first pixel (row 0, col 2) holds the three channels in order.
    assert patches[0, 1, :3].tolist() == [images[0, c, 0, 2].item() for c in range(3)]
    assert torch.equal(unpatchify(patches, 2, (2, 3)), images)


def test_sam_masking_keeps_a_quarter_of_the_vehicle_patches_only():
    gen = torch.Generator().manual_seed(0)
    vehicle = torch.zeros(3, 16, dtype=torch.bool)
    vehicle[0, :8] = True  # 8 vehicle patches -> 2 visible
    vehicle[1, 4:16] = True  # 12 -> 3 visible
    # image 2 has no vehicle patch: falls back to all 16 -> 4 visible
    keep, pad = choose_visible(vehicle, 0.25, gen)
    assert keep.shape == (3, 4)
    assert (~pad).sum(dim=1).tolist() == [2, 3, 4]
    vis = visible_mask(keep, pad, 16)
    assert vis.sum(dim=1).tolist() == [2, 3, 4]
    assert not (vis[0] & ~vehicle[0]).any() and not (vis[1] & ~vehicle[1]).any()


def test_random_masking_draws_from_all_patches_and_varies():
    gen = torch.Generator().manual_seed(0)
    keep, pad = choose_visible(torch.ones(200, 64, dtype=torch.bool), 0.25, gen)
    assert keep.shape == (200, 16) and not pad.any()
    counts = visible_mask(keep, pad, 64).float().mean(dim=0)
    assert counts.min() > 0.1 and counts.max() < 0.45  # every position is sometimes visible, none always


def test_loss_all_pixels_vs_masked_only():
    pred = torch.zeros(1, 4, 3)
    target = torch.tensor([[[1.0] * 3, [2.0] * 3, [0.0] * 3, [0.0] * 3]])
    visible = torch.tensor([[True, False, False, False]])
    # all: (1 + 4 + 0 + 0) / 4; masked: patches 1-3 only: (4 + 0 + 0) / 3
    assert reconstruction_loss(pred, target, visible, "all", False).item() == 1.25
    assert abs(reconstruction_loss(pred, target, visible, "masked", False).item() - 4 / 3) < 1e-6


def test_padding_does_not_change_an_images_output():
    cfg = load_reid_config(smoke=True)
    torch.manual_seed(0)
    model = MaskedAutoencoder(cfg.model, cfg.data.image_size).eval()
    image = torch.randn(1, 3, *cfg.data.image_size)
    keep = torch.tensor([[3, 7]])
    alone = model(image, keep, torch.zeros(1, 2, dtype=torch.bool))
    padded = model(image, torch.tensor([[3, 7, 0, 0]]), torch.tensor([[False, False, True, True]]))
    assert torch.allclose(alone, padded, atol=1e-5)
