"""The configuration reference (``docs/configuration.md``), generated from ``ServiceSettings``' fields.

    .venv/bin/python -m service.settings_reference > docs/configuration.md

Each field's ``description`` is its documentation, so the reference cannot drift from the code:
``tests/service/test_settings_reference.py`` fails when the committed file differs from this output.
"""

from __future__ import annotations

import sys
import types
import typing
from pathlib import Path
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import AliasChoices, AliasPath, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from service.settings import ServiceSettings

COMMAND = "python -m service.settings_reference > docs/configuration.md"
# How the reader of the table writes a value of each annotation (what pydantic-settings parses).
TYPE_WORDS: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean (true/false)",
    Path: "path",
    SecretStr: "secret string",
}


def env_names(name: str, field: FieldInfo, settings: type[ServiceSettings] = ServiceSettings) -> list[str]:
    """The environment variables that set ``name``, as pydantic-settings reads them: a validation alias
    replaces the prefixed name (so ``redis_url`` is REDIS_URL or CROSSCAM_REDIS_URL), else prefix + NAME."""
    alias = field.validation_alias
    if isinstance(alias, str):
        return [alias.upper()]
    if isinstance(alias, AliasChoices):
        return [c.upper() for c in alias.choices if isinstance(c, str)]
    if isinstance(alias, AliasPath):  # a nested path is not one variable; the table would mislead
        raise ValueError(f"{settings.__name__}.{name}: AliasPath aliases have no single environment variable")
    return [f"{settings.model_config.get('env_prefix', '')}{name}".upper()]


def settings_env_names(settings: type[ServiceSettings] = ServiceSettings) -> set[str]:
    """Every environment variable ``settings`` reads (what compose files and manifests may set)."""
    return {env for name, field in settings.model_fields.items() for env in env_names(name, field, settings)}


def is_secret(field: FieldInfo) -> bool:
    return SecretStr in _members(field.annotation)


def type_text(field: FieldInfo) -> str:
    """``int`` with ge=1, le=65535 -> ``integer, 1 ≤ x ≤ 65535``; ``Path | None`` -> ``path``."""
    words = [_type_word(t) for t in _members(field.annotation) if t is not type(None)]
    limits = []
    for meta in field.metadata:
        if isinstance(meta, Ge):
            limits.append(f"≥ {meta.ge}")
        elif isinstance(meta, Gt):
            limits.append(f"> {meta.gt}")
        elif isinstance(meta, Le):
            limits.append(f"≤ {meta.le}")
        elif isinstance(meta, Lt):
            limits.append(f"< {meta.lt}")
        elif getattr(meta, "pattern", None):
            limits.append(f"matching `{meta.pattern}`")
    return ", ".join([" or ".join(words), *limits])


def default_text(field: FieldInfo) -> str:
    """What the field is when no variable sets it; a secret's value is never written out."""
    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if value is None:
        return "unset"
    if is_secret(field):
        return "set (hidden)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return "`[]`" if not value else f"`{value!r}`"
    return f"`{value}`"


def settings_reference_markdown(settings: type[ServiceSettings] = ServiceSettings) -> str:
    """The whole Markdown document: header, how values are read, one table row per field."""
    config = settings.model_config
    rows = []
    for name, field in settings.model_fields.items():
        variables = "<br>".join(f"`{v}`" for v in env_names(name, field, settings))
        description = (field.description or "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| {variables} | {_cell(type_text(field))} | {default_text(field)} | {description} |")
    env_file = config.get("env_file")
    return "\n".join(
        [
            "# Configuration reference",
            "",
            f"_Generated from `service/settings.py` ({settings.__name__}) by `{COMMAND}`; do not edit by "
            "hand (a test fails when this file is out of date)._",
            "",
            "`crosscam serve`, `crosscam worker` and `crosscam associator` read these environment variables "
            "once at start"
            + (
                f" (or a `{env_file}` file in the working directory; the environment wins)"
                if env_file
                else ""
            )
            + "; names are case-insensitive. A bad value stops the process with one line naming the variable. "
            "Booleans are `true`/`false` (or `1`/`0`); lists are JSON.",
            "",
            "| Variable | Type | Default | Description |",
            "| --- | --- | --- | --- |",
            *rows,
            "",
        ]
    )


def _members(annotation: Any) -> tuple[Any, ...]:
    """The alternatives of a union annotation (``X | None`` -> (X, NoneType)); (annotation,) otherwise."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return typing.get_args(annotation)
    return (annotation,)


def _type_word(annotation: Any) -> str:
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation) or (str,)
        return f"JSON list of {_type_word(item)}s"
    return TYPE_WORDS.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def main() -> None:
    sys.stdout.write(settings_reference_markdown())


if __name__ == "__main__":
    main()
