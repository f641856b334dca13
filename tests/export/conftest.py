"""A tiny embedder module, its spec and its ONNX export, shared by the export tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from export.onnx_export import export_onnx
from export.spec import EmbedderSpec


class TinyEmbedder(nn.Module):
    """(B, 3, 16, 24) -> (B, 8) unit rows: a conv, pooling and a linear layer, like any CNN embedder."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.fc = nn.Linear(6, 8)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.fc(F.relu(self.conv(images)).mean(dim=(2, 3))), dim=1)


@pytest.fixture(scope="session")
def tiny_module() -> nn.Module:
    return TinyEmbedder().eval()


@pytest.fixture(scope="session")
def tiny_spec() -> EmbedderSpec:
    return EmbedderSpec((16, 24), (0.4, 0.5, 0.6), (0.2, 0.25, 0.3), 8, "ab" * 32, "tiny.pt")


@pytest.fixture(scope="session")
def tiny_onnx(
    tmp_path_factory: pytest.TempPathFactory, tiny_module: nn.Module, tiny_spec: EmbedderSpec
) -> Path:
    return export_onnx(tiny_module, tiny_spec, tmp_path_factory.mktemp("onnx") / "tiny.onnx")
