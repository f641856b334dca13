"""Stage 1 of METHOD.md end to end: crops -> segmenter pixel masks -> patch masks -> refined patch masks,
kept in one ``SegmentCache`` (.npz) that pre-training (vehicle patches) and the meta split (background
ratio) read by image name.

Masks are made at the crop's own resolution and resized to the training input size the way the data layer
resizes the images (cv2 INTER_LINEAR to (W, H)), so a patch of the mask covers the same pixels as the
image patch the encoder sees.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from models.reid.data import load_image_bank
from models.reid.patch_mask import background_ratio, patch_mask, pixel_patch_features, refine_batch
from models.reid.segmenters import Segmenter, whole_crop_prompt

CACHE_FORMAT = 1
# A resized (interpolated) mask pixel is vehicle when more than half of it was: the same "more than half"
# rule the patches use.
MASK_THRESHOLD = 0.5
# Crops per feature/refinement batch: bounds the (B, N, N) similarity tensor (256 x 256 x 256 floats at
# 256x256 input and P = 16 is 64 MiB).
REFINE_BATCH = 256
PIXEL_FEATURES = "pixels"

FeatureFn = Callable[[torch.Tensor], torch.Tensor]


class SegmentCacheError(ValueError):
    """A segment cache or one of its crops cannot be read or does not fit the request."""


@dataclass(frozen=True)
class SegmentCache:
    """Patch masks of a set of crops (one split: VeRi query names repeat test names).

    names: (N,) crop file names; raw, refined: (N, gh, gw) bool patch masks (True = vehicle) from the
    segmenter and after the Eq. 1-2 refinement; background_ratio: (N,) float32 of the refined masks;
    segmenter / features: what made and refined them; patch: P px; image_size: (H, W) px of the input.
    """

    names: tuple[str, ...]
    raw: np.ndarray
    refined: np.ndarray
    background_ratio: np.ndarray
    segmenter: str
    features: str
    patch: int
    image_size: tuple[int, int]

    def __post_init__(self) -> None:
        h, w = self.image_size
        if self.patch < 1 or h % self.patch or w % self.patch:
            raise ValueError(f"image_size {h}x{w} is not a whole number of {self.patch} px patches")
        grid = (len(self.names), h // self.patch, w // self.patch)
        for field, array in (("raw", self.raw), ("refined", self.refined)):
            if array.shape != grid or array.dtype != bool:
                raise ValueError(f"{field} must be {grid} bool, got {array.shape} {array.dtype}")
        if self.background_ratio.shape != grid[:1]:
            raise ValueError(f"background_ratio must be ({grid[0]},), got {self.background_ratio.shape}")
        if len(set(self.names)) != len(self.names):
            dup = next(n for i, n in enumerate(self.names) if n in self.names[:i])
            raise ValueError(f"image {dup!r} appears twice: build one cache per split")

    def __len__(self) -> int:
        return len(self.names)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    def lookup(self, names: Sequence[str]) -> np.ndarray:
        """(len(names),) int64 rows of these crop names; raises SegmentCacheError naming a missing one."""
        try:
            return np.array([self._index[n] for n in names], dtype=np.int64)
        except KeyError as exc:
            raise SegmentCacheError(
                f"image {exc.args[0]!r} is not in the segment cache ({len(self)} images, segmenter "
                f"{self.segmenter}): build the cache again over the current training crops"
            ) from None

    def check_compatible(self, patch: int, image_size: tuple[int, int]) -> None:
        """Raise SegmentCacheError unless the cache was made for this patch size and input size."""
        if patch != self.patch or tuple(image_size) != tuple(self.image_size):
            raise SegmentCacheError(
                f"segment cache is for patch {self.patch} at {self.image_size[0]}x{self.image_size[1]}, the "
                f"config wants patch {patch} at {image_size[0]}x{image_size[1]}: build the cache again"
            )

    def save(self, path: Path | str) -> Path:
        """Write one .npz (arrays + JSON metadata); written to a temporary file first, then renamed."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": CACHE_FORMAT,
            "segmenter": self.segmenter,
            "features": self.features,
            "patch": self.patch,
            "image_size": list(self.image_size),
        }
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            np.savez_compressed(
                f,
                meta=np.array(json.dumps(meta)),
                names=np.array(self.names, dtype=str),
                raw=self.raw,
                refined=self.refined,
                background_ratio=self.background_ratio.astype(np.float32),
            )
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path | str) -> SegmentCache:
        """Read a cache written by ``save``; raises SegmentCacheError naming the file and the fix."""
        path = Path(path)
        if not path.is_file():
            raise SegmentCacheError(f"segment cache {path} does not exist: run the segment stage to build it")
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                arrays = {k: data[k] for k in ("names", "raw", "refined", "background_ratio")}
        except Exception as exc:  # zip, npy header, JSON and missing keys each raise their own type
            raise SegmentCacheError(
                f"segment cache {path} is not readable ({type(exc).__name__}): delete it and build it again"
            ) from None
        if not isinstance(meta, dict) or meta.get("format") != CACHE_FORMAT:
            found = meta.get("format") if isinstance(meta, dict) else None
            raise SegmentCacheError(
                f"segment cache {path} has format {found}, this crosscam reads {CACHE_FORMAT}: build it again"
            )
        try:
            return cls(
                names=tuple(str(n) for n in arrays["names"]),
                raw=arrays["raw"],
                refined=arrays["refined"],
                background_ratio=arrays["background_ratio"],
                segmenter=str(meta["segmenter"]),
                features=str(meta["features"]),
                patch=int(meta["patch"]),
                image_size=(int(meta["image_size"][0]), int(meta["image_size"][1])),
            )
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            raise SegmentCacheError(f"segment cache {path} is inconsistent ({exc}): build it again") from None


