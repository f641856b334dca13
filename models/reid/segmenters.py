"""Stage 1 of METHOD.md: box-prompted vehicle segmenters (pixel masks) for the patch masks.

SAM (``segment-anything``) and MobileSAM need a checkpoint given by path; nothing is ever downloaded.
Without one, ``GrabCutSegmenter`` is the classical box-prompted fallback. Every segmenter has a ``name``
that runs record, so a result says which prior it was trained with.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import cv2
import numpy as np
import torch

SAM_MODEL_TYPES = ("vit_b", "vit_l", "vit_h")
# Encoder width of each SAM size (build_sam.py), to name the size a checkpoint really holds.
SAM_EMBED_DIMS = {768: "vit_b", 1024: "vit_l", 1280: "vit_h"}
MOBILE_SAM_TYPE = "vit_t"
MOBILE_SAM_INSTALL = "pip install git+https://github.com/ChaoningZhang/MobileSAM"
# GrabCut fits 5-component colour GMMs to the pixels in and around the box; on the town's 30-90 px crops
# that is few samples and grey cars leak into grey road. Upsampling the crop until its short side has
# this many px raised mean pixel IoU on 160 crops of the default town from 0.62 (none) to 0.68
# (64), 0.72 (96), 0.76 (128), 0.80 (160) at 26, 46, 89, 179, 264 ms per crop (2-core CPU): 128 is the trade.
GRABCUT_MIN_SIDE = 128
# A mask covering less than this fraction of the box means GrabCut lost the vehicle: in the town's crops
# the true vehicle covers at least 0.46 of the whole-crop box (2,000 crops of the hard preset).
GRABCUT_MIN_FOREGROUND = 0.2
# GrabCut's k-means initialisation draws from OpenCV's RNG; seeding it per call makes a crop's mask
# independent of what was segmented before it (reproducible caches).
GRABCUT_SEED = 0
# GrabCut learns the background model from outside the box: keep at least this ring (px) outside it.
GRABCUT_MIN_BORDER_PX = 1

SegmenterKind = Literal["grabcut", "sam", "mobile_sam"]


class SegmenterError(ValueError):
    """A segmenter cannot be built from what the user gave (option, checkpoint file, missing package)."""


@runtime_checkable
class Segmenter(Protocol):
    """Box-prompted segmenter: ``name`` is recorded by runs (e.g. "grabcut", "sam_vit_b", "mobile_sam")."""

    name: str

    def segment(self, image_rgb: np.ndarray, box_xyxy: np.ndarray) -> np.ndarray:
        """image_rgb: (H, W, 3) uint8 RGB; box_xyxy: (4,) px -> (H, W) bool, True = vehicle pixel."""
        ...


def whole_crop_prompt(height: int, width: int, shrink: float) -> np.ndarray:
    """Box prompt (4,) float32 x1, y1, x2, y2 px for a whole crop: its border moved in by ``shrink`` of each
    side (0 <= shrink < 0.5). Crops padded by a fraction p of the box on each side want p / (1 + 2p)."""
    if not 0 <= shrink < 0.5:
        raise ValueError(f"prompt shrink must be in [0, 0.5), got {shrink}")
    dx, dy = shrink * width, shrink * height
    return np.array([dx, dy, width - dx, height - dy], dtype=np.float32)


def box_mask(height: int, width: int, box_xyxy: np.ndarray) -> np.ndarray:
    """(H, W) bool mask of the pixels whose centres lie inside the box (x1 <= x + 0.5 < x2, same for y)."""
    x1, y1, x2, y2 = (float(v) for v in box_xyxy)
    xs, ys = np.arange(width) + 0.5, np.arange(height) + 0.5
    return ((ys >= y1) & (ys < y2))[:, None] & ((xs >= x1) & (xs < x2))[None, :]


def _check_inputs(image_rgb: np.ndarray, box_xyxy: np.ndarray) -> np.ndarray:
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image_rgb.shape} {image_rgb.dtype}")
    box = np.asarray(box_xyxy, dtype=np.float32).reshape(-1)
    if box.shape != (4,):
        raise ValueError(f"box must be (4,) x1, y1, x2, y2 px, got shape {np.shape(box_xyxy)}")
    return box


class GrabCutSegmenter:
    """OpenCV GrabCut initialised with the box (GC_INIT_WITH_RECT); definite/probable foreground = vehicle."""

    name = "grabcut"

    def __init__(self, iterations: int = 5, min_side: int = GRABCUT_MIN_SIDE) -> None:
        """iterations: GrabCut EM rounds; min_side: crops are upsampled to at least this short side (px)."""
        if not hasattr(cv2, "grabCut"):  # OpenCV 5 dropped some legacy APIs; grabCut is in 5.0.0
            raise SegmenterError(f"OpenCV {cv2.__version__} has no grabCut: install opencv-python 4.x or 5.0")
        if iterations < 1:
            raise SegmenterError(f"grabcut_iterations must be at least 1, got {iterations}")
        if min_side < 1:
            raise SegmenterError(f"grabcut min_side must be at least 1 px, got {min_side}")
        self.iterations = iterations
        self.min_side = min_side

    def segment(self, image_rgb: np.ndarray, box_xyxy: np.ndarray) -> np.ndarray:
        """image_rgb: (H, W, 3) uint8; box_xyxy: (4,) px -> (H, W) bool.

        If GrabCut keeps less than GRABCUT_MIN_FOREGROUND of the box, or the box is too thin to run it, the
        box itself is returned: the prompt is the one thing known about where the vehicle is, and an empty
        mask would make the image all background (no vehicle patch to keep visible in pre-training, r = 1
        in the meta split).
        """
        box = _check_inputs(image_rgb, box_xyxy)
        h, w = image_rgb.shape[:2]
        fallback = box_mask(h, w, box)
        scale = max(1.0, self.min_side / max(min(h, w), 1))
        work_w, work_h = round(w * scale), round(h * scale)
        work = (
            image_rgb
            if scale == 1.0
            else cv2.resize(image_rgb, (work_w, work_h), interpolation=cv2.INTER_CUBIC)
        )
        rect = _grabcut_rect(box * np.array([work_w / w, work_h / h] * 2, dtype=np.float32), work_w, work_h)
        if rect is None:
            return fallback
        labels = np.zeros((work_h, work_w), np.uint8)
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(GRABCUT_SEED)
        # GrabCut works on BGR or RGB alike (it models colours, not their names); OpenCV wants 3 x uint8.
        cv2.grabCut(
            np.ascontiguousarray(work), labels, rect, bgd, fgd, self.iterations, cv2.GC_INIT_WITH_RECT
        )
        fg = ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.uint8) * 255
        if scale != 1.0:
            # Area averaging gives each original pixel the fraction of its upsampled pixels that are vehicle.
            fg = cv2.resize(fg, (w, h), interpolation=cv2.INTER_AREA)
        mask = fg > 127
        return mask if (mask & fallback).sum() >= GRABCUT_MIN_FOREGROUND * fallback.sum() else fallback


def _grabcut_rect(box: np.ndarray, width: int, height: int) -> tuple[int, int, int, int] | None:
    """Integer (x, y, w, h) rect covering the box, leaving a background ring; None when it is empty."""
    m = GRABCUT_MIN_BORDER_PX
    x1, y1 = max(math.floor(box[0]), m), max(math.floor(box[1]), m)
    x2, y2 = min(math.ceil(box[2]), width - m), min(math.ceil(box[3]), height - m)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    return x1, y1, x2 - x1, y2 - y1


class SamSegmenter:
    """A SAM-family model behind its ``SamPredictor``, prompted with one box, single-mask output."""

    def __init__(self, model: Any, name: str, device: str = "cpu", predictor_cls: type | None = None) -> None:
        """model: a ``segment_anything.modeling.Sam`` (or MobileSAM's); predictor_cls defaults to
        ``segment_anything.SamPredictor`` (MobileSAM brings its own, same API)."""
        if predictor_cls is None:
            predictor_cls = _import_segment_anything().SamPredictor
        self.name = name
        self.device = device
        self.model = model.to(device).eval()
        self._predictor = predictor_cls(self.model)

    def segment(self, image_rgb: np.ndarray, box_xyxy: np.ndarray) -> np.ndarray:
        """image_rgb: (H, W, 3) uint8 RGB; box_xyxy: (4,) px -> (H, W) bool, True = vehicle pixel."""
        box = _check_inputs(image_rgb, box_xyxy)
        with torch.inference_mode():
            self._predictor.set_image(np.ascontiguousarray(image_rgb), image_format="RGB")
            masks, _, _ = self._predictor.predict(box=box, multimask_output=False)
        return np.asarray(masks[0], dtype=bool)

    @classmethod
    def from_checkpoint(
        cls, path: Path | str, model_type: str = "vit_b", device: str = "cpu"
    ) -> SamSegmenter:
        """SAM of ``model_type`` (vit_b, vit_l, vit_h) with the weights in ``path``; raises SegmenterError."""
        if model_type not in SAM_MODEL_TYPES:
            raise SegmenterError(f"SAM model_type {model_type!r} is not one of {', '.join(SAM_MODEL_TYPES)}")
        state = load_checkpoint(path, "SAM")
        found = checkpoint_model_type(state)
        if found != model_type:
            hint = "unknown model" if found is None else found
            fix = (
                "use segmenter mobile_sam" if found == MOBILE_SAM_TYPE else "set segment.model_type to match"
            )
            raise SegmenterError(f"SAM checkpoint {path} looks like {hint}, not {model_type}: {fix}")
        registry = _import_segment_anything().sam_model_registry
        model = _load_into(registry[model_type](checkpoint=None), state, path, f"SAM {model_type}")
        return cls(model, f"sam_{model_type}", device)


class MobileSamSegmenter(SamSegmenter):
    """MobileSAM (TinyViT encoder, SAM's decoder): needs the ``mobile_sam`` package (not on PyPI)."""

    @classmethod
    def from_checkpoint(  # type: ignore[override]
        cls, path: Path | str, device: str = "cpu"
    ) -> MobileSamSegmenter:
        """MobileSAM vit_t with the weights in ``path``; raises SegmenterError."""
        try:
            import mobile_sam
        except ImportError:
            raise SegmenterError(
                f"MobileSAM is not installed: {MOBILE_SAM_INSTALL}, then give its checkpoint path"
            ) from None
        state = load_checkpoint(path, "MobileSAM")
        found = checkpoint_model_type(state)
        if found != MOBILE_SAM_TYPE:
            fix = f"use segmenter sam with model_type {found}" if found else "give a mobile_sam.pt checkpoint"
            raise SegmenterError(f"MobileSAM checkpoint {path} looks like {found or 'unknown model'}: {fix}")
        model = _load_into(
            mobile_sam.sam_model_registry[MOBILE_SAM_TYPE](checkpoint=None), state, path, "MobileSAM"
        )
        return cls(model, "mobile_sam", device, predictor_cls=mobile_sam.SamPredictor)


def _import_segment_anything() -> Any:
    try:
        import segment_anything
    except ImportError:
        raise SegmenterError("segment-anything is not installed: pip install segment-anything") from None
    return segment_anything


def load_checkpoint(path: Path | str, what: str) -> dict[str, torch.Tensor]:
    """The state dict in a checkpoint file (tensors only, on the CPU); raises SegmenterError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise SegmenterError(
            f"{what} checkpoint {path} does not exist: give the path of a downloaded checkpoint"
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch all raise their own types for a damaged file
        raise SegmenterError(
            f"{what} checkpoint {path} is not a readable torch checkpoint ({type(exc).__name__}): download it again"
        ) from None
    for key in ("model", "state_dict"):  # some training scripts wrap the weights
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise SegmenterError(
            f"{what} checkpoint {path} holds no state dict of tensors: give the model's weights"
        )
    return obj


def checkpoint_model_type(state: dict[str, torch.Tensor]) -> str | None:
    """vit_b / vit_l / vit_h (SAM, from the encoder width) or vit_t (MobileSAM's TinyViT); None if neither."""
    if any(k.startswith("image_encoder.layers.") for k in state):
        return MOBILE_SAM_TYPE
    proj = state.get("image_encoder.patch_embed.proj.weight")
    return None if proj is None else SAM_EMBED_DIMS.get(int(proj.shape[0]))


def _load_into(
    model: torch.nn.Module, state: dict[str, torch.Tensor], path: Path | str, label: str
) -> torch.nn.Module:
    """``model`` with the weights of ``state``; every key must fit, else SegmenterError saying which."""
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # a shape mismatch; its first line only says "Error(s) in loading"
        detail = next((line.strip() for line in str(exc).splitlines()[1:] if line.strip()), str(exc))
        raise SegmenterError(
            f"checkpoint {path} does not fit a {label} ({detail}): give its checkpoint"
        ) from None
    missing, unexpected = result.missing_keys, result.unexpected_keys
    if missing or unexpected:
        example = (missing or unexpected)[0]
        raise SegmenterError(
            f"checkpoint {path} does not fit a {label} ({len(missing)} weights missing, {len(unexpected)} "
            f"unexpected, e.g. {example}): give its checkpoint"
        )
    return model


def build_segmenter(
    kind: SegmenterKind,
    checkpoint: Path | str | None = None,
    model_type: str = "vit_b",
    device: str = "cpu",
    grabcut_iterations: int = 5,
    grabcut_min_side: int = GRABCUT_MIN_SIDE,
) -> Segmenter:
    """The segmenter a config names (segment.segmenter, .checkpoint, .model_type, .grabcut_iterations)."""
    builders: dict[str, Callable[[], Segmenter]] = {
        "grabcut": lambda: GrabCutSegmenter(grabcut_iterations, grabcut_min_side),
        "sam": lambda: SamSegmenter.from_checkpoint(_need(checkpoint, kind), model_type, device),
        "mobile_sam": lambda: MobileSamSegmenter.from_checkpoint(_need(checkpoint, kind), device),
    }
    if kind not in builders:
        raise SegmenterError(f"segmenter {kind!r} is not one of {', '.join(builders)}")
    return builders[kind]()


def _need(checkpoint: Path | str | None, kind: str) -> Path:
    if checkpoint is None:
        raise SegmenterError(
            f"segmenter {kind} needs a checkpoint: set segment.checkpoint to its path, or use segmenter grabcut"
        )
    return Path(checkpoint)
