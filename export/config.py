"""Typed configuration of components, each loaded from one commented YAML file.

A component's shipped YAML (``trackers/configs/``, ``models/reid/configs/``, ...) is the single source of its
default values (the model's fields have no defaults of their own), so the file a user reads is the file that
runs. Every problem with a file becomes one ``ConfigError`` line that names the file and the key.

It lives in ``export/``, the lowest layer, because both ``models`` and ``trackers`` build on it
(DESIGN.md: ``models -> export``, ``trackers -> export``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Self

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError


class ConfigError(ValueError):
    """A component configuration that cannot be used; the message names the file, the key and the fix."""


class ComponentConfig(BaseModel):
    """Base of component configs: unknown keys are errors, values are validated, instances are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Folder and file name of the shipped default; set by each subclass (or a per-package base).
    config_dir: ClassVar[Path]
    default_file: ClassVar[str]

    @classmethod
    def default_path(cls) -> Path:
        return cls.config_dir / cls.default_file

    @classmethod
    def from_yaml(cls, path: str | Path | None = None, **overrides: Any) -> Self:
        """Load ``path`` (default: the shipped file), apply keyword ``overrides``, validate.

        Raises ConfigError naming the file and the first bad key(s).
        """
        source = Path(path) if path is not None else cls.default_path()
        data = read_yaml_mapping(source)
        data.update(overrides)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"{source}: {_describe(cls, exc)}") from None


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """The top-level mapping of a YAML file (an empty file is an empty mapping)."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file; pass the path of an existing YAML file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of key: value lines, got {type(data).__name__}")
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override``'s keys applied, nested mappings merged key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``['train.epochs=3', 'device=cuda']`` -> ``{'train': {'epochs': 3}, 'device': 'cuda'}``.

    Values are read as YAML, so ``3`` is an int, ``[128, 128]`` a list and ``null`` None.
    """
    nested: dict[str, Any] = {}
    for text in items:
        key, sep, raw = text.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {text!r} must look like dotted.key=value, e.g. train.epochs=3")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {text!r}: value is not valid YAML ({exc})") from None
        *parents, last = key.strip().split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return nested


def load_layered(
    cls: type[ComponentConfig],
    path: str | Path | None = None,
    layers: tuple[Path, ...] = (),
    overrides: list[str] | None = None,
) -> Any:
    """``cls`` from the YAML at ``path`` (default: the shipped file), with each of ``layers`` (YAML files,
    e.g. a smoke-size file) merged on top in order, then ``overrides`` (``dotted.key=value``). Raises
    ConfigError naming the file and the bad key(s)."""
    source = Path(path) if path is not None else cls.default_path()
    data: dict[str, Any] = read_yaml_mapping(source)
    for layer in layers:
        data = deep_merge(data, read_yaml_mapping(layer))
    data = deep_merge(data, parse_overrides(overrides or []))
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(cls, exc)}") from None


def _describe(cls: type[BaseModel], exc: ValidationError) -> str:
    known = ", ".join(cls.model_fields)
    problems = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown key {key!r} (known keys: {known})")
        elif not err["loc"]:  # a rule across keys: the whole input would be no help
            problems.append(err["msg"].removeprefix("Value error, "))
        elif err["type"] == "missing":
            problems.append(f"key {key!r} is missing")
        else:
            problems.append(f"key {key!r}: {err['msg']} (got {err.get('input')!r})")
    return "; ".join(problems)


__all__ = [
    "ComponentConfig",
    "ConfigError",
    "deep_merge",
    "load_layered",
    "parse_overrides",
    "read_yaml_mapping",
]
