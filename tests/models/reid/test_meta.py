"""Background-aware meta-learning: the split rule of Fig. 4b and the second-order update of Eq. 5-7."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from models.reid.meta import meta_split, meta_step, ratio_bins


def test_ratio_bins_edges():
    ratios = np.array([0.0, 0.0999, 0.1, 0.55, 0.9, 0.9999, 1.0])
    assert ratio_bins(ratios, 10).tolist() == [0, 0, 1, 5, 9, 9, 9]


def _ratios_with_counts(counts: dict[int, int]) -> np.ndarray:
    """Crops whose background ratio falls in the middle of each given bin, ``counts[bin]`` of them."""
    return np.concatenate([np.full(n, (b + 0.5) / 10) for b, n in sorted(counts.items())])


def test_split_follows_the_stated_rule_on_a_constructed_histogram():
    # Bins 3 and 4 are the two largest (40 and 30 of 100 crops); one goes to each side. Then bins
    # 2, 5, 6 (12, 10, 8) join meta-train in random order until it holds more than 50 crops.
    counts = {2: 12, 3: 40, 4: 30, 5: 10, 6: 8}
    ratios = _ratios_with_counts(counts)
    bins = ratio_bins(ratios, 10)
    for seed in range(40):
        split = meta_split(ratios, 10, np.random.default_rng(seed))
        assert {*split.train_bins}.isdisjoint(split.test_bins)
        assert sorted(split.train_bins + split.test_bins) == sorted(counts)
        assert (3 in split.train_bins) != (4 in split.train_bins)  # the two largest on opposite sides
        assert sorted(np.concatenate([split.train, split.test]).tolist()) == list(range(100))
        assert set(bins[split.train]) == set(split.train_bins)
        n_train = len(split.train)
        assert n_train > 50
        # Meta-train stopped as soon as it passed half: without its last added small bin it was <= 50.
        added = [b for b in split.train_bins if b not in (3, 4)]
        if added:
            assert any(n_train - counts[b] <= 50 for b in added)


def test_split_when_the_largest_bin_alone_is_more_than_half():
    ratios = _ratios_with_counts({1: 70, 5: 20, 8: 10})
    split = meta_split(ratios, 10, np.random.default_rng(1))
    if split.train_bins == (1,):
        assert split.test_bins == (5, 8)
    else:
        # bin 5 went to meta-train first (20 crops, not more than half), so bin 8 joins it.
        assert split.train_bins == (5, 8) and split.test_bins == (1,)


def test_split_with_one_bin_halves_it():
    split = meta_split(np.full(9, 0.33), 10, np.random.default_rng(0))
    assert len(split.train) == 5 and len(split.test) == 4
    assert not set(split.train) & set(split.test)


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(3, 4)
        self.b = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.tanh(self.a(x)))


def _loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((out - y) ** 2).mean()


def test_meta_gradient_matches_finite_differences_of_eq7():
    torch.manual_seed(0)
    model = _Tiny().double()
    gen = torch.Generator().manual_seed(1)
    x_tr, y_tr = torch.randn(5, 3, generator=gen).double(), torch.randn(5, 2, generator=gen).double()
    x_te, y_te = torch.randn(6, 3, generator=gen).double(), torch.randn(6, 2, generator=gen).double()
    inner_lr = 0.3

    meta_step(model, (x_tr, y_tr), (x_te, y_te), _loss, inner_lr)
    analytic = torch.cat([p.grad.flatten() for p in model.parameters()])

    names = [n for n, _ in model.named_parameters()]
    flat0 = torch.cat([p.detach().flatten() for p in model.parameters()])

    def total_loss(flat: torch.Tensor) -> float:
        """L_TR(theta) + L_TE(theta - lr * grad L_TR(theta)), with the inner gradient by autograd."""
        params, offset = {}, 0
        for name, p in model.named_parameters():
            params[name] = flat[offset : offset + p.numel()].view_as(p).clone().requires_grad_(True)
            offset += p.numel()
        out = torch.func.functional_call(model, params, (x_tr,))
        l_tr = _loss(out, y_tr)
        grads = torch.autograd.grad(l_tr, [params[n] for n in names])
        fast = {n: params[n] - inner_lr * g for n, g in zip(names, grads, strict=True)}
        l_te = _loss(torch.func.functional_call(model, fast, (x_te,)), y_te)
        return float((l_tr + l_te).detach())

    eps = 1e-6
    numeric = torch.zeros_like(flat0)
    for i in range(len(flat0)):
        step = torch.zeros_like(flat0)
        step[i] = eps
        numeric[i] = (total_loss(flat0 + step) - total_loss(flat0 - step)) / (2 * eps)
    assert torch.allclose(analytic, numeric, rtol=1e-5, atol=1e-8)

    # And the second-order term matters: the first-order approximation (no graph through the inner step)
    # gives a different gradient, so the test above can tell the two apart.
    model.zero_grad()
    params = dict(model.named_parameters())
    l_tr = _loss(model(x_tr), y_tr)
    grads = torch.autograd.grad(l_tr, list(params.values()), retain_graph=True)
    fast = {
        n: (p - inner_lr * g).detach().requires_grad_(True)
        for (n, p), g in zip(params.items(), grads, strict=True)
    }
    l_te = _loss(torch.func.functional_call(model, fast, (x_te,)), y_te)
    first_order = torch.cat(
        [
            a.flatten() + b.flatten()
            for a, b in zip(
                torch.autograd.grad(l_tr, list(params.values())),
                torch.autograd.grad(l_te, list(fast.values())),
                strict=True,
            )
        ]
    )
    assert not torch.allclose(first_order, numeric, rtol=1e-3, atol=1e-6)


def test_meta_step_returns_both_losses_and_fills_every_gradient():
    model = _Tiny()
    x, y = torch.randn(4, 3), torch.randn(4, 2)
    l_tr, l_te = meta_step(model, (x, y), (x + 1, y), _loss, 0.1)
    assert l_tr.item() == pytest.approx(_loss(model(x), y).item())
    assert l_te.item() > 0
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
