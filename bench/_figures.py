"""One way every benchmark writes its PNG: tight layout, 110 dpi, and the figure closed (no pyplot leak)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # benchmarks run headless
import matplotlib.pyplot as plt


def save_figure(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
