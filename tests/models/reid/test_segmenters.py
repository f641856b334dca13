"""Box-prompted segmenters: GrabCut on synthetic and real crops, SAM plumbing on a tiny random SAM, and the
checkpoint / package errors a user can cause."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from models.reid.segmenters import (
    MOBILE_SAM_INSTALL,
    GrabCutSegmenter,
    MobileSamSegmenter,
    SamSegmenter,
    Segmenter,
    SegmenterError,
    box_mask,
    build_segmenter,
    whole_crop_prompt,
)

# Measured on the smoke scene (seed 3), every 6th of its 45 crops: mean pixel IoU 0.81 (whole-crop box 0.6).
SMOKE_GRABCUT_MIN_IOU = 0.75
SMOKE_STRIDE = 6
SAM_INPUT = 64  # px, long side of the tiny SAM's input
SHARED_DATA = Path(__file__).resolve().parents[4] / "shared" / "data"  # read-only data beside the repo


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def _rectangle_on_texture(h: int, w: int, rect: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 grey-green noise with a red rectangle x1, y1, x2, y2, and its (H, W) bool mask."""
    rng = np.random.default_rng(0)
    image = (rng.normal(0, 18, (h, w, 3)) + np.array([110, 125, 100])).clip(0, 255).astype(np.uint8)
    x1, y1, x2, y2 = rect
    image[y1:y2, x1:x2] = (200, 30, 40)
    truth = np.zeros((h, w), bool)
    truth[y1:y2, x1:x2] = True
    return image, truth


def test_whole_crop_prompt() -> None:
    assert whole_crop_prompt(40, 100, 0.05).tolist() == pytest.approx([5.0, 2.0, 95.0, 38.0])
    with pytest.raises(ValueError, match="shrink"):
        whole_crop_prompt(40, 100, 0.5)


@pytest.mark.parametrize(("h", "w", "rect"), [(96, 128, (30, 25, 100, 75)), (24, 32, (8, 6, 25, 18))])
def test_grabcut_finds_a_rectangle(h: int, w: int, rect: tuple[int, int, int, int]) -> None:
    image, truth = _rectangle_on_texture(h, w, rect)
    seg = GrabCutSegmenter()
    assert isinstance(seg, Segmenter) and seg.name == "grabcut"
    x1, y1, x2, y2 = rect
    pad = 0.2 * min(x2 - x1, y2 - y1)
    mask = seg.segment(image, np.array([x1 - pad, y1 - pad, x2 + pad, y2 + pad]))
    assert mask.shape == (h, w) and mask.dtype == bool
    assert _iou(mask, truth) > 0.8


def test_grabcut_thin_box_falls_back_to_box() -> None:
    image, _ = _rectangle_on_texture(32, 32, (8, 8, 24, 24))
    box = np.array([10.0, 4.0, 11.0, 28.0])  # 1 px wide: nothing for GrabCut to cut
    assert np.array_equal(GrabCutSegmenter().segment(image, box), box_mask(32, 32, box))


def test_grabcut_on_smoke_scene_crops(smoke_scene: Path) -> None:
    crops = sorted((smoke_scene / "reid").glob("image_*/*.jpg"))[::SMOKE_STRIDE]
    assert crops
    seg, ious, box_ious = GrabCutSegmenter(), [], []
    for crop in crops:
        image = cv2.cvtColor(cv2.imread(str(crop)), cv2.COLOR_BGR2RGB)
        mask_file = crop.parent.parent / crop.parent.name.replace("image_", "mask_") / f"{crop.stem}.png"
        truth = cv2.imread(str(mask_file), cv2.IMREAD_GRAYSCALE) > 127
        box = whole_crop_prompt(*truth.shape, 0.05)
        ious.append(_iou(seg.segment(image, box), truth))
        box_ious.append(_iou(box_mask(*truth.shape, box), truth))
    assert np.mean(ious) > SMOKE_GRABCUT_MIN_IOU
    assert np.mean(ious) > np.mean(box_ious) + 0.1


def _tiny_sam(embed_dim: int = 768) -> torch.nn.Module:
    """A random SAM with a 1-block encoder on 64 px inputs; embed_dim 768 makes its weights look like vit_b."""
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    torch.manual_seed(0)
    prompt_dim, grid = 16, SAM_INPUT // 16
    return Sam(
        image_encoder=ImageEncoderViT(
            img_size=SAM_INPUT, patch_size=16, embed_dim=embed_dim, depth=1, num_heads=4, out_chans=prompt_dim
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=prompt_dim,
            image_embedding_size=(grid, grid),
            input_image_size=(SAM_INPUT, SAM_INPUT),
            mask_in_chans=4,
        ),
        mask_decoder=MaskDecoder(
            transformer_dim=prompt_dim,
            transformer=TwoWayTransformer(depth=1, embedding_dim=prompt_dim, mlp_dim=32, num_heads=2),
            iou_head_hidden_dim=16,
        ),
    ).eval()


