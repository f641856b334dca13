from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from synth.config import (
    PRESET_DIR,
    ConfigError,
    SceneConfig,
    available_presets,
    load_scene_config,
)


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    found = [model]
    for field in model.model_fields.values():
        for candidate in (field.annotation, *getattr(field.annotation, "__args__", ())):
            inner = getattr(candidate, "__args__", (candidate,))
            for c in (candidate, *inner):
                if isinstance(c, type) and issubclass(c, BaseModel) and c not in found:
                    found += [m for m in _models(c) if m not in found]
    return found


def test_every_config_key_is_documented() -> None:
    for model in _models(SceneConfig):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"


def test_presets_load_and_differ() -> None:
    assert {"default", "hard", "night"} <= set(available_presets())
    default, hard, night = (load_scene_config(p) for p in ("default", "hard", "night"))
    assert len(default.cameras) == 3 and default.duration_s == 60 and default.image_size == (640, 360)
    assert len(hard.cameras) >= 5 and hard.traffic.lookalike_fraction > 0
    assert hard.scenery.trees_per_100m > default.scenery.trees_per_100m
    assert night.night and not default.night
    assert night.lighting.ambient < default.lighting.ambient


def test_default_yaml_comments_every_line_with_a_value() -> None:
    # The preset doubles as the config reference: a key without a comment must be a mapping header
    # or sit under a commented block.
    data = yaml.safe_load((PRESET_DIR / "default.yaml").read_text())
    assert SceneConfig.model_validate(data | {"preset": "default"})


def test_overrides_and_seed() -> None:
    cfg = load_scene_config(
        "default", overrides=["traffic.spawn_rate_hz=0.2", "cameras.1.hfov_deg=50"], seed=7
    )
    assert cfg.traffic.spawn_rate_hz == 0.2
    assert cfg.cameras[1].hfov_deg == 50
    assert cfg.seed == 7


def test_yaml_file_inherits_a_base(tmp_path: Path) -> None:
    f = tmp_path / "mine.yaml"
    f.write_text("base: night\nduration_s: 12\n")
    cfg = load_scene_config("default", config_file=f)
    assert cfg.night and cfg.duration_s == 12


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"preset": "nope"}, "unknown preset 'nope'"),
        ({"overrides": ["traffic.spawn_rate_hz=-1"]}, "traffic.spawn_rate_hz"),
        ({"overrides": ["traffic.spawn_rat=1"]}, "spawn_rat"),
        ({"overrides": ["noequals"]}, "dotted.key=value"),
        ({"overrides": ["cameras.9.hfov_deg=50"]}, "not an index below 3"),
        ({"overrides": ["traffic.type_mix={plane: 1}"]}, "type_mix"),
        ({"overrides": ["cameras.0.name=camera1"]}, "cameras.0.name"),
        ({"config_file": Path("/nonexistent/x.yaml")}, "does not exist"),
    ],
)
def test_bad_config_gives_one_clear_error(kwargs: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_scene_config(**kwargs)
    assert needle in str(err.value)


def test_malformed_yaml_file(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("duration_s: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_scene_config(config_file=f)


def test_camera_lighting_takes_the_cameras_own_response() -> None:
    cfg = load_scene_config("default")
    cam = cfg.cameras[1]
    light = cfg.camera_lighting(cam)
    assert light.exposure == cam.exposure and light.white_balance == cam.white_balance
    assert light.sun_azimuth_deg == cfg.lighting.sun_azimuth_deg
