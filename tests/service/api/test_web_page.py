"""The operator web page in a real browser: Debian chromium (driven by Playwright) against a real uvicorn
server over a MemoryStore filled the way the service fills it (``Recorder`` + live views).

What it proves: both camera tiles draw their latest frame with the tracked boxes labelled by global id;
typing an id opens that identity with a two-camera timeline and its ground-plane path drawn; clicking a box
opens its identity; the live event feed receives the recorded events; a refused correction shows the
server's reason; the console stays clean. With keys required for reads, the page says a key is needed, and
once it is saved everything (frames, event stream, a split) works with it.
Leaves a full-page screenshot in ``runs/test-artifacts/web_page.png`` for a person to look at.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from pydantic import SecretStr

from service.api.app import create_app
from service.recorder import Recorder
from service.settings import ServiceSettings
from service.store import CameraRecord, CameraStatus, LiveBox, LiveView, MemoryStore
from trackers.types import Tracklet

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "runs" / "test-artifacts"
FRAME_W, FRAME_H = 640, 360
EMBEDDING_DIM = 8
TIMEOUT_MS = 10_000
LIVE_FRAME_INDEX = 240
POINTS_WITH_WORLD = 12 + 10  # the two-camera identity's observations (both of its cameras are calibrated)
OPERATOR_KEY = "test-operator-key-0123456789"

# A colour block (BGR) drawn in each camera's frame away from every box: finding it on the page's canvas
# proves the JPEG itself was drawn, not only the boxes.
MARKER_BGR = {"cam01": (40, 200, 240), "cam02": (230, 120, 40)}
MARKER_XY = (20, 330)  # px, centre of the 24 px block


def _embedding(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=EMBEDDING_DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


def _tracklet(camera: str, track: int, t0: float, n: int, world: np.ndarray | None, seed: int) -> Tracklet:
    """A tracklet of ``n`` observations at 2 Hz from ``t0`` s; world (n, 2) metres or None (no calibration)."""
    times = t0 + 0.5 * np.arange(n)
    boxes = np.array([[100 + 10 * i, 120, 180 + 10 * i, 180] for i in range(n)], dtype=np.float32)
    return Tracklet(
        camera_id=camera,
        local_track_id=track,
        embedding=_embedding(seed),
        n_obs=n,
        frames=np.arange(1, n + 1) + int(t0 * 2),
        timestamps=times,
        xyxy=boxes,
        world_xy=world if world is not None else np.full((n, 2), np.nan),
    )


def _frame_jpeg(camera: str) -> bytes:
    """A 640x360 road scene: asphalt, lane marks, two car-like blocks, and the camera's marker block."""
    image = np.full((FRAME_H, FRAME_W, 3), (52, 56, 60), dtype=np.uint8)
    image[: FRAME_H // 3] = (96, 78, 60)  # sky-ish band
    for x in range(0, FRAME_W, 80):
        image[250:256, x : x + 40] = (210, 210, 210)
    image[120:180, 100:180] = (40, 40, 170)
    image[200:260, 400:500] = (170, 160, 150)
    x, y = MARKER_XY
    image[y - 12 : y + 12, x - 12 : x + 12] = MARKER_BGR[camera]
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return encoded.tobytes()


def _fill(store: MemoryStore) -> dict[str, int]:
    """Two cameras, three identities ("both" is seen by cam01 then cam02, with world positions)."""
    now = time.time()
    calibration = {"H_image_to_ground": [[0.05, 0, 0], [0, 0.05, 0], [0, 0, 1]]}
    for camera in ("cam01", "cam02"):
        store.put_camera(
            CameraRecord(
                camera_id=camera, url=f"rtsp://cams.example/{camera}", calibration=calibration, added_wall=now
            )
        )
        store.put_camera_status(
            CameraStatus(
                camera_id=camera,
                state="streaming",
                url=f"rtsp://cams.example/{camera}",
                received_fps=25.0,
                processed_fps=9.8,
                process_fps=10.0,
                lag_s=0.42,
                frames_received=1200,
                frames_processed=480,
                frames_skipped=710,
                frames_dropped=10,
                reconnects=1,
                last_frame_wall=now,
                updated_wall=now,
            )
        )
    recorder = Recorder(store)
    ids = {name: store.allocate_identity_id() for name in ("both", "cam01_only", "cam02_only")}
    road_a = np.column_stack([np.linspace(0, 30, 12), np.linspace(0, 6, 12)])
    road_b = np.column_stack([np.linspace(42, 60, 10), np.linspace(10, 28, 10)])
    recorder.record(_tracklet("cam01", 1, 0.0, 12, road_a, seed=1), ids["both"])
    recorder.record(_tracklet("cam01", 2, 1.0, 8, None, seed=2), ids["cam01_only"])
    recorder.record(_tracklet("cam02", 7, 9.0, 10, road_b, seed=3), ids["both"])
    recorder.record(_tracklet("cam02", 8, 4.0, 6, None, seed=4), ids["cam02_only"])
    views = {
        "cam01": [
            LiveBox(xyxy=(100, 120, 180, 180), track_id=1, global_id=ids["both"]),
            LiveBox(xyxy=(400, 200, 500, 260), track_id=2, global_id=ids["cam01_only"]),
            LiveBox(xyxy=(260, 150, 330, 200), track_id=5, global_id=None),
        ],
        "cam02": [
            LiveBox(xyxy=(100, 120, 180, 180), track_id=7, global_id=ids["both"]),
            LiveBox(xyxy=(400, 200, 500, 260), track_id=8, global_id=ids["cam02_only"]),
        ],
    }
    for camera, boxes in views.items():
        store.put_live_view(
            LiveView(
                camera_id=camera,
                frame_index=LIVE_FRAME_INDEX,
                t=20.0,
                width=FRAME_W,
                height=FRAME_H,
                jpeg=_frame_jpeg(camera),
                boxes=tuple(boxes),
            )
        )
    return ids


def _settings(**overrides: Any) -> ServiceSettings:
    """Defaults (or ``overrides``), never the .env file of whoever runs the tests."""
    return ServiceSettings(_env_file=None, **overrides)  # type: ignore[call-arg]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


Served = tuple[str, dict[str, int]]  # (base URL, identity ids by name)


@pytest.fixture
def serve() -> Iterator[Callable[[ServiceSettings], Served]]:
    """``serve(settings)``: a live uvicorn server (own thread, free port) over a freshly filled MemoryStore;
    every server started is stopped at teardown."""
    running: list[tuple[uvicorn.Server, threading.Thread, MemoryStore]] = []

    def start(settings: ServiceSettings) -> Served:
        store = MemoryStore()
        ids = _fill(store)
        config = uvicorn.Config(
            create_app(settings, store),
            host="127.0.0.1",
            port=_free_port(),
            log_level="warning",
            timeout_graceful_shutdown=1,  # open event streams must not hold the shutdown
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="uvicorn-web-page", daemon=True)
        thread.start()
        running.append((server, thread, store))
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("uvicorn did not start within 10 s")
            time.sleep(0.05)
        return f"http://127.0.0.1:{config.port}", ids

    yield start
    for server, thread, store in running:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (scripts/install-system-deps.sh)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def _wait_for_frames(page: Page) -> None:
    """Until both tiles have drawn the stored frame (its index is set on the tile once drawn)."""
    page.wait_for_function(
        "(index) => ['cam01', 'cam02'].every(c => document.querySelector("
        "`.tile[data-camera-id='${c}']`)?.dataset.frameIndex === String(index))",
        arg=LIVE_FRAME_INDEX,
    )


def test_operator_page_shows_cameras_identity_and_events(
    serve: Callable[[ServiceSettings], Served], page: Page
) -> None:
    base, ids = serve(_settings())
    both = ids["both"]
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(f"{base}/")

    # Both tiles drew their frame and its boxes; the legend names the global ids on each camera.
    _wait_for_frames(page)
    expected = {"cam01": (3, {both, ids["cam01_only"]}), "cam02": (2, {both, ids["cam02_only"]})}
    for camera, (n_boxes, gids) in expected.items():
        tile = page.locator(f".tile[data-camera-id='{camera}']")
        assert tile.locator("canvas").get_attribute("data-boxes") == str(n_boxes)
        shown = tile.locator(".tile-legend [data-global-id]").evaluate_all(
            "els => els.map(e => Number(e.dataset.globalId))"
        )
        assert set(shown) == gids, camera
        assert tile.locator(".tile-overlay").is_hidden()
        pixel = tile.locator("canvas").evaluate(
            "(c, [x, y]) => Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3))",
            list(MARKER_XY),
        )
        b, g, r = MARKER_BGR[camera]
        assert np.abs(np.array(pixel) - [r, g, b]).max() < 25, (camera, pixel)
        stats = tile.locator(".tile-stats").inner_text()
        assert "streaming" in stats
        # The operator sees what the status says: received and processed rates, the lag, skipped and dropped.
        assert all(text in stats for text in ("25.0", "9.8", "0.42 s", "710", "10"))
    assert page.locator(".tile[data-camera-id='cam01'] .tile-legend [data-track-id='5']").inner_text() == "t5"

    # Open the two-camera identity by typing its id: a timeline row per camera, its path on the map.
    page.fill("#open-id", str(both))
    page.press("#open-id", "Enter")
    page.wait_for_function(
        f"document.getElementById('detail').dataset.globalId === '{both}' && "
        "Number(document.getElementById('map').dataset.points) > 0"
    )
    assert page.locator("#timeline").get_attribute("data-rows") == "2"
    rows = page.locator("#timeline .tl-row[data-camera]").evaluate_all(
        "els => els.map(e => e.dataset.camera)"
    )
    assert rows == ["cam01", "cam02"]
    assert page.locator("#timeline .tl-bar").count() == 2
    assert page.locator("#map").get_attribute("data-points") == str(POINTS_WITH_WORLD)
    assert page.locator("#tracklet-rows tr").count() == 2

    # The event feed received the recorded events: 3 new identities, 1 hand-off.
    page.wait_for_function("Number(document.getElementById('events').dataset.count) >= 4")
    types = page.locator("#events .event").evaluate_all("els => els.map(e => e.dataset.type)")
    assert sorted(types) == ["identity.handoff", "identity.new", "identity.new", "identity.new"]
    assert page.locator("#stream-state").get_attribute("data-state") == "live"
    assert page.locator("#identity-rows tr[data-global-id]").count() == 3
    assert problems == []

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web_page.png"), full_page=True)

    # Clicking a box on a camera opens its identity (cam02's right-hand box is "cam02_only").
    canvas = page.locator(".tile[data-camera-id='cam02'] canvas")
    size = canvas.bounding_box()
    assert size is not None
    canvas.click(position={"x": 450 * size["width"] / FRAME_W, "y": 230 * size["height"] / FRAME_H})
    page.wait_for_function(f"document.getElementById('detail').dataset.globalId === '{ids['cam02_only']}'")
    assert page.locator("#timeline").get_attribute("data-rows") == "1"

    # A correction the server refuses shows its reason (merging an identity into itself: 409).
    page.fill("#merge-id", str(ids["cam02_only"]))
    page.click("#merge-btn")
    page.click("#merge-btn")  # the second click confirms
    status = page.locator("#action-status.error")
    status.wait_for()
    assert "already one" in status.inner_text() and "HTTP 409" in status.inner_text()


def test_operator_page_with_keys_required_for_reads(
    serve: Callable[[ServiceSettings], Served], page: Page
) -> None:
    """Reads need a key: the page says so, then with the key saved the tiles, the event stream (read with
    fetch, since EventSource cannot send the header) and the writes all work."""
    settings = _settings(api_keys=SecretStr(f"ops:{OPERATOR_KEY}"), require_key_for_reads=True)
    base, ids = serve(settings)
    page_errors: list[str] = []
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    page.goto(f"{base}/")

    cams_error = page.locator("#cams-error")
    cams_error.wait_for()
    assert "HTTP 401" in cams_error.inner_text() and "enter an API key" in cams_error.inner_text()
    events_error = page.locator("#events-error")
    events_error.wait_for()
    assert "HTTP 401" in events_error.inner_text()

    page.fill("#api-key", OPERATOR_KEY)
    page.press("#api-key", "Enter")
    _wait_for_frames(page)
    assert cams_error.is_hidden()
    page.wait_for_function("Number(document.getElementById('events').dataset.count) >= 4")
    assert page.locator("#stream-state").get_attribute("data-state") == "live"
    assert page.evaluate("localStorage.getItem('crosscam.apiKey')") == OPERATOR_KEY

    # With the key, a write goes through: split the two-camera identity's cam02 tracklet off.
    page.fill("#open-id", str(ids["both"]))
    page.press("#open-id", "Enter")
    page.wait_for_function(f"document.getElementById('detail').dataset.globalId === '{ids['both']}'")
    split = page.locator("#tracklet-rows tr[data-tracklet-id='cam02:7'] button")
    split.click()
    split.click()  # confirm
    page.locator("#action-status.ok").wait_for()
    page.wait_for_function("document.getElementById('timeline').dataset.rows === '1'")
    page.wait_for_function(
        "[...document.querySelectorAll('#events .event')].some(e => e.dataset.type === 'tracklet.split')"
    )
    assert page_errors == []
