"""Re-ID training batches: identity-balanced sampling, whole-batch augmentation and normalisation.

Augmentations act on a whole (B, 3, H, W) uint8 tensor at once, on whatever device it lives on, with every
random number drawn from the caller's ``torch.Generator`` so a run repeats exactly for a seed. The random
numbers are drawn on the generator's device and moved to the batch, so a CPU generator gives the same
augmentation on CPU and GPU.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from export.preprocess import DEFAULT_MEAN, DEFAULT_STD, PIXEL_MAX

DEFAULT_FLIP_P = 0.5
# Zero border added before the random crop back to (H, W): shifts of up to this many px each way
# (fast-reid's default for 256 px vehicle crops).
DEFAULT_PAD_PX = 10
# Random erasing (Zhong et al., AAAI 2020): with probability erase_p, a rectangle of area fraction in
# erase_area and aspect ratio (height / width) in erase_aspect (drawn log-uniformly, so r and 1/r are
# equally likely) is filled with uniform random pixel values. A rectangle that does not fit is redrawn,
# up to ERASE_ATTEMPTS times (torchvision's RandomErasing uses the same number); after that, no erasing.
DEFAULT_ERASE_P = 0.5
DEFAULT_ERASE_AREA = (0.02, 0.4)
DEFAULT_ERASE_ASPECT = (0.3, 3.3)
ERASE_ATTEMPTS = 10
PIXEL_LEVELS = 256


def _check_batch(batch: torch.Tensor) -> None:
    if batch.dtype != torch.uint8 or batch.ndim != 4 or batch.shape[1] != 3:
        raise ValueError(f"expected a (B, 3, H, W) uint8 batch, got shape {tuple(batch.shape)} {batch.dtype}")


def normalise(
    batch: torch.Tensor,
    mean: tuple[float, float, float] = DEFAULT_MEAN,
    std: tuple[float, float, float] = DEFAULT_STD,
) -> torch.Tensor:
    """(B, 3, H, W) uint8 RGB -> (B, 3, H, W) float32 ``(x / 255 - mean) / std`` on the batch's device.

    The same arithmetic as ``export.preprocess.preprocess_crops``, so training and run time agree.
    """
    _check_batch(batch)
    mean_t = torch.tensor(mean, dtype=torch.float32, device=batch.device).view(1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32, device=batch.device).view(1, 3, 1, 1)
    return (batch.float() / (std_t * PIXEL_MAX)) - mean_t / std_t


def _uniform(shape: tuple[int, ...], generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """U[0, 1) float32 drawn on the generator's device, returned on ``device``."""
    return torch.rand(shape, generator=generator, device=generator.device).to(device)


def _flip(batch: torch.Tensor, generator: torch.Generator, p: float) -> torch.Tensor:
    flip = _uniform((batch.shape[0],), generator, batch.device) < p
    return torch.where(flip.view(-1, 1, 1, 1), batch.flip(-1), batch)


def _pad_crop(batch: torch.Tensor, generator: torch.Generator, pad_px: int) -> torch.Tensor:
    """Zero-pad by ``pad_px`` on every side, then cut each image's own random (H, W) window."""
    b, _, h, w = batch.shape
    padded = torch.nn.functional.pad(batch, (pad_px, pad_px, pad_px, pad_px)).permute(
        0, 2, 3, 1
    )  # (B, H+2p, W+2p, 3)
    offsets = torch.randint(0, 2 * pad_px + 1, (2, b), generator=generator, device=generator.device)
    offsets = offsets.to(batch.device)
    rows = offsets[0].view(b, 1) + torch.arange(h, device=batch.device)  # (B, H)
    cols = offsets[1].view(b, 1) + torch.arange(w, device=batch.device)  # (B, W)
    index = torch.arange(b, device=batch.device).view(b, 1, 1)
    return padded[index, rows.view(b, h, 1), cols.view(b, 1, w)].permute(0, 3, 1, 2).contiguous()


def _erase_boxes(
    b: int,
    hw: tuple[int, int],
    generator: torch.Generator,
    device: torch.device,
    p: float,
    area: tuple[float, float],
    aspect: tuple[float, float],
) -> torch.Tensor:
    """(B, H, W) bool: the rectangle to erase in each image (all False where it is not erased)."""
    h, w = hw
    draws = _uniform((b, 4 * ERASE_ATTEMPTS + 1), generator, device)
    u_area, u_aspect, u_top, u_left = draws[:, 1:].view(b, 4, ERASE_ATTEMPTS).unbind(1)  # each (B, attempts)
    target = (area[0] + (area[1] - area[0]) * u_area) * (h * w)
    log_lo, log_hi = np.log(aspect[0]), np.log(aspect[1])
    ratio = torch.exp(log_lo + (log_hi - log_lo) * u_aspect)
    box_h = torch.sqrt(target * ratio).round().long()
    box_w = torch.sqrt(target / ratio).round().long()
    fits = (box_h >= 1) & (box_w >= 1) & (box_h < h) & (box_w < w)
    # The first attempt that fits, per image; argmax of a bool row finds its first True.
    first = fits.long().argmax(dim=1, keepdim=True)
    erase = (draws[:, 0] < p) & fits.any(dim=1)
    box_h, box_w = box_h.gather(1, first).squeeze(1), box_w.gather(1, first).squeeze(1)
    top = (u_top.gather(1, first).squeeze(1) * (h - box_h + 1)).long()
    left = (u_left.gather(1, first).squeeze(1) * (w - box_w + 1)).long()
    ys = torch.arange(h, device=device).view(1, h, 1)
    xs = torch.arange(w, device=device).view(1, 1, w)
    inside_y = (ys >= top.view(b, 1, 1)) & (ys < (top + box_h).view(b, 1, 1))
    inside_x = (xs >= left.view(b, 1, 1)) & (xs < (left + box_w).view(b, 1, 1))
    return inside_y & inside_x & erase.view(b, 1, 1)


