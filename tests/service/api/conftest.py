"""API test helpers: settings with two named keys, hand-built tracklets recorded through the Recorder, and a
TestClient over the parametrised ``store`` fixture (tests/service/conftest.py: memory, then Redis)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.recorder import Recorder
from service.settings import ServiceSettings
from service.store import StateStore
from trackers.types import Tracklet

OPS_SECRET = "ops-secret-0123456789abcdef"
VIEWER_SECRET = "viewer-secret-0123456789ab"
API_KEYS = f"ops:{OPS_SECRET},viewer:{VIEWER_SECRET}"
WRITE_HEADERS = {"X-API-Key": OPS_SECRET}
EMBEDDING_DIM = 8


def make_settings(**overrides: Any) -> ServiceSettings:
    """Settings from arguments only (no .env file of whoever runs the tests)."""
    return ServiceSettings(_env_file=None, **overrides)  # type: ignore[call-arg]


def unit(vector: list[float] | np.ndarray) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    return v / np.linalg.norm(v)


def axis_embedding(index: int, dim: int = EMBEDDING_DIM) -> np.ndarray:
    """A unit vector along axis ``index``: tracklets of different axes have cosine 0."""
    v = np.zeros(dim, dtype=np.float32)
    v[index % dim] = 1.0
    return v


def make_tracklet(
    camera_id: str,
    local_track_id: int,
    t0: float,
    n: int = 4,
    embedding: np.ndarray | None = None,
    fps: float = 10.0,
    world: bool = True,
) -> Tracklet:
    """A tracklet of ``n`` observations from ``t0`` (s) at ``fps``: boxes moving right, world points (m)."""
    frames = np.arange(1, n + 1) + round(t0 * fps)
    timestamps = t0 + np.arange(n) / fps
    xyxy = np.array([[10 + 5 * i, 20, 50 + 5 * i, 60] for i in range(n)], dtype=np.float32)
    world_xy = np.array([[1.0 + i, 2.0] for i in range(n)]) if world else np.full((n, 2), np.nan)
    return Tracklet(
        camera_id=camera_id,
        local_track_id=local_track_id,
        embedding=axis_embedding(local_track_id) if embedding is None else embedding,
        n_obs=n,
        frames=frames,
        timestamps=timestamps,
        xyxy=xyxy,
        world_xy=world_xy,
    )


def record_scene(store: StateStore) -> dict[str, int]:
    """Three identities: "both" (cam01 at 0 s, then cam02 at 5 s), "early" (cam01 at 2 s), "late" (cam02 at
    8 s, no calibration). Returns their ids by name."""
    recorder = Recorder(store)
    both = store.allocate_identity_id()
    recorder.record(make_tracklet("cam01", 1, 0.0), both)
    early = store.allocate_identity_id()
    recorder.record(make_tracklet("cam01", 2, 2.0), early)
    recorder.record(make_tracklet("cam02", 1, 5.0), both)
    late = store.allocate_identity_id()
    recorder.record(make_tracklet("cam02", 2, 8.0, world=False), late)
    return {"both": both, "early": early, "late": late}


@pytest.fixture
def settings() -> ServiceSettings:
    return make_settings(api_keys=API_KEYS)


@pytest.fixture
def settings_factory() -> Callable[..., ServiceSettings]:
    """``make(**fields)``: settings from these fields only (``api_keys`` defaults to the two test keys)."""
    return lambda **fields: make_settings(**{"api_keys": API_KEYS, **fields})


@pytest.fixture
def write_headers() -> dict[str, str]:
    """Headers carrying the "ops" key."""
    return dict(WRITE_HEADERS)


@pytest.fixture
def secrets() -> dict[str, str]:
    """The configured keys' secrets by name."""
    return {"ops": OPS_SECRET, "viewer": VIEWER_SECRET}


@pytest.fixture
def tracklet_factory() -> Callable[..., Tracklet]:
    return make_tracklet


@pytest.fixture
def scene_factory() -> Callable[[StateStore], dict[str, int]]:
    """``record_scene``, for tests that bring their own store."""
    return record_scene


@pytest.fixture
def scene(store: StateStore) -> dict[str, int]:
    """``record_scene`` on the test's store: identity ids by name."""
    return record_scene(store)


@pytest.fixture
def client(store: StateStore, settings: ServiceSettings) -> Iterator[TestClient]:
    """A client of an app over the (memory, then Redis) store, with two API keys configured."""
    with TestClient(create_app(settings, store)) as test_client:
        yield test_client
