"""Operator corrections: merge and split change what every query answers, and leave an audit entry naming
the key that made them and an event."""

from __future__ import annotations

from fastapi.testclient import TestClient

from service.store import StateStore


def test_merge_is_reflected_everywhere_and_audited(
    client: TestClient, store: StateStore, scene: dict[str, int], write_headers: dict[str, str]
) -> None:
    keep, absorb = scene["both"], scene["early"]
    before = store.events_after(None)
    response = client.post(
        "/api/v1/identities/merge", json={"keep": keep, "absorb": absorb}, headers=write_headers
    )
    assert response.status_code == 200, response.text
    kept = response.json()
    assert kept["global_id"] == keep
    assert [t["tracklet_id"] for t in kept["tracklets"]] == ["cam01:1", "cam01:2", "cam02:1"]
    assert {t["global_id"] for t in kept["tracklets"]} == {keep}

    listed = client.get("/api/v1/identities").json()
    assert [i["global_id"] for i in listed["items"]] == [keep, scene["late"]]
    trajectory = client.get(f"/api/v1/identities/{keep}/trajectory").json()
    assert trajectory["total"] == 12
    assert {p["tracklet_id"] for p in trajectory["items"]} == {"cam01:1", "cam01:2", "cam02:1"}
    # The absorbed id still answers, with the identity that took it in.
    assert client.get(f"/api/v1/identities/{absorb}").json()["global_id"] == keep
    assert client.get(f"/api/v1/identities/{absorb}/trajectory").json()["global_id"] == keep
    assert client.get("/api/v1/tracklets/cam01:2").json()["global_id"] == keep

    audit = client.get("/api/v1/audit").json()
    assert audit["total"] == 1
    entry = audit["items"][0]
    assert (entry["actor"], entry["action"], entry["details"]) == (
        "ops",
        "identity.merge",
        {"keep": keep, "absorb": absorb},
    )
    new_events = store.events_after(before[-1].event_id)
    assert [(e.type, e.global_id, e.data) for e in new_events] == [
        ("identity.merged", keep, {"absorbed": absorb})
    ]


def test_merge_errors(client: TestClient, scene: dict[str, int], write_headers: dict[str, str]) -> None:
    def merge(body: object) -> tuple[int, str]:
        response = client.post("/api/v1/identities/merge", json=body, headers=write_headers)
        return response.status_code, response.json()["detail"]

    status, detail = merge({"keep": scene["both"], "absorb": scene["both"]})
    assert status == 409 and "already one" in detail
    status, detail = merge({"keep": scene["both"], "absorb": 999})
    assert status == 404 and "999" in detail
    assert merge({"keep": scene["both"]})[0] == 422
    assert merge({"keep": 0, "absorb": 1})[0] == 422
    assert merge({"keep": 1, "absorb": 2, "why": "typo"})[0] == 422
    assert client.get("/api/v1/audit").json()["total"] == 0  # nothing failed left a trace


def test_split_is_reflected_everywhere_and_audited(
    client: TestClient, store: StateStore, scene: dict[str, int], write_headers: dict[str, str]
) -> None:
    old = scene["both"]
    response = client.post("/api/v1/tracklets/cam02:1/split", headers=write_headers)
    assert response.status_code == 200, response.text
    new = response.json()
    assert new["global_id"] not in scene.values()
    assert [t["tracklet_id"] for t in new["tracklets"]] == ["cam02:1"]
    assert new["cameras"] == ["cam02"]

    assert client.get(f"/api/v1/identities/{old}").json()["tracklet_ids"] == ["cam01:1"]
    assert client.get("/api/v1/tracklets/cam02:1").json()["global_id"] == new["global_id"]
    assert client.get(f"/api/v1/identities/{new['global_id']}/trajectory").json()["total"] == 4
    assert client.get("/api/v1/identities").json()["total"] == 4

    entry = client.get("/api/v1/audit").json()["items"][-1]
    assert (entry["actor"], entry["action"], entry["details"]) == (
        "ops",
        "tracklet.split",
        {"tracklet_id": "cam02:1", "from_identity": old, "to_identity": new["global_id"]},
    )
    event = store.events_after(None, limit=1000)[-1]
    assert (event.type, event.global_id, event.camera_id) == ("tracklet.split", new["global_id"], "cam02")


def test_split_errors(client: TestClient, scene: dict[str, int], write_headers: dict[str, str]) -> None:
    only = client.post("/api/v1/tracklets/cam01:2/split", headers=write_headers)
    assert only.status_code == 409
    assert "only tracklet" in only.json()["detail"]
    assert client.post("/api/v1/tracklets/cam09:1/split", headers=write_headers).status_code == 404
    assert client.post("/api/v1/tracklets/not-an-id/split", headers=write_headers).status_code == 422


def test_audit_paging(client: TestClient, scene: dict[str, int], write_headers: dict[str, str]) -> None:
    client.post("/api/v1/tracklets/cam02:1/split", headers=write_headers)
    client.post(
        "/api/v1/identities/merge",
        json={"keep": scene["both"], "absorb": scene["early"]},
        headers=write_headers,
    )
    page = client.get("/api/v1/audit", params={"offset": 1, "limit": 1}).json()
    assert (page["total"], page["offset"], page["limit"]) == (2, 1, 1)
    assert [e["action"] for e in page["items"]] == ["identity.merge"]
    assert client.get("/api/v1/audit", params={"limit": 0}).status_code == 422
