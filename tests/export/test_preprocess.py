"""The one crop preprocessing shared by training evaluation and every runtime backend."""

import cv2
import numpy as np
import pytest

from export.preprocess import DEFAULT_MEAN, DEFAULT_STD, preprocess_crops

SIZE_HW = (16, 8)


def test_shape_dtype_any_crop_size():
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8) for h, w in [(40, 20), (1, 1), (7, 300)]]
    out = preprocess_crops(crops, SIZE_HW, DEFAULT_MEAN, DEFAULT_STD)
    assert out.shape == (3, 3, *SIZE_HW)
    assert out.dtype == np.float32
    assert out.flags.c_contiguous


def test_no_crops_gives_empty_batch():
    out = preprocess_crops([], SIZE_HW, DEFAULT_MEAN, DEFAULT_STD)
    assert out.shape == (0, 3, *SIZE_HW) and out.dtype == np.float32


def test_bgr_becomes_rgb_on_minus_one_to_one():
    blue_bgr = np.zeros((5, 5, 3), dtype=np.uint8)
    blue_bgr[..., 0] = 255
    out = preprocess_crops([blue_bgr], SIZE_HW, DEFAULT_MEAN, DEFAULT_STD)[0]
    # (0 / 255 - 0.5) / 0.5 = -1 for red and green, (255 / 255 - 0.5) / 0.5 = 1 for blue (RGB channel 2).
    np.testing.assert_allclose(out[0], -1.0)
    np.testing.assert_allclose(out[1], -1.0)
    np.testing.assert_allclose(out[2], 1.0)


def test_custom_mean_std_per_channel():
    crop = np.full((4, 4, 3), (51, 102, 204), dtype=np.uint8)  # BGR: R = 204, G = 102, B = 51
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 0.1)
    out = preprocess_crops([crop], (2, 2), mean, std)[0]
    # R: (0.8 - 0.1) / 0.5 = 1.4; G: (0.4 - 0.2) / 0.25 = 0.8; B: (0.2 - 0.3) / 0.1 = -1.0
    np.testing.assert_allclose(out[:, 0, 0], [1.4, 0.8, -1.0], rtol=1e-5)


def test_resize_is_bilinear_and_views_are_accepted():
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, size=(60, 50, 3), dtype=np.uint8)
    crop = frame[5:45, 10:30]  # a non-contiguous view, as crops from a frame are
    expected = cv2.resize(crop, (SIZE_HW[1], SIZE_HW[0]), interpolation=cv2.INTER_LINEAR)[:, :, ::-1]
    expected = (expected.astype(np.float32) / 255 - 0.5) / 0.5
    out = preprocess_crops([crop], SIZE_HW, DEFAULT_MEAN, DEFAULT_STD)[0]
    np.testing.assert_allclose(out, expected.transpose(2, 0, 1), atol=1e-6)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4, 3), dtype=np.float32),
        np.zeros((4, 4), dtype=np.uint8),
        np.zeros((4, 4, 4), dtype=np.uint8),
        np.zeros((0, 4, 3), dtype=np.uint8),
        [[1, 2, 3]],
    ],
)
def test_bad_crop_is_named(bad):
    good = np.zeros((4, 4, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"crop 1: expected"):
        preprocess_crops([good, bad], SIZE_HW, DEFAULT_MEAN, DEFAULT_STD)


def test_bad_size_or_stats():
    crop = np.zeros((4, 4, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="size_hw"):
        preprocess_crops([crop], (0, 8), DEFAULT_MEAN, DEFAULT_STD)
    with pytest.raises(ValueError, match="std must be positive"):
        preprocess_crops([crop], SIZE_HW, DEFAULT_MEAN, (0.5, 0.0, 0.5))
