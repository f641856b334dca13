"""docs/configuration.md is current, documents every setting, and names variables that really configure it."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from service.settings import ServiceSettings
from service.settings_reference import COMMAND, settings_reference_markdown

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
# A variable cell of the table: `NAME` entries joined by <br>.
VARIABLE = re.compile(r"`([A-Z][A-Z0-9_]*)`")


def table_variables(text: str) -> dict[str, list[str]]:
    """First-column variables of each table row -> that row's variables (the first row is the header)."""
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    return {VARIABLE.findall(row.split(" | ")[0])[0]: VARIABLE.findall(row.split(" | ")[0]) for row in rows}


def fresh(**overrides) -> ServiceSettings:
    # _env_file=None: a developer's .env in the working directory must not leak into the test.
    return ServiceSettings(_env_file=None, **overrides)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No CROSSCAM_* or REDIS_URL from the caller's shell: each test sets exactly what it checks."""

    for name in list(os.environ):
        if name.upper().startswith("CROSSCAM_") or name.upper() == "REDIS_URL":
            monkeypatch.delenv(name)
    return monkeypatch


def test_committed_reference_is_current() -> None:
    assert REFERENCE.is_file(), f"{REFERENCE} is missing; generate it with `{COMMAND}`"
    assert REFERENCE.read_text() == settings_reference_markdown(), (
        f"{REFERENCE} is out of date with service/settings.py; regenerate it with `{COMMAND}`"
    )


def test_every_field_is_documented() -> None:
    undocumented = [n for n, f in ServiceSettings.model_fields.items() if not (f.description or "").strip()]
    assert not undocumented, (
        f"ServiceSettings fields without a description (their documentation): {undocumented}"
    )
    assert len(table_variables(settings_reference_markdown())) == len(ServiceSettings.model_fields)


def test_secrets_are_never_shown() -> None:
    text = settings_reference_markdown()
    row = next(line for line in text.splitlines() if line.startswith("| `CROSSCAM_API_KEYS` "))
    assert row.split(" | ")[2] == "unset"


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        ("CROSSCAM_PORT", "9191", "port", 9191),
        ("CROSSCAM_REQUIRE_KEY_FOR_READS", "true", "require_key_for_reads", True),
        ("CROSSCAM_CORS_ORIGINS", '["https://ops.example"]', "cors_origins", ["https://ops.example"]),
        ("REDIS_URL", "redis://10.0.0.7:6379/2", "redis_url", "redis://10.0.0.7:6379/2"),
        ("CROSSCAM_REDIS_URL", "redis://10.0.0.8:6379/3", "redis_url", "redis://10.0.0.8:6379/3"),
    ],
)
def test_documented_variable_configures_its_field(
    clean_env: pytest.MonkeyPatch, variable: str, value: str, field: str, expected: object
) -> None:
    documented = table_variables(REFERENCE.read_text())
    assert any(variable in names for names in documented.values()), f"{variable} is not in {REFERENCE}"
    before = getattr(fresh(), field)
    clean_env.setenv(variable, value)
    after = getattr(fresh(), field)
    if hasattr(after, "get_secret_value"):
        after = after.get_secret_value()
    assert after == expected
    assert after != before
