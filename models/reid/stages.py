"""The Re-ID training stages end to end, from a VeRi-layout folder: what ``crosscam reid ...`` and the
ablation benchmark run.

segment (stage 1) -> pretrain (stage 2) -> train (stage 3) -> evaluate. Each stage reads the training crops
of ``data_root`` (``data.train_splits``, at most ``data.max_train_images`` of them), and the unsupervised
stages turn them into ``UnlabeledImages`` first: file paths and cameras, no identity.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from models.reid.augment import normalise
from models.reid.checkpoint import ReidCheckpoint, check_compatible, load_checkpoint
from models.reid.config import ConfigError, ReidConfig
from models.reid.data import DatasetError, ReidRecord, UnlabeledImages, load_image_bank, load_veri, unlabeled
from models.reid.evaluate import RankResult
from models.reid.features import EvalSplit
from models.reid.pretrain import PretrainResult, pretrain_mae
from models.reid.segment_cache import SegmentCache, build_cache
from models.reid.segmenters import build_segmenter
from models.reid.train import TrainResult, train_supervised, train_unsupervised

Log = Callable[[str], None]


def training_records(cfg: ReidConfig, data_root: Path) -> list[ReidRecord]:
    """The crops of the ``data.train_splits`` folders, thinned evenly (in name order) to
    ``data.max_train_images``."""
    data = load_veri(data_root, require_eval=False)
    if "gallery" in cfg.data.train_splits and not data.gallery:
        raise DatasetError(
            f"{data_root}: data.train_splits asks for the gallery (image_test), which is empty"
        )
    records = sorted(
        (r for split in cfg.data.train_splits for r in getattr(data, split)), key=lambda r: r.path.name
    )
    limit = cfg.data.max_train_images
    if limit and len(records) > limit:
        pick = np.linspace(0, len(records) - 1, limit).round().astype(np.int64)
        records = [records[i] for i in np.unique(pick)]
    return records


def training_images(cfg: ReidConfig, data_root: Path) -> UnlabeledImages:
    return unlabeled(training_records(cfg, data_root))


def encoder_patch_features(
    checkpoint: Path, device: str = "cpu"
) -> tuple[Callable[[torch.Tensor], torch.Tensor], int]:
    """Patch features from a trained encoder, for Eq. 1-2's f: images (B, 3, H, W) in [0, 1] at the
    checkpoint's input size -> (B, N, D). Returns the function and the checkpoint's patch size."""
    ckpt = load_checkpoint(checkpoint)
    encoder = ckpt.build_net().encoder.to(device)
    mean, std = ckpt.data.mean, ckpt.data.std

    @torch.no_grad()
    def features(images: torch.Tensor) -> torch.Tensor:
        u8 = (images * 255).round().clamp(0, 255).to(torch.uint8).to(device)
        return encoder.patch_features(normalise(u8, mean, std)).cpu()

    return features, ckpt


def _encoder_features(cfg: ReidConfig) -> Callable[[torch.Tensor], torch.Tensor]:
    path = cfg.segment.encoder_checkpoint
    if path is None:
        raise ConfigError(
            "segment.refine_features is encoder: set segment.encoder_checkpoint to a crosscam .pt"
        )
    features, ckpt = encoder_patch_features(path, cfg.device)
    check_compatible(ckpt, cfg, path)
    return features


def run_segment(cfg: ReidConfig, data_root: Path, out: Path, progress: bool = True) -> SegmentCache:
    """Stage 1 over the training crops; writes the cache to ``out`` (.npz)."""
    images = training_images(cfg, data_root)
    sc = cfg.segment
    segmenter = build_segmenter(sc.segmenter, sc.checkpoint, sc.model_type, cfg.device, sc.grabcut_iterations)
    feature_fn = _encoder_features(cfg) if sc.refine_features == "encoder" else None
    cache = build_cache(
        list(images.paths),
        segmenter,
        cfg.data.image_size,
        cfg.model.patch,
        sc.prompt_shrink,
        feature_fn=feature_fn,
        features_name="encoder" if feature_fn else None,
        progress=progress,
    )
    cache.save(out)
    return cache


def _segment_priors(
    cfg: ReidConfig, images: UnlabeledImages, segments: Path | None
) -> tuple[torch.Tensor | None, np.ndarray | None]:
    """Refined vehicle patch masks (N, gh*gw) bool and background ratios (N,) of ``images`` from a cache."""
    if segments is None:
        return None, None
    cache = SegmentCache.load(segments)
    cache.check_compatible(cfg.model.patch, cfg.data.image_size)
    idx = cache.lookup([p.name for p in images.paths])
    vehicle = torch.from_numpy(cache.refined[idx].reshape(len(idx), -1))
    return vehicle, cache.background_ratio[idx].astype(np.float64)


def _init_checkpoint(cfg: ReidConfig, init: Path | None) -> ReidCheckpoint | None:
    if init is None:
        return None
    ckpt = load_checkpoint(init)
    check_compatible(ckpt, cfg, init)
    return ckpt


def run_pretrain(
    cfg: ReidConfig,
    data_root: Path,
    segments: Path | None,
    out_dir: Path,
    progress: bool = True,
    log: Log = print,
) -> PretrainResult:
    """Stage 2; SAM-driven masking needs ``segments`` (the stage-1 cache)."""
    if cfg.pretrain.masking == "sam" and segments is None:
        raise ConfigError("SAM-driven masking keeps vehicle patches: pass the stage-1 cache (--segments)")
    images = training_images(cfg, data_root)
    vehicle, _ = _segment_priors(cfg, images, segments if cfg.pretrain.masking == "sam" else None)
    bank = load_image_bank(list(images.paths), cfg.data.image_size, progress=progress)
    return pretrain_mae(cfg, bank, vehicle, out_dir, progress=progress, log=log)


def load_eval_split(cfg: ReidConfig, eval_root: Path | None, progress: bool = True) -> EvalSplit | None:
    if eval_root is None:
        return None
    data = load_veri(eval_root)
    return EvalSplit.load(data.query, data.gallery, cfg.data.image_size, progress)


def run_train(
    cfg: ReidConfig,
    data_root: Path,
    init: Path | None,
    segments: Path | None,
    out_dir: Path,
    eval_root: Path | None = None,
    progress: bool = True,
    log: Log = print,
) -> TrainResult:
    """Stage 3 without labels. Meta-learning (cfg.train.meta) needs ``segments`` for background ratios."""
    images = training_images(cfg, data_root)
    if cfg.train.meta and segments is None:
        raise ConfigError(
            "meta-learning splits crops by background ratio: pass the stage-1 cache (--segments)"
        )
    _, ratios = _segment_priors(cfg, images, segments)
    bank = load_image_bank(list(images.paths), cfg.data.image_size, progress=progress)
    return train_unsupervised(
        cfg,
        bank,
        ratios,
        _init_checkpoint(cfg, init),
        out_dir,
        load_eval_split(cfg, eval_root, progress),
        progress,
        log,
        camera_ids=images.camera_ids,
    )


def run_train_supervised(
    cfg: ReidConfig,
    data_root: Path,
    init: Path | None,
    out_dir: Path,
    eval_root: Path | None = None,
    progress: bool = True,
    log: Log = print,
) -> TrainResult:
    """The upper bound of the ablation: the same loop on the true identities of ``image_train``."""
    records = training_records(cfg, data_root)
    bank = load_image_bank([r.path for r in records], cfg.data.image_size, progress=progress)
    labels = np.array([r.vehicle_id for r in records], dtype=np.int64)
    return train_supervised(
        cfg,
        bank,
        labels,
        None,
        _init_checkpoint(cfg, init),
        out_dir,
        load_eval_split(cfg, eval_root, progress),
        progress,
        log,
    )


def run_eval(weights: Path, data_root: Path, cfg: ReidConfig, progress: bool = True) -> RankResult:
    """mAP / CMC of a checkpoint on ``data_root``'s query and gallery (cross-camera protocol)."""
    ckpt = load_checkpoint(weights)
    cfg = cfg.model_copy(update={"model": ckpt.model, "data": ckpt.data})
    split = load_eval_split(cfg, data_root, progress)
    assert split is not None
    return split.score(ckpt.build_net().to(cfg.torch_device()), cfg)
