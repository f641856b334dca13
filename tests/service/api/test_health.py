"""Probes, Prometheus metrics, the page route, CORS, error answers, and the REST layer staying torch-free."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.api.app import create_app
from service.api.routes import page
from service.settings import ServiceSettings
from service.store import CameraRecord, CameraStatus, MemoryStore, StateStore, StoreUnavailableError

REPO = Path(__file__).resolve().parents[3]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of a Prometheus text exposition."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_probes(client: TestClient, store: StateStore) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "store": type(store).__name__.removesuffix("Store").lower()}


class UnreachableStore(MemoryStore):
    """A store whose server is down: every call the probes and metrics make fails as RedisStore's would."""

    def ping(self) -> None:
        raise StoreUnavailableError("Redis at redis://cache:6379/0 is unreachable: connection refused")

    def list_cameras(self) -> list[CameraRecord]:
        self.ping()
        return []


def test_unreachable_store_is_503_with_the_reason(settings: ServiceSettings) -> None:
    client = TestClient(create_app(settings, UnreachableStore()))
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"detail": "Redis at redis://cache:6379/0 is unreachable: connection refused"}
    cameras = client.get("/api/v1/cameras")
    assert cameras.status_code == 503
    assert "unreachable" in cameras.json()["detail"]
    assert samples(client.get("/metrics").text)[("crosscam_store_up", ())] == 0


def test_metrics(client: TestClient, store: StateStore, scene: dict[str, int]) -> None:
    store.put_camera(CameraRecord(camera_id="cam01", url="/videos/a.mp4", added_wall=1.0))
    store.put_camera_status(
        CameraStatus(
            camera_id="cam01",
            state="streaming",
            url="/videos/a.mp4",
            received_fps=9.5,
            frames_dropped=3,
            queue_depth=2,
            reconnects=1,
            stage_ms={"detect": 21.5, "embed": 4.0},
            updated_wall=2.0,
        )
    )
    client.get(f"/api/v1/identities/{scene['both']}")
    client.get("/api/v1/identities/999")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    values = samples(response.text)
    camera = (("camera", "cam01"),)
    assert values[("crosscam_camera_received_fps", camera)] == 9.5
    assert values[("crosscam_camera_frames_dropped_total", camera)] == 3
    assert values[("crosscam_camera_queue_depth", camera)] == 2
    assert values[("crosscam_camera_reconnects_total", camera)] == 1
    assert values[("crosscam_stage_latency_ms", (("camera", "cam01"), ("stage", "detect")))] == 21.5
    assert values[("crosscam_gallery_size", ())] == 3
    assert values[("crosscam_tracklets", ())] == 4
    assert values[("crosscam_store_up", ())] == 1
    # Latency by route template: the two identity requests share one label set per status.
    route = "/api/v1/identities/{global_id}"
    for status in ("200", "404"):
        labels = (("method", "GET"), ("route", route), ("status", status))
        assert values[("crosscam_http_request_duration_seconds_count", labels)] == 1


def test_every_app_has_its_own_registry(settings: ServiceSettings) -> None:
    first, second = (
        TestClient(create_app(settings, MemoryStore())),
        TestClient(create_app(settings, MemoryStore())),
    )
    for _ in range(3):
        first.get("/healthz")
    count = (
        "crosscam_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "/healthz"), ("status", "200")),
    )
    assert samples(first.get("/metrics").text)[count] == 3
    assert count not in samples(second.get("/metrics").text)


def test_page_route(client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    index = tmp_path / "index.html"
    index.write_text("<!doctype html><title>crosscam</title>")
    monkeypatch.setattr(page, "INDEX_HTML", index)
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>crosscam</title>" in response.text

    monkeypatch.setattr(page, "INDEX_HTML", tmp_path / "missing.html")
    missing = client.get("/")
    assert missing.status_code == 404
    assert "operator page is not installed" in missing.json()["detail"]


def test_cors_only_when_origins_are_configured(
    store: StateStore, settings_factory: Callable[..., ServiceSettings]
) -> None:
    preflight = {"Origin": "https://ops.example", "Access-Control-Request-Method": "POST"}
    closed = TestClient(create_app(settings_factory(), store))
    assert "access-control-allow-origin" not in closed.options("/api/v1/cameras", headers=preflight).headers
    opened = TestClient(create_app(settings_factory(cors_origins=["https://ops.example"]), store))
    answer = opened.options("/api/v1/cameras", headers=preflight)
    assert answer.headers["access-control-allow-origin"] == "https://ops.example"
    other = opened.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


class BrokenStore(MemoryStore):
    def list_cameras(self) -> list[CameraRecord]:
        raise KeyError("a bug")


def test_an_unexpected_error_is_a_500_without_traceback(settings: ServiceSettings) -> None:
    client = TestClient(create_app(settings, BrokenStore()), raise_server_exceptions=False)
    response = client.get("/api/v1/cameras")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error; the service log has the details"}
    assert client.get("/healthz").status_code == 200  # and it keeps serving


def test_openapi_is_documented(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "crosscam"
    assert schema["info"]["version"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert operation.get("summary"), (method, path)
            assert (
                "200" in operation["responses"]
                or "201" in operation["responses"]
                or "204" in operation["responses"]
            )
    merge = schema["paths"]["/api/v1/identities/merge"]["post"]["responses"]
    assert {"200", "401", "404", "409", "422"} <= set(merge)


def test_the_rest_layer_does_not_import_torch() -> None:
    code = "import sys, service.api.app; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