def read_rgb(path: Path | str) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an image file; raises SegmentCacheError naming an unreadable one."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SegmentCacheError(f"crop {path} cannot be read as an image: check the file or remove it")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def resize_pixel_mask(mask: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """(h, w) bool -> (H, W) bool, interpolated like the images (INTER_LINEAR) and kept where > 0.5."""
    h, w = size_hw
    resized = cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return resized > MASK_THRESHOLD


def segment_images(
    paths: Sequence[Path | str],
    segmenter: Segmenter,
    image_size_hw: tuple[int, int],
    patch: int,
    shrink: float,
    progress: bool = True,
) -> np.ndarray:
    """Raw patch masks (N, H / P, W / P) bool: each crop segmented at its own resolution with the whole-crop
    box prompt, its pixel mask resized to ``image_size_hw`` and cut into P x P patches (> 50 % rule)."""
    h, w = image_size_hw
    out = np.zeros((len(paths), h // patch, w // patch), dtype=bool)
    for i, path in enumerate(tqdm(paths, desc=f"segment ({segmenter.name})", disable=not progress)):
        image = read_rgb(path)
        pixels = segmenter.segment(image, whole_crop_prompt(*image.shape[:2], shrink))
        out[i] = patch_mask(resize_pixel_mask(pixels, image_size_hw), patch)
    return out


def refine_masks(
    paths: Sequence[Path | str],
    raw: np.ndarray,
    image_size_hw: tuple[int, int],
    patch: int,
    feature_fn: FeatureFn | None = None,
) -> np.ndarray:
    """Refined patch masks (N, gh, gw) bool from raw (N, gh, gw) with the patch features of ``feature_fn``
    (images (B, 3, H, W) float [0, 1] -> (B, gh * gw, D); default ``pixel_patch_features``)."""
    n, gh, gw = raw.shape
    refined = np.zeros_like(raw)
    for start in range(0, n, REFINE_BATCH):
        stop = min(start + REFINE_BATCH, n)
        # The data layer's decoder, so the refinement sees exactly the pixels training sees.
        images = load_image_bank(paths[start:stop], image_size_hw).float() / 255.0
        with torch.no_grad():
            feats = feature_fn(images) if feature_fn is not None else pixel_patch_features(images, patch)
        if feats.ndim != 3 or feats.shape[:2] != (stop - start, gh * gw):
            raise ValueError(
                f"feature_fn must return ({stop - start}, {gh * gw}, D), got {tuple(feats.shape)}"
            )
        masks = torch.from_numpy(raw[start:stop].reshape(stop - start, -1))
        refined[start:stop] = refine_batch(feats, masks).cpu().numpy().reshape(-1, gh, gw)
    return refined


def build_cache(
    paths: Sequence[Path | str],
    segmenter: Segmenter,
    image_size_hw: tuple[int, int],
    patch: int,
    shrink: float,
    feature_fn: FeatureFn | None = None,
    features_name: str | None = None,
    progress: bool = True,
) -> SegmentCache:
    """Stage 1 for a set of crops: raw masks, refined masks (pixel features unless ``feature_fn``, which
    then needs ``features_name`` for the record), background ratio of the refined masks."""
    if feature_fn is not None and not features_name:
        raise ValueError("build_cache: give features_name to record which features refined the masks")
    paths = [Path(p) for p in paths]
    if not paths:
        raise SegmentCacheError("build_cache: no crops given: check the image folder")
    raw = segment_images(paths, segmenter, image_size_hw, patch, shrink, progress)
    refined = refine_masks(paths, raw, image_size_hw, patch, feature_fn)
    return SegmentCache(
        names=tuple(p.name for p in paths),
        raw=raw,
        refined=refined,
        background_ratio=np.asarray(background_ratio(refined.reshape(len(paths), -1)), dtype=np.float32),
        segmenter=segmenter.name,
        features=features_name or PIXEL_FEATURES,
        patch=patch,
        image_size=(int(image_size_hw[0]), int(image_size_hw[1])),
    )