def augment(
    batch: torch.Tensor,
    generator: torch.Generator,
    *,
    flip_p: float = DEFAULT_FLIP_P,
    pad_px: int = DEFAULT_PAD_PX,
    erase_p: float = DEFAULT_ERASE_P,
    erase_area: tuple[float, float] = DEFAULT_ERASE_AREA,
    erase_aspect: tuple[float, float] = DEFAULT_ERASE_ASPECT,
) -> torch.Tensor:
    """Training augmentation of a (B, 3, H, W) uint8 batch, each image with its own random draws.

    In order: horizontal flip (probability ``flip_p``), zero padding by ``pad_px`` px then a random crop
    back to (H, W), random erasing (see ERASE_* above). Returns a new (B, 3, H, W) uint8 tensor on the
    batch's device; all randomness comes from ``generator``.
    """
    _check_batch(batch)
    if (
        pad_px < 0
        or not (0 < erase_area[0] <= erase_area[1] <= 1)
        or not (0 < erase_aspect[0] <= erase_aspect[1])
    ):
        raise ValueError(
            f"augment: need pad_px >= 0, 0 < erase_area[0] <= erase_area[1] <= 1 and 0 < erase_aspect[0] <= "
            f"erase_aspect[1]; got pad_px={pad_px}, erase_area={erase_area}, erase_aspect={erase_aspect}"
        )
    b, _, h, w = batch.shape
    if b == 0:
        return batch.clone()
    out = _flip(batch, generator, flip_p)
    if pad_px > 0:
        out = _pad_crop(out, generator, pad_px)
    boxes = _erase_boxes(b, (h, w), generator, batch.device, erase_p, erase_area, erase_aspect)
    n_erased = int(boxes.sum())
    if n_erased:
        # Random values for the erased pixels only: drawing a whole batch of noise would cost more than
        # the rest of the augmentation together.
        noise = torch.randint(
            0, PIXEL_LEVELS, (n_erased, 3), generator=generator, device=generator.device, dtype=torch.uint8
        )
        out = out.clone() if out is batch else out
        out.permute(0, 2, 3, 1)[boxes] = noise.to(batch.device)
    return out


class PKSampler:
    """Identity-balanced batches for metric learning: P labels x K images each.

    labels: (N,) int, one per image; labels < 0 (clustering outliers) are never sampled. Labels are visited
    in shuffled rounds, so every label appears about equally often; a label with fewer than K images is
    sampled with replacement. With fewer than P labels every batch holds all of them (fewer than P * K
    indices). Deterministic for (seed, epoch).
    """

    def __init__(self, labels: np.ndarray, p: int, k: int, seed: int) -> None:
        labels = np.asarray(labels).reshape(-1)
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"PKSampler: labels must be integers, got dtype {labels.dtype}")
        if p < 1 or k < 1:
            raise ValueError(f"PKSampler: p and k must be >= 1, got p={p}, k={k}")
        valid = np.flatnonzero(labels >= 0)
        # Group the image indices by label: a stable sort keeps each label's images in index order.
        order = valid[np.argsort(labels[valid], kind="stable")]
        self.labels, starts = np.unique(labels[order], return_index=True)
        if len(self.labels) < 2:
            raise ValueError(
                f"PKSampler: need at least 2 distinct labels >= 0 to form P x K batches, got {len(self.labels)} "
                f"among {len(labels)} images; check the pseudo-labels (clustering may have found one or no cluster)"
            )
        self._members = np.split(order, starts[1:])
        self.p, self.k, self.seed = min(p, len(self.labels)), k, seed

    def batches(self, n_batches: int, *, epoch: int = 0) -> Iterator[np.ndarray]:
        """Yield ``n_batches`` arrays of image indices, (P * K,) int64, label by label (K at a time)."""
        rng = np.random.default_rng([self.seed, epoch])
        n_labels = len(self.labels)
        queue = rng.permutation(n_labels)
        for _ in range(n_batches):
            if len(queue) < self.p:
                queue = np.concatenate([queue, self._next_round(rng, queue)])
            chosen, queue = queue[: self.p], queue[self.p :]
            yield np.concatenate([self._pick(rng, self._members[c]) for c in chosen]).astype(np.int64)

    def _next_round(self, rng: np.random.Generator, leftover: np.ndarray) -> np.ndarray:
        """A shuffled round of every label, ordered so that the batch which finishes ``leftover`` (the
        labels of the previous round still queued) and starts this round never holds a label twice."""
        fresh = rng.permutation(len(self.labels))
        others = fresh[~np.isin(fresh, leftover)]
        n_start = self.p - len(leftover)
        return np.concatenate(
            [others[:n_start], rng.permutation(np.concatenate([others[n_start:], leftover]))]
        )

    def _pick(self, rng: np.random.Generator, members: np.ndarray) -> np.ndarray:
        return rng.choice(members, size=self.k, replace=len(members) < self.k)
