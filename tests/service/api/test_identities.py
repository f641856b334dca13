"""Identities, tracklets and trajectories as the API answers them, over a scene recorded by the Recorder."""

from __future__ import annotations

from fastapi.testclient import TestClient


def ids(page: dict) -> list[int]:
    return [item["global_id"] for item in page["items"]]


def test_list_identities_with_filters_and_paging(client: TestClient, scene: dict[str, int]) -> None:
    both, early, late = scene["both"], scene["early"], scene["late"]
    everything = client.get("/api/v1/identities").json()
    assert ids(everything) == [both, early, late]  # by first sighting
    assert (everything["total"], everything["offset"], everything["limit"]) == (3, 0, 100)
    first = everything["items"][0]
    assert first == {
        "global_id": both,
        "cameras": ["cam01", "cam02"],
        "first_seen": 0.0,
        "last_seen": 5.3,
        "tracklet_ids": ["cam01:1", "cam02:1"],
        "n_points": 8,
    }

    def query(**params: object) -> list[int]:
        response = client.get("/api/v1/identities", params=params)
        assert response.status_code == 200, response.text
        return ids(response.json())

    assert query(camera="cam02") == [both, late]
    assert query(min_cameras=2) == [both]
    assert query(t_from=2.1, t_to=4.0) == [both, early]  # both's span (0-5.3 s) overlaps too
    assert query(t_from=6.0) == [late]
    assert query(t_to=1.0) == [both]
    assert query(seen_in="cam01", later_in="cam02") == [both]
    assert query(seen_in="cam02", later_in="cam01") == []
    assert query(camera="nowhere") == []
    page = client.get("/api/v1/identities", params={"offset": 1, "limit": 1}).json()
    assert (ids(page), page["total"], page["offset"], page["limit"]) == ([early], 3, 1, 1)


def test_bad_paging_and_filters_are_422(client: TestClient) -> None:
    for params in (
        {"limit": 0},
        {"limit": 1001},
        {"offset": -1},
        {"min_cameras": 0},
        {"t_from": "soon"},
        {"t_from": "nan"},
        {"t_to": "inf"},
    ):
        response = client.get("/api/v1/identities", params=params)
        assert response.status_code == 422, params
        name = next(iter(params))
        assert response.json()["detail"].startswith(f"query parameter {name}: ")
    assert client.get("/api/v1/identities/1/trajectory", params={"limit": 1001}).status_code == 422


def test_get_identity_with_tracklets_and_no_embeddings(client: TestClient, scene: dict[str, int]) -> None:
    response = client.get(f"/api/v1/identities/{scene['both']}")
    assert response.status_code == 200
    body = response.json()
    assert body["cameras"] == ["cam01", "cam02"]
    assert [t["tracklet_id"] for t in body["tracklets"]] == ["cam01:1", "cam02:1"]
    assert body["tracklets"][1] == {
        "tracklet_id": "cam02:1",
        "camera_id": "cam02",
        "local_track_id": 1,
        "global_id": scene["both"],
        "t_start": 5.0,
        "t_end": 5.3,
        "n_obs": 4,
        "final": True,
    }
    assert "embedding" not in response.text


def test_trajectory_is_time_ordered_across_cameras_and_paged(
    client: TestClient, scene: dict[str, int]
) -> None:
    both = scene["both"]
    body = client.get(f"/api/v1/identities/{both}/trajectory").json()
    assert (body["global_id"], body["total"], body["offset"], body["limit"]) == (both, 8, 0, 500)
    assert [p["camera_id"] for p in body["items"]] == ["cam01"] * 4 + ["cam02"] * 4
    times = [p["t"] for p in body["items"]]
    assert times == sorted(times)
    assert body["items"][0] == {
        "tracklet_id": "cam01:1",
        "camera_id": "cam01",
        "frame": 1,
        "t": 0.0,
        "xyxy": [10.0, 20.0, 50.0, 60.0],
        "world": [1.0, 2.0],
    }
    page = client.get(f"/api/v1/identities/{both}/trajectory", params={"offset": 3, "limit": 2}).json()
    assert [(p["camera_id"], p["frame"]) for p in page["items"]] == [("cam01", 4), ("cam02", 51)]
    uncalibrated = client.get(f"/api/v1/identities/{scene['late']}/trajectory").json()
    assert {p["world"] is None for p in uncalibrated["items"]} == {True}


def test_tracklet_by_id(client: TestClient, scene: dict[str, int]) -> None:
    body = client.get("/api/v1/tracklets/cam01:2").json()
    assert (body["global_id"], body["camera_id"], body["local_track_id"]) == (scene["early"], "cam01", 2)


def test_unknown_ids_are_404_and_malformed_ones_422(client: TestClient, scene: dict[str, int]) -> None:
    for path in ("/api/v1/identities/999", "/api/v1/identities/999/trajectory", "/api/v1/tracklets/cam01:99"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "not recorded" in response.json()["detail"]
    for path in ("/api/v1/identities/0", "/api/v1/tracklets/cam01"):
        assert client.get(path).status_code == 422, path
