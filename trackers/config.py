"""Component configs of the per-frame pipeline: the typed-YAML base pointed at ``trackers/configs/``."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from export.config import ComponentConfig as _BaseConfig
from export.config import ConfigError, read_yaml_mapping

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


class ComponentConfig(_BaseConfig):
    """Base of the pipeline's component configs; their shipped YAML lies in ``trackers/configs/``."""

    config_dir: ClassVar[Path] = CONFIG_DIR


__all__ = ["CONFIG_DIR", "ComponentConfig", "ConfigError", "read_yaml_mapping"]
