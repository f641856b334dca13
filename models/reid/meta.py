"""Background-aware meta-learning (METHOD.md, stage 3; the paper's Eq. 5-7 and Fig. 4b).

``meta_split`` divides the training crops into meta-train and meta-test by their background ratio, so the
two sets see different amounts of background; ``meta_step`` is one second-order update: a virtual step on
the meta-train loss, the meta-test loss at the stepped weights, and the gradient of their sum with respect
to the original weights, through the virtual step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call


@dataclass(frozen=True)
class MetaSplit:
    """Indices (into the ratios given to ``meta_split``) of the meta-train and meta-test crops, and which
    background-ratio bins each side got."""

    train: np.ndarray
    test: np.ndarray
    train_bins: tuple[int, ...]
    test_bins: tuple[int, ...]


def ratio_bins(ratios: np.ndarray, bins: int) -> np.ndarray:
    """(N,) background ratios in [0, 1] -> (N,) bin index; bin b holds [b/bins, (b+1)/bins), the last
    bin also 1.0."""
    r = np.clip(np.asarray(ratios, dtype=np.float64), 0.0, 1.0)
    return np.minimum((r * bins).astype(np.int64), bins - 1)


def meta_split(ratios: np.ndarray, bins: int, rng: np.random.Generator) -> MetaSplit:
    """The balanced split of Fig. 4b.

    1. The two bins with the most crops are shared out at random: one to meta-train, one to meta-test.
    2. The other non-empty bins, in random order, go to meta-train one by one until meta-train holds more
       than half of the crops.
    3. Every bin left goes to meta-test.
    Ties in size are broken by the lower bin index. With a single non-empty bin there is no background
    contrast to exploit; its crops are then halved at random so training can still proceed.
    """
    which = ratio_bins(ratios, bins)
    counts = np.bincount(which, minlength=bins)
    nonempty = [b for b in np.argsort(-counts, kind="stable") if counts[b] > 0]
    n = len(which)
    if len(nonempty) < 2:
        order = rng.permutation(n)
        half = (n + 1) // 2
        only = tuple(int(b) for b in nonempty)
        return MetaSplit(np.sort(order[:half]), np.sort(order[half:]), only, only)
    first, second = (int(b) for b in nonempty[:2])
    train_bins, test_bins = ([first], [second]) if rng.random() < 0.5 else ([second], [first])
    size = counts[train_bins[0]]
    for b in rng.permutation(np.array(nonempty[2:], dtype=np.int64)):
        if size > n / 2:
            test_bins.append(int(b))
        else:
            train_bins.append(int(b))
            size += counts[b]
    return MetaSplit(
        train=np.flatnonzero(np.isin(which, train_bins)),
        test=np.flatnonzero(np.isin(which, test_bins)),
        train_bins=tuple(sorted(train_bins)),
        test_bins=tuple(sorted(test_bins)),
    )


LossFn = Callable[[object, torch.Tensor], torch.Tensor]


def meta_step(
    model: nn.Module,
    train_batch: tuple[torch.Tensor, torch.Tensor],
    test_batch: tuple[torch.Tensor, torch.Tensor],
    loss_fn: LossFn,
    inner_lr: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Accumulate d(L_TR + L_TE)/d theta_TR into every trainable parameter's ``.grad`` (Eq. 6-7).

    theta_TE = theta_TR - inner_lr * dL_TR/dtheta_TR (Eq. 5) keeps its graph, so the meta-test term
    back-propagates through the virtual step (second order). ``loss_fn(model_output, targets)`` is the
    Re-ID loss of Eq. 4. Returns the detached (L_TR, L_TE).
    """
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    buffers = dict(model.named_buffers())
    x_tr, y_tr = train_batch
    loss_tr = loss_fn(functional_call(model, (params, buffers), (x_tr,)), y_tr)
    grads = torch.autograd.grad(loss_tr, list(params.values()), create_graph=True, allow_unused=True)
    fast = {
        name: p if g is None else p - inner_lr * g for (name, p), g in zip(params.items(), grads, strict=True)
    }
    x_te, y_te = test_batch
    loss_te = loss_fn(functional_call(model, (fast, buffers), (x_te,)), y_te)
    (loss_tr + loss_te).backward()
    return loss_tr.detach(), loss_te.detach()
