"""The Re-ID config: the shipped YAML documents every key, and bad values are one clear error."""

from __future__ import annotations

import re

import pytest

from models.reid.config import CONFIG_DIR, ConfigError, ReidConfig, load_reid_config


def _leaf_keys(model: type, prefix: str = "") -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        sub = field.annotation
        if isinstance(sub, type) and hasattr(sub, "model_fields"):
            keys |= _leaf_keys(sub, f"{prefix}{name}.")
        else:
            keys.add(f"{prefix}{name}")
    return keys


def test_every_key_is_in_the_yaml_with_a_comment():
    text = (CONFIG_DIR / "reid.yaml").read_text()
    for key in _leaf_keys(ReidConfig):
        leaf = key.split(".")[-1]
        line = next((ln for ln in text.splitlines() if re.match(rf"\s*{leaf}:", ln)), None)
        assert line is not None, f"{key} missing from reid.yaml"
        assert "#" in line, f"{key} has no comment in reid.yaml"


def test_smoke_and_overrides_apply_in_order():
    cfg = load_reid_config(smoke=True, overrides=["model.depth=3", "data.image_size=[48, 48]"])
    assert cfg.model.depth == 3 and cfg.data.image_size == (48, 48)
    assert cfg.model.width == 32  # from smoke.yaml
    assert cfg.grid == (6, 6)


@pytest.mark.parametrize(
    "override,message",
    [
        ("model.patch=7", "not a multiple of model.patch"),
        ("model.heads=5", "not divisible"),
        ("segment.segmenter=sam2", "segment.segmenter"),
        ("train.nonsense=1", "train.nonsense"),
        ("pretrain.visible_ratio=0", "pretrain.visible_ratio"),
    ],
)
def test_bad_values_name_the_key(override: str, message: str):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_reid_config(overrides=[override])


def test_malformed_override_and_missing_gpu():
    with pytest.raises(ConfigError, match=r"dotted\.key=value"):
        load_reid_config(overrides=["epochs"])
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            load_reid_config(overrides=["device=cuda"]).torch_device()
