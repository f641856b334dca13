"""API keys: writes need one, reads only with require_key_for_reads, and a secret never reaches a log line or
a response."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from service.api.app import create_app
from service.api.security import matching_key_name
from service.settings import ApiKey, ServiceSettings
from service.store import StateStore

UNAUTHORIZED = "missing or invalid API key: send it in the X-API-Key header"
MERGE = {"keep": 1, "absorb": 2}


def assert_unauthorized(response: Response) -> None:
    assert response.status_code == 401
    assert response.json() == {"detail": UNAUTHORIZED}
    assert response.headers["www-authenticate"] == "APIKey"


def test_writes_need_a_valid_key(client: TestClient, scene: dict[str, int], secrets: dict[str, str]) -> None:
    camera = {"camera_id": "cam09", "url": "/videos/a.mp4"}
    for headers in ({}, {"X-API-Key": "wrong-key-0123456789abcdef"}, {"X-API-Key": ""}):
        assert_unauthorized(client.post("/api/v1/cameras", json=camera, headers=headers))
        assert_unauthorized(client.delete("/api/v1/cameras/cam09", headers=headers))
        assert_unauthorized(client.post("/api/v1/identities/merge", json=MERGE, headers=headers))
        assert_unauthorized(client.post("/api/v1/tracklets/cam02:1/split", headers=headers))
        # Even a body that would not validate is refused for the key first: nothing is said about it.
        assert_unauthorized(client.post("/api/v1/cameras", json={"bad": 1}, headers=headers))
    assert client.get("/api/v1/audit").json()["total"] == 0
    # Either key may write; the audit log names the one used.
    assert (
        client.post("/api/v1/cameras", json=camera, headers={"X-API-Key": secrets["viewer"]}).status_code
        == 201
    )
    assert client.get("/api/v1/audit").json()["items"][0]["actor"] == "viewer"


def test_reads_are_open_by_default(client: TestClient, scene: dict[str, int]) -> None:
    for path in (
        "/api/v1/cameras",
        "/api/v1/identities",
        f"/api/v1/identities/{scene['both']}",
        "/api/v1/audit",
    ):
        assert client.get(path).status_code == 200, path
    # A wrong key on an open read does no harm either.
    assert client.get("/api/v1/identities", headers={"X-API-Key": "nonsense"}).status_code == 200


def test_require_key_for_reads(
    store: StateStore, settings_factory: Callable[..., ServiceSettings], secrets: dict[str, str]
) -> None:
    client = TestClient(create_app(settings_factory(require_key_for_reads=True), store))
    for path in (
        "/api/v1/cameras",
        "/api/v1/identities",
        "/api/v1/audit",
        "/metrics",
        "/api/v1/identities/1",
    ):
        assert_unauthorized(client.get(path))
        assert client.get(path, headers={"X-API-Key": secrets["viewer"]}).status_code in (200, 404), path
    # Probes stay open: an orchestrator has no key.
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_no_keys_configured_means_open_and_anonymous(store: StateStore) -> None:
    client = TestClient(create_app(ServiceSettings(_env_file=None), store))  # type: ignore[call-arg]
    response = client.post("/api/v1/cameras", json={"camera_id": "cam01", "url": "/videos/a.mp4"})
    assert response.status_code == 201
    assert client.get("/api/v1/audit").json()["items"][0]["actor"] == "anonymous"
    schema = client.get("/openapi.json").json()
    assert "security" not in schema["paths"]["/api/v1/cameras"]["post"]


def test_openapi_declares_keys_only_where_enforced(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert paths["/api/v1/cameras"]["post"]["security"] == [{"APIKey": []}]
    assert "401" in paths["/api/v1/cameras"]["post"]["responses"]
    assert "security" not in paths["/api/v1/cameras"]["get"]
    assert "401" not in paths["/api/v1/cameras"]["get"]["responses"]
    assert list(schema["components"]["securitySchemes"]) == ["APIKey"]


def test_every_key_is_compared() -> None:
    calls: list[str] = []

    class CountingKey(ApiKey):
        __slots__ = ()

        def matches(self, candidate: str) -> bool:
            calls.append(self.name)
            return super().matches(candidate)

    keys = [CountingKey("a", "a" * 16), CountingKey("b", "b" * 16), CountingKey("c", "c" * 16)]
    assert matching_key_name(keys, "a" * 16) == "a"
    assert calls == ["a", "b", "c"]  # no early exit on the first match
    assert matching_key_name(keys, "z" * 16) is None
    assert matching_key_name(keys, None) is None


def test_secrets_never_reach_the_logs(
    client: TestClient, caplog: pytest.LogCaptureFixture, secrets: dict[str, str], scene: dict[str, int]
) -> None:
    wrong = "almost-" + secrets["ops"]
    with caplog.at_level(logging.DEBUG):
        for headers in ({"X-API-Key": wrong}, {"X-API-Key": secrets["ops"]}):
            client.post(
                "/api/v1/identities/merge", json={"keep": scene["both"], "absorb": 999}, headers=headers
            )
            response = client.post(
                "/api/v1/cameras", json={"camera_id": "cam05", "url": "/videos/a.mp4"}, headers=headers
            )
            assert secrets["ops"] not in response.text
    assert caplog.records, "the requests should have logged something (httpx, at least)"
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert secrets["ops"] not in logged
    assert wrong not in logged
