"""The one crop preprocessing shared by Re-ID training-time evaluation and every runtime backend.

Training evaluation, the torch embedder, ONNX Runtime and TensorRT all call ``preprocess_crops``, so a model
sees exactly the same pixels whichever path runs it (parity tests compare the backends on its output).
Numpy and OpenCV only: runtime backends must not need torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

# Per-channel (R, G, B) mean and std of the [0, 1] pixel scale: (x - 0.5) / 0.5 maps pixels onto [-1, 1].
# The Re-ID model is trained from scratch on the synthetic town, so ImageNet statistics have no claim here.
DEFAULT_MEAN = (0.5, 0.5, 0.5)
DEFAULT_STD = (0.5, 0.5, 0.5)
PIXEL_MAX = 255.0
CHANNELS = 3


def _check_crop(index: int, crop: np.ndarray) -> None:
    """Raise ValueError unless ``crop`` is a BGR uint8 (h, w, 3) image with h, w >= 1."""
    if not isinstance(crop, np.ndarray):
        raise ValueError(
            f"crop {index}: expected a numpy array (h, w, 3) uint8 BGR, got {type(crop).__name__}"
        )
    if crop.dtype != np.uint8 or crop.ndim != 3 or crop.shape[2] != CHANNELS or min(crop.shape[:2]) < 1:
        raise ValueError(
            f"crop {index}: expected a BGR image of shape (h, w, 3) with h, w >= 1 and dtype uint8, "
            f"got shape {crop.shape} dtype {crop.dtype}; convert it with np.asarray(img, np.uint8)"
        )


def _check_stats(size_hw: tuple[int, int], mean: Sequence[float], std: Sequence[float]) -> None:
    if len(size_hw) != 2 or min(size_hw) < 1:
        raise ValueError(f"size_hw must be (height, width) with both >= 1 px, got {size_hw}")
    if len(mean) != CHANNELS or len(std) != CHANNELS:
        raise ValueError(f"mean and std need one value per RGB channel, got mean={mean} std={std}")
    if min(std) <= 0:
        raise ValueError(f"std must be positive in every channel, got {std}")


def preprocess_crops(
    crops: Sequence[np.ndarray],
    size_hw: tuple[int, int],
    mean: tuple[float, float, float] = DEFAULT_MEAN,
    std: tuple[float, float, float] = DEFAULT_STD,
) -> np.ndarray:
    """Turn vehicle crops into the model's input batch.

    crops: BGR uint8 images (h, w, 3) of any size. size_hw: (H, W) px of the model input.
    mean, std: per RGB channel, on the [0, 1] pixel scale.
    Returns (N, 3, H, W) float32 RGB, each crop resized with bilinear interpolation (cv2.INTER_LINEAR),
    scaled to [0, 1] and normalised as (x - mean) / std; (0, 3, H, W) for no crops.
    Raises ValueError for a crop that is not (h, w, 3) uint8.
    """
    _check_stats(size_hw, mean, std)
    height, width = int(size_hw[0]), int(size_hw[1])
    batch = np.empty((len(crops), height, width, CHANNELS), dtype=np.uint8)
    for i, crop in enumerate(crops):
        _check_crop(i, crop)
        # cv2.resize takes (width, height); the colour flip is a view, copied into the batch.
        batch[i] = cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR)[:, :, ::-1]
    scale = np.asarray(std, dtype=np.float32) * PIXEL_MAX
    shift = np.asarray(mean, dtype=np.float32) / np.asarray(std, dtype=np.float32)
    # (x / 255 - mean) / std folded into one multiply-add over the batch.
    normed = batch.astype(np.float32) / scale - shift
    return np.ascontiguousarray(normed.transpose(0, 3, 1, 2))


def embed_in_batches(
    crops: Sequence[np.ndarray],
    run: Callable[[np.ndarray], np.ndarray],
    dim: int,
    batch_size: int,
    size_hw: tuple[int, int],
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
) -> np.ndarray:
    """What every backend's ``embed`` does: preprocess ``crops`` ``batch_size`` at a time, pass each batch
    (B, 3, H, W) float32 to ``run`` -> (B, dim), and return (N, dim) float32 L2-normalised rows."""
    out = np.zeros((len(crops), dim), dtype=np.float32)
    for first in range(0, len(crops), batch_size):
        batch = preprocess_crops(crops[first : first + batch_size], size_hw, mean, std)
        out[first : first + len(batch)] = run(batch)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
