"""PNG figures of Re-ID training: curves and MAE reconstruction grids."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

# Masked patches are drawn in this grey in the "visible" row of a reconstruction grid.
MASKED_GREY = 0.5
FIG_DPI = 110


def plot_curves(path: Path, series: Mapping[str, Sequence[float]], xlabel: str, title: str) -> Path:
    """One line per named series (x = 1, 2, ...); series with no values are left out."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, values in series.items():
        if len(values):
            ax.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=name)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=FIG_DPI)
    plt.close(fig)
    return path


def plot_reconstructions(
    path: Path, images: torch.Tensor, visible: torch.Tensor, recon: torch.Tensor, patch: int, title: str
) -> Path:
    """Rows: original, what the encoder saw (masked patches grey), reconstruction; one column per image.

    images, recon: (B, 3, H, W) RGB in [0, 1]; visible: (B, N) bool in raster patch order.
    """
    b, _, _, w = images.shape
    grid_w = w // patch
    seen = torch.full_like(images, MASKED_GREY)
    for i in range(b):
        for n in torch.nonzero(visible[i]).flatten().tolist():
            r, c = divmod(n, grid_w)
            sl = (slice(None), slice(r * patch, (r + 1) * patch), slice(c * patch, (c + 1) * patch))
            seen[i][sl] = images[i][sl]
    rows = [images, seen, recon.clamp(0, 1)]
    fig, axes = plt.subplots(3, b, figsize=(1.2 * b, 3.9), squeeze=False)
    for r, (row, label) in enumerate(zip(rows, ("original", "visible", "reconstructed"), strict=True)):
        for i in range(b):
            ax = axes[r][i]
            ax.imshow(row[i].permute(1, 2, 0).cpu().numpy())
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(label, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=FIG_DPI)
    plt.close(fig)
    return path
