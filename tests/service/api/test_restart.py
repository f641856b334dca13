"""A restart on Redis loses nothing: identities, trajectories and the audit log answer the same from a new
store and app on the same prefix."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from service.api.app import create_app
from service.settings import ServiceSettings
from service.store import StateStore
from service.store.redis import RedisStore


def snapshot(client: TestClient, ids: list[int]) -> dict[str, object]:
    """Everything the API answers about the recording."""
    return {
        "identities": client.get("/api/v1/identities").json(),
        "details": [client.get(f"/api/v1/identities/{gid}").json() for gid in ids],
        "trajectories": [client.get(f"/api/v1/identities/{gid}/trajectory").json() for gid in ids],
        "audit": client.get("/api/v1/audit").json(),
    }


def test_restart_keeps_identities_trajectories_and_audit(
    redis_store_factory: Callable[[str], RedisStore],
    redis_prefix: str,
    settings: ServiceSettings,
    scene_factory: Callable[[StateStore], dict[str, int]],
    write_headers: dict[str, str],
) -> None:
    store = redis_store_factory(redis_prefix)
    scene = scene_factory(store)
    ids = sorted(scene.values())
    with TestClient(create_app(settings, store)) as client:
        merged = client.post(
            "/api/v1/identities/merge",
            json={"keep": scene["both"], "absorb": scene["late"]},
            headers=write_headers,
        )
        assert merged.status_code == 200
        before = snapshot(client, ids)
    store.close()

    restarted = redis_store_factory(redis_prefix)
    with TestClient(create_app(settings, restarted)) as client:
        after = snapshot(client, ids)
    assert after == before
    assert [i["global_id"] for i in after["identities"]["items"]] == [scene["both"], scene["early"]]
    assert after["trajectories"][ids.index(scene["late"])]["global_id"] == scene["both"]  # the alias survives
    assert after["trajectories"][ids.index(scene["both"])]["total"] == 12
    assert [(e["action"], e["actor"]) for e in after["audit"]["items"]] == [("identity.merge", "ops")]
