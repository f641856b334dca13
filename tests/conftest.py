"""Shared fixtures: one smoke scene generated per test session (seconds), reused read-only by tests."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def smoke_scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from synth.config import load_scene_config
    from synth.scene import generate_scene

    out = tmp_path_factory.mktemp("scene") / "smoke"
    generate_scene(load_scene_config("default", seed=3, smoke=True), out, progress=False)
    return out
