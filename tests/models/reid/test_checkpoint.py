"""Re-ID checkpoints: round trip, clear errors, and the embedding network's contract."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.reid.checkpoint import CheckpointError, check_compatible, load_checkpoint, save_checkpoint
from models.reid.config import load_reid_config
from models.reid.vit import EmbeddingHead, ReidNet


def _saved(tmp_path: Path, cfg) -> tuple[Path, ReidNet]:
    torch.manual_seed(0)
    net = ReidNet(cfg.model, cfg.data.image_size).eval()
    path = save_checkpoint(
        tmp_path / "r.pt",
        cfg,
        "train",
        {"encoder": net.encoder.state_dict(), "neck": net.neck.state_dict()},
        {},
    )
    return path, net


def test_round_trip_gives_the_same_embeddings(tmp_path: Path):
    cfg = load_reid_config(smoke=True)
    path, net = _saved(tmp_path, cfg)
    ckpt = load_checkpoint(path)
    assert ckpt.stage == "train" and ckpt.model == cfg.model
    images = torch.randn(4, 3, *cfg.data.image_size)
    out = ckpt.build_net().embed(images)
    assert torch.allclose(out, net.embed(images), atol=1e-6)
    assert out.shape == (4, cfg.model.width)
    assert torch.allclose(out.norm(dim=1), torch.ones(4), atol=1e-5)
    assert torch.allclose(EmbeddingHead(ckpt.build_net())(images), out, atol=1e-6)


@pytest.mark.parametrize("pool", ["cls", "mean"])
def test_both_pools_embed(pool: str):
    cfg = load_reid_config(smoke=True, overrides=[f"model.pool={pool}"])
    assert ReidNet(cfg.model, cfg.data.image_size).eval().embed(torch.randn(2, 3, 32, 32)).shape == (2, 32)


def test_errors_name_the_file_and_the_fix(tmp_path: Path):
    with pytest.raises(CheckpointError, match="no such Re-ID checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(garbage)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match="not a crosscam Re-ID checkpoint"):
        load_checkpoint(foreign)
    cfg = load_reid_config(smoke=True)
    path, _ = _saved(tmp_path, cfg)
    other = load_reid_config(smoke=True, overrides=["model.depth=3"])
    with pytest.raises(CheckpointError, match="depth"):
        check_compatible(load_checkpoint(path), other, path)
    bigger = load_reid_config(smoke=True, overrides=["data.image_size=[64, 64]"])
    with pytest.raises(CheckpointError, match="image_size"):
        check_compatible(load_checkpoint(path), bigger, path)
