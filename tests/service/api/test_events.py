"""Live events over a real uvicorn server (SSE: limit, resume with Last-Event-ID or ?after=, type filter,
keep-alive) and over the WebSocket."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from service.api.app import create_app
from service.api.routes import events as events_route
from service.settings import ServiceSettings
from service.store import Event, EventIn, StateStore

SERVER_START_TIMEOUT_S = 10.0
STREAM_TIMEOUT_S = 10.0


@pytest.fixture
def server_url(store: StateStore, settings: ServiceSettings) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a thread."""
    config = uvicorn.Config(
        create_app(settings, store),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(SERVER_START_TIMEOUT_S)


def publish(store: StateStore, kind: str = "identity.new", global_id: int = 1) -> Event:
    return store.append_event(EventIn(type=kind, t_wall=time.time(), global_id=global_id))  # type: ignore[arg-type]


def read_sse(
    url: str, headers: dict[str, str] | None = None, **params: object
) -> tuple[list[dict], list[str]]:
    """Read an SSE stream to its end: (messages as {id, event, data}, comment lines)."""
    messages: list[dict] = []
    comments: list[str] = []
    current: dict = {}
    with httpx.stream(
        "GET", f"{url}/api/v1/events", params=params, headers=headers, timeout=STREAM_TIMEOUT_S
    ) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith(":"):
                comments.append(line)
            elif not line:
                if current:
                    messages.append(current)
                current = {}
            else:
                field, _, value = line.partition(": ")
                current[field] = json.loads(value) if field == "data" else value
    return messages, comments


def test_sse_delivers_events_published_while_connected(server_url: str, store: StateStore) -> None:
    def produce() -> None:
        time.sleep(0.3)  # after the client has connected and is waiting
        for gid in (11, 12, 13):
            publish(store, global_id=gid)

    producer = threading.Thread(target=produce)
    producer.start()
    messages, _ = read_sse(server_url, limit=2)  # the server ends the stream after two
    producer.join()
    assert [m["data"]["global_id"] for m in messages] == [11, 12]
    for message in messages:
        assert message["event"] == "identity.new" == message["data"]["type"]
        assert message["id"] == message["data"]["event_id"]


def test_sse_resumes_after_the_last_event_seen(server_url: str, store: StateStore) -> None:
    published = [publish(store, global_id=gid) for gid in (1, 2, 3)]
    first, _ = read_sse(server_url, limit=1)
    assert [m["id"] for m in first] == [published[0].event_id]
    resumed, _ = read_sse(server_url, headers={"Last-Event-ID": first[-1]["id"]}, limit=2)
    assert [m["data"]["global_id"] for m in resumed] == [2, 3]
    by_query, _ = read_sse(server_url, after=published[1].event_id, limit=1)
    assert [m["data"]["global_id"] for m in by_query] == [3]


def test_sse_filters_types_and_rejects_unknown_ones(server_url: str, store: StateStore) -> None:
    publish(store, "identity.new", 1)
    publish(store, "camera.added", 2)
    publish(store, "identity.handoff", 3)
    publish(store, "identity.merged", 4)
    messages, _ = read_sse(server_url, types="identity.handoff,identity.merged", limit=2)
    assert [m["event"] for m in messages] == ["identity.handoff", "identity.merged"]
    bad = httpx.get(f"{server_url}/api/v1/events", params={"types": "identity.new,nonsense"})
    assert bad.status_code == 422
    assert "nonsense" in bad.json()["detail"]


def test_sse_keeps_idle_streams_alive(
    server_url: str, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_route, "KEEPALIVE_S", 0.2)
    monkeypatch.setattr(events_route, "POLL_WAIT_S", 0.1)
    threading.Timer(1.0, publish, args=(store,)).start()
    messages, comments = read_sse(server_url, limit=1)
    assert len(messages) == 1
    assert ": keep-alive" in comments


def test_websocket_sends_the_same_events(client: TestClient, store: StateStore) -> None:
    published = [
        publish(store, kind, gid)
        for kind, gid in [("identity.new", 1), ("camera.added", 2), ("identity.new", 3)]
    ]
    with client.websocket_connect(f"/api/v1/events/ws?after={published[0].event_id}&limit=2") as socket:
        received = [socket.receive_json(), socket.receive_json()]
        with pytest.raises(WebSocketDisconnect):
            socket.receive_json()  # the server closes after `limit` events
    assert [e["event_id"] for e in received] == [e.event_id for e in published[1:]]
    assert received[0] == {
        "event_id": published[1].event_id,
        "type": "camera.added",
        "t_wall": published[1].t_wall,
        "global_id": 2,
        "camera_id": None,
        "data": {},
    }
    with client.websocket_connect("/api/v1/events/ws?types=identity.new&limit=2") as socket:
        assert [socket.receive_json()["global_id"] for _ in range(2)] == [1, 3]


def test_websocket_needs_a_key_when_reads_do(
    store: StateStore, settings_factory: Callable[..., ServiceSettings], secrets: dict[str, str]
) -> None:
    publish(store)
    client = TestClient(create_app(settings_factory(require_key_for_reads=True), store))
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/api/v1/events/ws?limit=1"):
        pass
    assert refused.value.code == 1008
    with client.websocket_connect(
        "/api/v1/events/ws?limit=1", headers={"X-API-Key": secrets["viewer"]}
    ) as socket:
        assert socket.receive_json()["type"] == "identity.new"
    assert client.get("/api/v1/events", params={"limit": 1}).status_code == 401