def test_sam_segmenter_passes_the_box_and_returns_a_mask() -> None:
    seg = SamSegmenter(_tiny_sam(embed_dim=32), "sam_tiny")
    seen: list[torch.Tensor] = []
    seg.model.prompt_encoder.register_forward_hook(
        lambda _m, _a, kwargs, _o: seen.append(kwargs["boxes"]), with_kwargs=True
    )
    image = np.random.default_rng(0).integers(0, 255, (40, 80, 3), dtype=np.uint8)
    box = np.array([10.0, 4.0, 70.0, 36.0])
    mask = seg.segment(image, box)
    assert mask.shape == (40, 80) and mask.dtype == bool
    # The predictor rescales the box with the image: long side 80 px -> SAM_INPUT px.
    assert seen[0].reshape(-1).tolist() == pytest.approx((box * SAM_INPUT / 80).tolist())


def test_sam_from_checkpoint_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import segment_anything

    monkeypatch.setitem(segment_anything.sam_model_registry, "vit_b", lambda checkpoint=None: _tiny_sam())
    path = tmp_path / "sam.pth"
    torch.save(_tiny_sam().state_dict(), path)
    seg = build_segmenter("sam", path, "vit_b")
    assert seg.name == "sam_vit_b"
    assert seg.segment(np.zeros((20, 30, 3), np.uint8), np.array([2, 2, 28, 18])).shape == (20, 30)


def test_sam_checkpoint_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import segment_anything

    monkeypatch.setitem(segment_anything.sam_model_registry, "vit_b", lambda checkpoint=None: _tiny_sam())
    load = partial(SamSegmenter.from_checkpoint, model_type="vit_b")
    with pytest.raises(SegmenterError, match="does not exist"):
        load(tmp_path / "nope.pth")
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x00not a checkpoint" * 10)
    with pytest.raises(SegmenterError, match="not a readable torch checkpoint"):
        load(garbage)
    vit_l = tmp_path / "vit_l.pth"
    torch.save({"image_encoder.patch_embed.proj.weight": torch.zeros(1024, 3, 1, 1)}, vit_l)
    with pytest.raises(SegmenterError, match="looks like vit_l, not vit_b"):
        load(vit_l)
    mobile = tmp_path / "mobile.pt"
    torch.save({"image_encoder.layers.0.weight": torch.zeros(1)}, mobile)
    with pytest.raises(SegmenterError, match="use segmenter mobile_sam"):
        load(mobile)
    partial_state = _tiny_sam().state_dict()
    partial_state.pop("mask_decoder.iou_token.weight")
    torch.save(partial_state, broken := tmp_path / "broken.pth")
    with pytest.raises(SegmenterError, match=r"does not fit a SAM vit_b \(1 weights missing, 0 unexpected"):
        load(broken)
    reshaped = _tiny_sam().state_dict()
    reshaped["mask_decoder.iou_token.weight"] = torch.zeros(2, 3)
    torch.save(reshaped, wrong_shape := tmp_path / "shape.pth")
    with pytest.raises(SegmenterError, match=r"does not fit a SAM vit_b \(size mismatch for mask_decoder"):
        load(wrong_shape)
    with pytest.raises(SegmenterError, match="model_type 'vit_x'"):
        SamSegmenter.from_checkpoint(broken, "vit_x")


def test_mobile_sam_missing_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mobile_sam", None)  # import fails as if not installed
    with pytest.raises(SegmenterError, match="MobileSAM is not installed") as err:
        MobileSamSegmenter.from_checkpoint(tmp_path / "mobile_sam.pt")
    assert MOBILE_SAM_INSTALL in str(err.value)


def test_mobile_sam_with_a_real_checkpoint() -> None:
    checkpoints = sorted(SHARED_DATA.glob("**/mobile_sam*.pt")) if SHARED_DATA.is_dir() else []
    if not checkpoints:
        pytest.skip(f"no MobileSAM checkpoint (mobile_sam*.pt) under {SHARED_DATA}")
    pytest.importorskip("mobile_sam", reason=f"MobileSAM not installed: {MOBILE_SAM_INSTALL}")
    image, truth = _rectangle_on_texture(96, 128, (30, 25, 100, 75))
    seg = build_segmenter("mobile_sam", checkpoints[0])
    assert seg.name == "mobile_sam"
    assert _iou(seg.segment(image, np.array([24, 19, 106, 81])), truth) > 0.8


def test_build_segmenter_errors() -> None:
    assert build_segmenter("grabcut", grabcut_iterations=2).name == "grabcut"
    with pytest.raises(SegmenterError, match="needs a checkpoint"):
        build_segmenter("sam")
    with pytest.raises(SegmenterError, match="needs a checkpoint"):
        build_segmenter("mobile_sam")
    with pytest.raises(SegmenterError, match="'watershed' is not one of grabcut, sam, mobile_sam"):
        build_segmenter("watershed")
    with pytest.raises(SegmenterError, match="grabcut_iterations"):
        build_segmenter("grabcut", grabcut_iterations=0)
