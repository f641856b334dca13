"""Cameras: add, list, get, remove, status, live view; credentials never leave redacted; a control starts and
stops cameras and a source it cannot start is refused."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from httpx import Response

from service.api.app import create_app
from service.settings import ServiceSettings
from service.store import CameraRecord, CameraStatus, LiveBox, LiveView, StateStore

SECRET_URL = "rtsp://viewer:hunter2-pass@10.0.0.7:554/stream1"
CALIBRATION = {
    "homography_image_to_world": [[0.05, 0.0, -10.0], [0.0, 0.1, -5.0], [0.0, 0.001, 1.0]],
    "position_m": [0.0, -20.0, 8.0],
    "image_size": [640, 480],
}


Add = Callable[..., Response]


@pytest.fixture
def add(client: TestClient, write_headers: dict[str, str]) -> Add:
    """``add(camera_id="cam01", url=SECRET_URL, **more_body)``: POST /api/v1/cameras with the ops key."""

    def post(camera_id: str = "cam01", url: str = SECRET_URL, **extra: object) -> Response:
        body = {"camera_id": camera_id, "url": url, **extra}
        return client.post("/api/v1/cameras", json=body, headers=write_headers)

    return post


def test_add_list_get_remove_with_credentials_redacted(
    add: Add, client: TestClient, store: StateStore, write_headers: dict[str, str]
) -> None:
    created = add(calibration=CALIBRATION)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["camera_id"] == "cam01"
    assert body["url"] == "rtsp://viewer:***@10.0.0.7:554/stream1"
    assert body["has_calibration"] is True
    assert body["status"] is None
    # The worker needs the real URL: the store keeps it, and the calibration under the file's key.
    stored = store.get_camera("cam01")
    assert stored.url == SECRET_URL
    assert stored.calibration == CALIBRATION

    listed = client.get("/api/v1/cameras")
    got = client.get("/api/v1/cameras/cam01")
    status = client.get("/api/v1/cameras/cam01/status")
    for response in (created, listed, got, status):
        assert "hunter2" not in response.text
    assert [c["camera_id"] for c in listed.json()] == ["cam01"]
    assert got.json()["url"] == body["url"]
    assert status.json()["state"] == "pending"
    assert status.json()["updated_wall"] is None

    audit = client.get("/api/v1/audit").json()["items"]
    assert [(e["action"], e["actor"], e["details"]["url"]) for e in audit] == [
        ("camera.add", "ops", "rtsp://viewer:***@10.0.0.7:554/stream1")
    ]
    assert [e.type for e in store.events_after(None)] == ["camera.added"]

    removed = client.delete("/api/v1/cameras/cam01", headers=write_headers)
    assert removed.status_code == 204
    assert removed.content == b""
    assert client.get("/api/v1/cameras").json() == []
    assert client.get("/api/v1/cameras/cam01").status_code == 404
    assert [e["action"] for e in client.get("/api/v1/audit").json()["items"]] == [
        "camera.add",
        "camera.remove",
    ]
    assert [e.type for e in store.events_after(None)] == ["camera.added", "camera.removed"]


def test_homography_alias_is_stored_under_the_calibration_files_key(add: Add, store: StateStore) -> None:
    matrix = CALIBRATION["homography_image_to_world"]
    assert add(calibration={"H_image_to_ground": matrix}).status_code == 201
    assert store.get_camera("cam01").calibration == {"homography_image_to_world": matrix}


def test_duplicate_camera_is_409(add: Add) -> None:
    assert add().status_code == 201
    again = add(url="/videos/other.mp4")
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]


def test_bad_urls_are_422_with_the_reason_and_no_password(add: Add, client: TestClient) -> None:
    cases = {
        "http://user:topsecret@cam/x": "unsupported URL scheme 'http'",
        "rtsp://user:topsecret@/x": "has no host",
        "rtsp://user:topsecret@cam:70000/x": "invalid port",
        "rtsp://cam/a b": "whitespace",
        "relative:name": "file path without ':'",
    }
    for url, reason in cases.items():
        response = add(url=url)
        assert response.status_code == 422, url
        body = response.json()
        assert reason in body["detail"], body
        assert body["detail"].startswith("body field url: ")
        assert body["errors"][0]["loc"] == ["body", "url"]
        assert "topsecret" not in response.text
    assert client.get("/api/v1/cameras").json() == []


def test_transport_and_processing_rate_are_kept_per_camera(
    add: Add, client: TestClient, store: StateStore
) -> None:
    assert add(transport="udp", process_fps=5).status_code == 201
    assert add("cam02").status_code == 201
    stored = store.get_camera("cam01")
    assert (stored.transport, stored.process_fps) == ("udp", 5.0)
    got = client.get("/api/v1/cameras/cam01").json()
    assert (got["transport"], got["process_fps"]) == ("udp", 5.0)
    default = client.get("/api/v1/cameras/cam02").json()
    assert (default["transport"], default["process_fps"]) == (None, None)  # the service's settings apply
    pending = client.get("/api/v1/cameras/cam01/status").json()
    assert (pending["state"], pending["process_fps"], pending["lag_s"]) == ("pending", 5.0, None)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"transport": "http"}, "transport"),
        ({"process_fps": 0}, "process_fps"),
        ({"process_fps": 500}, "process_fps"),
    ],
)
def test_a_bad_transport_or_rate_is_422_naming_the_field(add: Add, extra: dict, needle: str) -> None:
    response = add(**extra)
    assert response.status_code == 422 and needle in response.text


def test_bad_camera_ids_and_calibrations_are_422(add: Add) -> None:
    assert add(camera_id="bad id").status_code == 422
    assert add(camera_id="").status_code == 422
    singular = {"homography_image_to_world": [[1, 2, 3], [2, 4, 6], [0, 0, 1]]}
    response = add(calibration=singular)
    assert response.status_code == 422
    assert "not invertible" in response.json()["detail"]
    for calibration in (
        {"homography_image_to_world": [[1, 0], [0, 1]]},
        {"homography_image_to_world": [[1, 0, 0], [0, 1, 0], [0, 0, "x"]]},
        {"position_m": [1, 2]},
        [1, 2, 3],
    ):
        response = add(calibration=calibration)
        assert response.status_code == 422, calibration
        assert "calibration" in response.json()["detail"]
    assert add(extra_field=1).status_code == 422


def test_unknown_camera_is_404_everywhere(client: TestClient, write_headers: dict[str, str]) -> None:
    for path in ("/api/v1/cameras/nope", "/api/v1/cameras/nope/status", "/api/v1/cameras/nope/live"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "'nope'" in response.json()["detail"]
    assert client.delete("/api/v1/cameras/nope", headers=write_headers).status_code == 404


def test_status_and_live_view(add: Add, client: TestClient, store: StateStore) -> None:
    assert add().status_code == 201
    assert client.get("/api/v1/cameras/cam01/live").status_code == 404
    assert "no processed frame yet" in client.get("/api/v1/cameras/cam01/live.jpg").json()["detail"]

    store.put_camera_status(
        CameraStatus(
            camera_id="cam01",
            state="streaming",
            url="rtsp://viewer:***@10.0.0.7:554/stream1",
            received_fps=12.5,
            frames_received=100,
            frames_processed=98,
            frames_dropped=2,
            queue_depth=1,
            stage_ms={"detect": 20.0},
            updated_wall=1000.0,
        )
    )
    image = np.full((48, 64, 3), 90, dtype=np.uint8)
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    store.put_live_view(
        LiveView(
            camera_id="cam01",
            frame_index=7,
            t=0.6,
            width=64,
            height=48,
            jpeg=jpeg,
            boxes=(
                LiveBox(xyxy=(1, 2, 30, 40), track_id=3, global_id=9),
                LiveBox(xyxy=(5, 5, 9, 9), track_id=4),
            ),
        )
    )
    status = client.get("/api/v1/cameras/cam01/status").json()
    assert (status["state"], status["received_fps"], status["frames_dropped"], status["stage_ms"]) == (
        "streaming",
        12.5,
        2,
        {"detect": 20.0},
    )
    assert client.get("/api/v1/cameras").json()[0]["status"]["state"] == "streaming"

    live = client.get("/api/v1/cameras/cam01/live").json()
    assert (live["frame_index"], live["width"], live["height"]) == (7, 64, 48)
    assert live["boxes"] == [
        {"xyxy": [1.0, 2.0, 30.0, 40.0], "track_id": 3, "global_id": 9},
        {"xyxy": [5.0, 5.0, 9.0, 9.0], "track_id": 4, "global_id": None},
    ]
    picture = client.get(live["image_url"])
    assert picture.status_code == 200
    assert picture.headers["content-type"] == "image/jpeg"
    assert picture.content == jpeg


class RecordingControl:
    """A camera control that refuses sources whose URL says so (as a real one refuses a missing file)."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.stopped: list[str] = []

    def start_camera(self, camera: CameraRecord) -> None:
        if "missing" in camera.url:
            raise ValueError(f"cannot open {camera.url}: no such file; pass an existing video file")
        self.started.append(camera.camera_id)

    def stop_camera(self, camera_id: str) -> None:
        self.stopped.append(camera_id)


def test_control_starts_and_stops_cameras_and_a_failed_start_is_undone(
    store: StateStore, settings: ServiceSettings, write_headers: dict[str, str]
) -> None:
    control = RecordingControl()
    client = TestClient(create_app(settings, store, control=control))
    for camera_id, url in (("cam01", "/videos/cam01.mp4"), ("cam02", "/videos/missing.mp4")):
        response = client.post(
            "/api/v1/cameras", json={"camera_id": camera_id, "url": url}, headers=write_headers
        )
        assert response.status_code == (201 if camera_id == "cam01" else 422)
    refused = response
    assert refused.status_code == 422
    assert "no such file" in refused.json()["detail"]
    assert [c.camera_id for c in store.list_cameras()] == ["cam01"]
    assert client.delete("/api/v1/cameras/cam01", headers=write_headers).status_code == 204
    assert (control.started, control.stopped) == (["cam01"], ["cam01"])
    assert [e["action"] for e in client.get("/api/v1/audit").json()["items"]] == [
        "camera.add",
        "camera.remove",
    ]
