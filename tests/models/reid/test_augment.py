"""Whole-batch augmentation, normalisation and P x K identity sampling for Re-ID training."""

from collections import Counter

import numpy as np
import pytest
import torch

from export.preprocess import preprocess_crops
from models.reid.augment import PKSampler, augment, normalise

B, H, W = 6, 32, 16
NO_AUG = {"flip_p": 0.0, "pad_px": 0, "erase_p": 0.0}


def random_batch(seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (B, 3, H, W), generator=gen, dtype=torch.uint8)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_shape_dtype_kept_and_input_untouched():
    batch = random_batch()
    before = batch.clone()
    out = augment(batch, gen(0))
    assert out.shape == batch.shape and out.dtype == torch.uint8 and out.device == batch.device
    assert torch.equal(batch, before)


def test_same_seed_same_result_other_seed_differs():
    batch = random_batch()
    assert torch.equal(augment(batch, gen(3)), augment(batch, gen(3)))
    assert not torch.equal(augment(batch, gen(3)), augment(batch, gen(4)))


def test_nothing_enabled_is_identity():
    batch = random_batch()
    assert torch.equal(augment(batch, gen(0), **NO_AUG), batch)


def test_flip_flips():
    batch = random_batch()
    out = augment(batch, gen(0), **{**NO_AUG, "flip_p": 1.0})
    assert torch.equal(out, batch.flip(-1))
    assert torch.equal(out[0, :, :, 0], batch[0, :, :, W - 1])


def shift(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """(3, H, W) moved by (dy, dx) px with zeros coming in: out[y, x] = image[y + dy, x + dx]."""
    pad = max(abs(dy), abs(dx))
    padded = torch.nn.functional.pad(image, (pad, pad, pad, pad))
    return padded[:, pad + dy : pad + dy + H, pad + dx : pad + dx + W]


def test_pad_and_crop_shifts_each_image_within_pad():
    pad_px = 3
    batch = random_batch() | 1  # no zero pixels, so a zero in the output can only come from the padding
    out = augment(batch, gen(1), **{**NO_AUG, "pad_px": pad_px})
    offsets = []
    for image, moved in zip(batch, out, strict=True):
        found = [
            (dy, dx)
            for dy in range(-pad_px, pad_px + 1)
            for dx in range(-pad_px, pad_px + 1)
            if torch.equal(shift(image, dy, dx), moved)
        ]
        assert len(found) == 1
        offsets.append(found[0])
    assert len(set(offsets)) > 1  # each image draws its own window


def test_erasing_fills_one_rectangle_with_random_values():
    batch = torch.zeros((B, 3, H, W), dtype=torch.uint8)
    area = (0.1, 0.3)
    out = augment(batch, gen(2), **{**NO_AUG, "erase_p": 1.0, "erase_area": area})
    for image in out:
        changed = (image != 0).any(dim=0)
        rows, cols = torch.nonzero(changed, as_tuple=True)
        assert len(rows) > 0
        box_h = int(rows.max() - rows.min()) + 1
        box_w = int(cols.max() - cols.min()) + 1
        # The changed pixels fill their bounding box (a random value is all-zero in 3 channels 1 in 256^3).
        assert changed.sum().item() == box_h * box_w
        # Rounding the box sides to whole pixels may move the area a little outside the drawn range.
        assert area[0] * 0.8 <= box_h * box_w / (H * W) <= area[1] * 1.2
        assert len(torch.unique(image[:, changed])) > 100  # random values, not one fill colour


def test_erase_probability_zero_and_one():
    batch = random_batch()
    kept = augment(batch, gen(5), **{**NO_AUG, "erase_p": 0.0})
    erased = augment(batch, gen(5), **{**NO_AUG, "erase_p": 1.0})
    assert torch.equal(kept, batch)
    assert all(not torch.equal(a, b) for a, b in zip(erased, batch, strict=True))


def test_empty_batch_and_bad_input():
    empty = torch.zeros((0, 3, H, W), dtype=torch.uint8)
    assert augment(empty, gen(0)).shape == (0, 3, H, W)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\) uint8"):
        augment(torch.zeros((B, 3, H, W)), gen(0))
    with pytest.raises(ValueError, match="erase_area"):
        augment(random_batch(), gen(0), erase_area=(0.5, 0.1))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_same_result_on_gpu_from_a_cpu_generator():
    batch = random_batch()
    on_gpu = augment(batch.cuda(), gen(7))
    assert on_gpu.is_cuda
    assert torch.equal(on_gpu.cpu(), augment(batch, gen(7)))


def test_normalise_matches_runtime_preprocessing():
    batch = random_batch()
    crops_bgr = [image.permute(1, 2, 0).numpy()[:, :, ::-1].copy() for image in batch]
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.3, 0.25)
    expected = preprocess_crops(crops_bgr, (H, W), mean, std)
    out = normalise(batch, mean, std)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-5)
    # Default statistics map 0 -> -1 and 255 -> 1.
    extremes = torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 1, 2).expand(1, 3, 1, 2)
    assert normalise(extremes)[0, :, 0].tolist() == [[-1.0, 1.0]] * 3


# Labels of 12 images: label 0 x4, 1 x3, 2 x1, 3 x2, 4 x2; -1 marks clustering outliers.
LABELS = np.array([0, 0, 1, -1, 1, 2, 0, 3, 1, -1, 4, 0, 3, 4])


def test_pk_batches_hold_p_labels_k_each():
    sampler = PKSampler(LABELS, p=3, k=4, seed=0)
    for batch in sampler.batches(20):
        assert batch.shape == (12,) and batch.dtype == np.int64
        labels = LABELS[batch]
        assert (labels >= 0).all()  # outliers never sampled
        counts = Counter(labels.tolist())
        assert len(counts) == 3 and set(counts.values()) == {4}
        # Images come in groups of K of one label.
        assert all(len(set(group)) == 1 for group in labels.reshape(3, 4).tolist())


def test_pk_labels_visited_evenly():
    # 5 labels, 2 per batch, 10 batches = 4 full rounds: every label exactly 4 times.
    sampler = PKSampler(LABELS, p=2, k=1, seed=1)
    seen = Counter(int(LABELS[b[0]]) for batch in sampler.batches(10) for b in batch.reshape(2, 1))
    assert seen == {0: 4, 1: 4, 2: 4, 3: 4, 4: 4}


def test_pk_fewer_labels_than_p_takes_all():
    sampler = PKSampler(np.array([5, 5, 9, -1]), p=4, k=2, seed=0)
    for batch in sampler.batches(3):
        assert sorted(np.array([5, 5, 9, -1])[batch].tolist()) == [5, 5, 9, 9]


def test_pk_deterministic_for_seed_and_epoch():
    def run(seed: int, epoch: int) -> list[list[int]]:
        return [b.tolist() for b in PKSampler(LABELS, p=2, k=3, seed=seed).batches(6, epoch=epoch)]

    assert run(0, 0) == run(0, 0)
    assert run(0, 0) != run(1, 0)
    assert run(0, 0) != run(0, 1)


@pytest.mark.parametrize("labels", [np.array([3, 3, -1]), np.array([-1, -1]), np.array([], dtype=np.int64)])
def test_pk_needs_two_labels(labels):
    with pytest.raises(ValueError, match="need at least 2 distinct labels"):
        PKSampler(labels, p=2, k=2, seed=0)
