"""The live runtime on the smoke scene (ground-truth boxes, colour+HOG embedder): what it records matches an
offline run of the same scene, views and statuses appear, and cameras fail, start and stop one at a time."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from service.live import LiveRuntime
from service.scene_run import scene_videos, track_scene
from service.settings import ServiceSettings
from service.store import CameraRecord, IdentityQuery, MemoryStore, StateStore, tracklet_id
from service.track_ids import track_id_offset
from trackers.appearance import ColourHogEmbedder
from trackers.association import AssociationConfig
from trackers.deepsort import DeepSortConfig
from trackers.tracklets import TrackletConfig

SETTINGS = ServiceSettings(status_interval_s=0.1, live_view_fps=20.0)
WAIT_S = 20.0  # generous on two busy cores; every wait ends as soon as its condition holds


def wait_for(condition: Callable[[], object], what: str, timeout_s: float = WAIT_S) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def camera(scene: Path, camera_id: str, url: str | None = None) -> CameraRecord:
    calibration = json.loads((scene / "calibration" / f"{camera_id}.json").read_text())
    return CameraRecord(
        camera_id=camera_id,
        url=url or str(scene / f"{camera_id}.mp4"),
        calibration=calibration,
        added_wall=time.time(),
    )


@pytest.fixture
def make_runtime(smoke_scene: Path) -> Iterator[Callable[..., LiveRuntime]]:
    made: list[LiveRuntime] = []

    def make(store: StateStore | None = None, **options: object) -> LiveRuntime:
        options = {"realtime": False, **options}
        runtime = LiveRuntime(
            store or MemoryStore(),
            SETTINGS,
            embedder=ColourHogEmbedder(),
            oracle_scene=smoke_scene,
            **options,
        )
        made.append(runtime)
        return runtime.start()

    yield make
    for runtime in made:
        runtime.stop()


def stored_partition(store: StateStore) -> set[frozenset[str]]:
    identities = store.list_identities(IdentityQuery(limit=1000)).items
    return {frozenset(i.tracklet_ids) for i in identities}


def test_records_what_an_offline_run_of_the_scene_finds(
    smoke_scene: Path, make_runtime, store: StateStore
) -> None:
    runtime = make_runtime(store)
    cameras = list(scene_videos(smoke_scene))
    for cam in cameras:
        runtime.start_camera(camera(smoke_scene, cam))
    wait_for(
        lambda: all(runtime.camera_status(c).state == "finished" for c in cameras), "every camera to finish"
    )
    runtime.stop()

    offline = track_scene(
        smoke_scene, ColourHogEmbedder(), None, DeepSortConfig.from_yaml(), AssociationConfig.from_yaml(),
        progress=False,
    ).association.associator  # fmt: skip
    offline_partition = {frozenset(f"{c}:{i}" for c, i in keys) for keys in offline.members.values()}
    partition = stored_partition(store)
    # Each camera's tracks are the same; association saw them in arrival order instead of time order.
    assert set().union(*partition) == set().union(*offline_partition)
    assert abs(len(partition) - len(offline_partition)) <= 1
    assert len(partition & offline_partition) >= len(offline_partition) - 2
    # Every tracklet the associator assigned is recorded, under the identity it was assigned to.
    assert store.counts().tracklets == len(runtime.associator.tracklets) > 0
    assert partition == {
        frozenset(f"{c}:{i}" for c, i in keys) for keys in runtime.associator.members.values()
    }
    assert all(store.get_tracklet(t).final for ids in partition for t in ids)
    new = [e for e in store.events_after(None, limit=1000) if e.type == "identity.new"]
    assert len(new) == store.counts().identities
    for cam in cameras:
        status = store.get_camera_status(cam)
        assert status.state == "finished"
        assert status.frames_received == status.frames_processed == 40  # the smoke scene: 4 s at 10 fps
        assert set(status.stage_ms) == {"decode", "detect", "embed", "track"}
        assert status.url == str(smoke_scene / f"{cam}.mp4") and status.last_error is None


def test_live_views_show_each_track_with_its_global_id(smoke_scene: Path, make_runtime) -> None:
    store = MemoryStore()
    # Interim tracklets every second: a 4 s file replayed in a loop then has identities while tracks live.
    runtime = make_runtime(store, loop=True, tracklet_config=TrackletConfig.from_yaml(emit_every_s=1.0))
    runtime.start_camera(camera(smoke_scene, "cam02"))

    def labelled_view():
        view = store.get_live_view("cam02")
        return view if view is not None and any(b.global_id is not None for b in view.boxes) else None

    view = wait_for(labelled_view, "a live view with a global id on a box")
    image = cv2.imdecode(np.frombuffer(view.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (view.height, view.width, 3) == (360, 640, 3)
    for box in view.boxes:
        if box.global_id is not None:
            tracklet = store.get_tracklet(f"cam02:{box.track_id}")
            assert store.get_identity(box.global_id).global_id == tracklet.global_id
        x1, y1, x2, y2 = box.xyxy
        assert 0 <= x1 < x2 <= view.width and 0 <= y1 < y2 <= view.height
    status = wait_for(
        lambda: (s := store.get_camera_status("cam02")) and s.frames_processed > 40 and s, "status"
    )
    assert status.state == "streaming" and status.last_frame_wall is not None
    assert status.received_fps > 0 and status.processed_fps > 0


def test_a_failing_camera_stops_alone(smoke_scene: Path, make_runtime, tmp_path: Path) -> None:
    store = MemoryStore()
    runtime = make_runtime(store, loop=True)
    doomed = tmp_path / "cam02.mp4"
    shutil.copy(smoke_scene / "cam02.mp4", doomed)
    failed = runtime.start_cameras(
        [
            camera(smoke_scene, "cam01"),
            camera(smoke_scene, "cam02", url=str(doomed)),
            camera(smoke_scene, "cam03", url=str(tmp_path / "gone.mp4")),
        ]
    )
    # A camera whose file is missing at start fails at once, with the reason in its status.
    assert list(failed) == ["cam03"] and "not found" in failed["cam03"]
    assert store.get_camera_status("cam03").state == "failed"
    assert "gone.mp4" in store.get_camera_status("cam03").last_error
    # One whose file disappears while it runs fails when it next opens it (each pass of the loop).
    wait_for(lambda: runtime.camera_status("cam02").frames_processed > 0, "cam02 to run")
    doomed.unlink()
    status = wait_for(
        lambda: (s := store.get_camera_status("cam02")) and s.state == "failed" and s, "cam02 fails"
    )
    assert "not found" in status.last_error
    before = runtime.camera_status("cam01").frames_processed
    wait_for(lambda: runtime.camera_status("cam01").frames_processed > before + 40, "cam01 to keep going")
    assert store.get_camera_status("cam01").state == "streaming"


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/cam.mp4", "rtsp://admin:s3cret@/stream", "rtsp://cam.local:99999/x", "file://"],
)
def test_start_camera_rejects_a_malformed_url(smoke_scene: Path, make_runtime, url: str) -> None:
    runtime = make_runtime()
    with pytest.raises(ValueError, match="cam01") as caught:
        runtime.start_camera(camera(smoke_scene, "cam01", url=url))
    assert "s3cret" not in str(caught.value) and "\n" not in str(caught.value)
    assert runtime.camera_ids == []


def test_start_camera_rejects_a_missing_file_a_bad_calibration_and_a_second_start(
    smoke_scene: Path, make_runtime, tmp_path: Path
) -> None:
    runtime = make_runtime()
    with pytest.raises(ValueError, match="not found"):
        runtime.start_camera(camera(smoke_scene, "cam01", url=str(tmp_path / "nothing.mp4")))
    bad = camera(smoke_scene, "cam01").model_copy(
        update={"calibration": {"homography_image_to_world": [1, 2]}}
    )
    with pytest.raises(ValueError, match=r"cam01.*calibration"):
        runtime.start_camera(bad)
    runtime.start_camera(camera(smoke_scene, "cam01"))
    with pytest.raises(ValueError, match="already running"):
        runtime.start_camera(camera(smoke_scene, "cam01"))


def test_stop_camera_records_its_live_tracks_and_a_restart_keeps_them(
    smoke_scene: Path, make_runtime, store: StateStore
) -> None:
    runtime = make_runtime(store, realtime=True)  # 10 fps: stopped mid-file, while its tracks are live
    runtime.start_camera(camera(smoke_scene, "cam01"))
    wait_for(lambda: runtime.camera_status("cam01").frames_processed >= 15, "15 frames")
    assert store.counts().tracklets == 0  # nothing is due yet: tracks live on, no interim emission
    runtime.stop_camera("cam01")
    first = {t for i in store.list_identities(IdentityQuery(camera="cam01")).items for t in i.tracklet_ids}
    assert first == {"cam01:1", "cam01:2"} and all(store.get_tracklet(t).final for t in first)
    assert runtime.camera_ids == []
    last_report = store.get_camera_status("cam01").updated_wall
    time.sleep(5 * SETTINGS.status_interval_s)
    assert store.get_camera_status("cam01").updated_wall == last_report  # a stopped camera reports no more

    # Started again, its tracker counts from 1 again: the new tracks must not overwrite the first ones. The
    # second start is the camera's run 2, whose ids start one stride up.
    kept = {t: store.get_tracklet(t) for t in first}
    runtime.start_camera(camera(smoke_scene, "cam01"))
    wait_for(lambda: runtime.camera_status("cam01").frames_processed >= 15, "15 frames again")
    runtime.stop_camera("cam01")
    second = {t for i in store.list_identities(IdentityQuery(camera="cam01")).items for t in i.tracklet_ids}
    assert second - first == {tracklet_id("cam01", track_id_offset(2) + k) for k in (1, 2)}
    assert all(store.get_tracklet(t) == kept[t] for t in first)


REAL_25FPS = Path(__file__).resolve().parents[2].parent / "shared/data/videos/degirum/Traffic2.mp4"


@pytest.mark.slow
@pytest.mark.skipif(not REAL_25FPS.is_file(), reason="no real 25 fps clip in ../shared/data")
def test_a_real_25fps_camera_over_rtsp_yields_identities(perl_rtsp_server) -> None:
    """A real junction camera published at 25 fps through a real RTSP server (UDP only: transport auto finds
    it), processed at 5 fps by the shipped detector: tracks, identities, and a truthful status."""
    perl_rtsp_server.publish("junction", REAL_25FPS)
    store = MemoryStore()
    settings = ServiceSettings(status_interval_s=0.2, live_view_fps=2.0, process_fps=5.0)
    runtime = LiveRuntime(
        store,
        settings,
        embedder=ColourHogEmbedder(),
        tracklet_config=TrackletConfig.from_yaml(emit_every_s=1.0),
    )
    with runtime:
        record = CameraRecord(
            camera_id="junction", url=perl_rtsp_server.client_url("junction"), added_wall=time.time()
        )
        runtime.start_camera(record)
        wait_for(lambda: store.counts().identities >= 3, "identities from the RTSP camera", timeout_s=90.0)
        status = wait_for(
            lambda: (s := store.get_camera_status("junction")) and s.frames_processed >= 20 and s, "status"
        )
    assert status.state == "streaming" and status.last_error is None
    assert 15.0 < status.received_fps < 35.0  # the camera sends 25 frames/s...
    assert 2.0 < status.processed_fps <= 6.0 and status.process_fps == 5.0  # ...and 5 of them are processed
    assert status.frames_skipped >= 2 * status.frames_processed
    assert status.lag_s is not None and status.lag_s < 2.0
    assert store.get_live_view("junction") is not None


def test_a_camera_processes_at_its_own_rate_over_the_services(smoke_scene: Path, make_runtime) -> None:
    store = MemoryStore()
    runtime = make_runtime(store)  # the service's rate: 10 fps, the smoke scene's own
    slow = camera(smoke_scene, "cam01").model_copy(update={"process_fps": 5.0})
    runtime.start_camera(slow)
    runtime.start_camera(camera(smoke_scene, "cam02"))
    wait_for(lambda: all(runtime.camera_status(c).state == "finished" for c in ("cam01", "cam02")), "the end")
    own, default = runtime.camera_status("cam01"), runtime.camera_status("cam02")
    assert (own.frames_received, own.frames_processed, own.frames_skipped, own.process_fps) == (
        40,
        20,
        20,
        5.0,
    )
    assert (default.frames_processed, default.frames_skipped, default.process_fps) == (40, 0, 10.0)
