"""Re-ID training end to end on the smoke scene: the stages run, and the unsupervised path is label-blind."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from models.reid.checkpoint import load_checkpoint
from models.reid.config import ConfigError, load_reid_config
from models.reid.stages import run_eval, run_pretrain, run_segment, run_train, run_train_supervised


@pytest.fixture(scope="module")
def reid_root(smoke_scene: Path) -> Path:
    return smoke_scene / "reid"


def _relabelled_copy(src: Path, dst: Path) -> Path:
    """A copy of the Re-ID set whose training crops each get their own vehicle id (every identity a
    singleton), with file names still in the original order: only the identity labels differ."""
    (dst / "image_train").mkdir(parents=True)
    for new_id, path in enumerate(sorted((src / "image_train").iterdir()), start=1):
        _vid, cam, frame = path.stem.split("_")
        shutil.copyfile(path, dst / "image_train" / f"{new_id:04d}_{cam}_{frame}.jpg")
    return dst


def test_unsupervised_training_reads_no_identity_label(reid_root: Path, tmp_path: Path):
    cfg = load_reid_config(smoke=True, overrides=["train.meta=false"])
    other = _relabelled_copy(reid_root, tmp_path / "relabelled")
    assert sorted(p.stem[5:] for p in (other / "image_train").iterdir()) == sorted(
        p.stem[5:] for p in (reid_root / "image_train").iterdir()
    )
    a = run_train(cfg, reid_root, None, None, tmp_path / "a", progress=False, log=lambda _m: None)
    b = run_train(cfg, other, None, None, tmp_path / "b", progress=False, log=lambda _m: None)
    assert [e.n_clusters for e in a.epochs] == [e.n_clusters for e in b.epochs]
    assert any(e.mode != "skipped" for e in a.epochs)
    wa, wb = load_checkpoint(a.checkpoint).states, load_checkpoint(b.checkpoint).states
    for part in ("encoder", "neck"):
        for key, value in wa[part].items():
            assert torch.equal(value, wb[part][key]), f"{part}.{key} differs: labels leaked into training"
    # Whereas the supervised path does read them: singletons give it nothing to learn from.
    sup = run_train_supervised(cfg, other, None, tmp_path / "c", progress=False, log=lambda _m: None)
    assert [e.n_clusters for e in sup.epochs] == [
        len(list((other / "image_train").iterdir()))
    ] * cfg.train.epochs


def test_every_stage_runs_in_smoke_size(reid_root: Path, tmp_path: Path):
    cfg = load_reid_config(smoke=True)
    cache = run_segment(cfg, reid_root, tmp_path / "seg.npz", progress=False)
    assert cache.refined.shape[1:] == cfg.grid and cache.segmenter == "grabcut"
    assert 0.0 < float(cache.background_ratio.mean()) < 1.0
    pre = run_pretrain(
        cfg, reid_root, tmp_path / "seg.npz", tmp_path / "pre", progress=False, log=lambda _m: None
    )
    assert (tmp_path / "pre" / "reconstructions.png").stat().st_size > 0
    assert (tmp_path / "pre" / "pretrain_loss.png").stat().st_size > 0
    assert all(np.isfinite(pre.epoch_losses))
    result = run_train(
        cfg,
        reid_root,
        pre.checkpoint,
        tmp_path / "seg.npz",
        tmp_path / "train",
        reid_root,
        False,
        lambda _m: None,
    )
    assert result.final_eval is not None and 0.0 <= result.final_eval["mAP"] <= 1.0
    assert any(e.mode == "meta" for e in result.epochs)
    for name in ("reid.pt", "train.json", "train_loss.png", "train_map.png"):
        assert (tmp_path / "train" / name).stat().st_size > 0
    again = run_eval(result.checkpoint, reid_root, cfg, progress=False)
    assert again.mAP == pytest.approx(result.final_eval["mAP"], abs=1e-6)


def test_stage_prerequisites_are_clear_errors(reid_root: Path, tmp_path: Path):
    cfg = load_reid_config(smoke=True)
    with pytest.raises(ConfigError, match="--segments"):
        run_pretrain(cfg, reid_root, None, tmp_path / "p", progress=False)
    with pytest.raises(ConfigError, match="background ratio"):
        run_train(cfg, reid_root, None, None, tmp_path / "t", progress=False)
