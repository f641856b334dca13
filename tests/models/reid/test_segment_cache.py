"""SegmentCache: building it from crops, the .npz round trip, lookups and the errors a user can cause."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from models.reid.segment_cache import (
    SegmentCache,
    SegmentCacheError,
    build_cache,
    resize_pixel_mask,
    segment_images,
)
from models.reid.segmenters import GrabCutSegmenter, whole_crop_prompt

SIZE, PATCH = (32, 48), 8  # (H, W) px; a 4 x 6 patch grid


class RecordingSegmenter:
    """Fake segmenter: the left half of the prompt box is vehicle; remembers every call."""

    name = "left_half"

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[int, ...], np.ndarray]] = []

    def segment(self, image_rgb: np.ndarray, box_xyxy: np.ndarray) -> np.ndarray:
        self.calls.append((image_rgb.shape, box_xyxy))
        mask = np.zeros(image_rgb.shape[:2], bool)
        mask[:, : image_rgb.shape[1] // 2] = True
        return mask


def _crops(folder: Path, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        image = np.full((20 + 4 * i, 30 + 6 * i, 3), 40 * i, np.uint8)
        cv2.imwrite(str(path := folder / f"{i:04d}_c001_{i:06d}.jpg"), image)
        paths.append(path)
    return paths


def _cache(n: int = 3) -> SegmentCache:
    rng = np.random.default_rng(0)
    raw = rng.random((n, 4, 6)) > 0.5
    return SegmentCache(
        names=tuple(f"{i:04d}.jpg" for i in range(n)),
        raw=raw,
        refined=~raw,
        background_ratio=np.linspace(0, 1, n, dtype=np.float32),
        segmenter="grabcut",
        features="pixels",
        patch=PATCH,
        image_size=SIZE,
    )


def test_resize_pixel_mask_keeps_more_than_half() -> None:
    mask = np.zeros((4, 4), bool)
    mask[:, :2] = True
    assert resize_pixel_mask(mask, (2, 2)).tolist() == [[True, False], [True, False]]
    assert resize_pixel_mask(mask, (8, 8))[:, :4].all() and not resize_pixel_mask(mask, (8, 8))[:, 4:].any()


def test_segment_images_prompts_whole_crop_and_cuts_patches(tmp_path: Path) -> None:
    paths = _crops(tmp_path, 2)
    seg = RecordingSegmenter()
    masks = segment_images(paths, seg, SIZE, PATCH, shrink=0.05, progress=False)
    assert masks.shape == (2, 4, 6) and masks.dtype == bool
    assert masks[:, :, :3].all() and not masks[:, :, 3:].any()  # left half of each crop
    (shape, box), _ = seg.calls
    assert shape == (20, 30, 3)  # segmented at the crop's own resolution
    assert box.tolist() == pytest.approx(whole_crop_prompt(20, 30, 0.05).tolist())


def test_build_cache_on_smoke_crops(smoke_scene: Path) -> None:
    paths = sorted((smoke_scene / "reid" / "image_train").glob("*.jpg"))[:4]
    cache = build_cache(paths, GrabCutSegmenter(), (64, 64), 8, shrink=0.05, progress=False)
    assert cache.names == tuple(p.name for p in paths)
    assert cache.raw.shape == cache.refined.shape == (4, 8, 8)
    assert cache.segmenter == "grabcut" and cache.features == "pixels"
    expected = 1.0 - cache.refined.reshape(4, -1).mean(1)
    assert np.allclose(cache.background_ratio, expected) and cache.background_ratio.dtype == np.float32
    # A vehicle crop is neither all vehicle nor all background.
    assert ((cache.background_ratio > 0.1) & (cache.background_ratio < 0.9)).all()


def test_build_cache_with_feature_fn(tmp_path: Path) -> None:
    paths = _crops(tmp_path, 2)
    features = lambda images: torch.ones(len(images), 24, 2)  # noqa: E731 - identical patches: ties
    with pytest.raises(ValueError, match="features_name"):
        build_cache(paths, RecordingSegmenter(), SIZE, PATCH, 0.05, feature_fn=features, progress=False)
    cache = build_cache(
        paths, RecordingSegmenter(), SIZE, PATCH, 0.05, features, features_name="encoder", progress=False
    )
    assert cache.features == "encoder"
    # Identical features: every score is 0 (similar to both regions alike), so every patch is background.
    assert not cache.refined.any() and cache.background_ratio.tolist() == [1.0, 1.0]
    wrong = lambda images: torch.ones(len(images), 5, 2)  # noqa: E731
    with pytest.raises(ValueError, match=r"must return \(2, 24, D\)"):
        build_cache(paths, RecordingSegmenter(), SIZE, PATCH, 0.05, wrong, "bad", progress=False)


def test_build_cache_errors(tmp_path: Path) -> None:
    with pytest.raises(SegmentCacheError, match="no crops"):
        build_cache([], RecordingSegmenter(), SIZE, PATCH, 0.05, progress=False)
    (bad := tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(SegmentCacheError, match=r"bad\.jpg cannot be read"):
        build_cache([bad], RecordingSegmenter(), SIZE, PATCH, 0.05, progress=False)


def test_save_load_round_trip_and_lookup(tmp_path: Path) -> None:
    cache = _cache()
    loaded = SegmentCache.load(cache.save(tmp_path / "sub" / "segments.npz"))
    assert loaded.names == cache.names and loaded.image_size == SIZE and loaded.patch == PATCH
    assert (loaded.segmenter, loaded.features) == ("grabcut", "pixels")
    for field in ("raw", "refined", "background_ratio"):
        assert np.array_equal(getattr(loaded, field), getattr(cache, field))
    assert loaded.lookup(["0002.jpg", "0000.jpg"]).tolist() == [2, 0]
    with pytest.raises(SegmentCacheError, match=r"image '0009\.jpg' is not in the segment cache"):
        loaded.lookup(["0001.jpg", "0009.jpg"])
    loaded.check_compatible(PATCH, SIZE)
    with pytest.raises(SegmentCacheError, match="patch 8 at 32x48, the config wants patch 16 at 64x64"):
        loaded.check_compatible(16, (64, 64))


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(SegmentCacheError, match="does not exist"):
        SegmentCache.load(tmp_path / "missing.npz")
    (garbage := tmp_path / "garbage.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(SegmentCacheError, match="is not readable"):
        SegmentCache.load(garbage)
    cache = _cache()
    old = tmp_path / "old.npz"
    np.savez(
        old,
        meta=np.array(json.dumps({"format": 0})),
        names=np.array(cache.names),
        raw=cache.raw,
        refined=cache.refined,
        background_ratio=cache.background_ratio,
    )
    with pytest.raises(SegmentCacheError, match="has format 0, this crosscam reads 1"):
        SegmentCache.load(old)


def test_cache_validation() -> None:
    cache = _cache()
    with pytest.raises(ValueError, match="appears twice"):
        SegmentCache(("a.jpg", "b.jpg", "a.jpg"), *_fields(cache))
    with pytest.raises(ValueError, match=r"raw must be \(3, 4, 6\) bool"):
        SegmentCache(cache.names, cache.raw[:, :2], *_fields(cache)[1:])


def _fields(cache: SegmentCache) -> tuple:
    return (cache.raw, cache.refined, cache.background_ratio, "grabcut", "pixels", PATCH, SIZE)
