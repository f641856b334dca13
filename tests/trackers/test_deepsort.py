"""DeepSORT adapter: stable per-camera ids, the detection index carried through, config contract, a scene."""

from __future__ import annotations

import inspect
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from deep_sort_realtime.deep_sort.kalman_filter import KalmanFilter
from deep_sort_realtime.deepsort_tracker import DeepSort

import trackers.deepsort as deepsort_module
from trackers.appearance import ColourHogEmbedder, embed_detections
from trackers.config import ConfigError
from trackers.deepsort import (
    ADAPTER_KEYS,
    FIXED_ARGUMENTS,
    NO_DETECTION,
    DeepSortConfig,
    DeepSortTracker,
    _KalmanFilter,
)
from trackers.metrics import MOTBoxes, read_mot, score_mot, write_mot
from trackers.oracle import GroundTruthDetector
from trackers.types import Detections, Frame, Tracks

CAMERA = "cam01"
SIZE = (320, 240)  # width, height px
CAR = (60, 30)  # width, height px
COLOURS = {"red": (30, 30, 200), "blue": (200, 60, 30)}  # BGR
STEP_PX = 5  # per frame, along x
N_FRAMES = 30
EMBEDDER = ColourHogEmbedder()


def car_box(car: str, frame_index: int) -> np.ndarray:
    """(4,) xyxy px of a car on its straight line: red goes right along the top, blue left along the bottom."""
    k = frame_index - 1
    x, y = (10 + STEP_PX * k, 40) if car == "red" else (250 - STEP_PX * k, 150)
    return np.array([x, y, x + CAR[0], y + CAR[1]], dtype=np.float32)


def render(frame_index: int) -> np.ndarray:
    image = np.full((SIZE[1], SIZE[0], 3), 110, dtype=np.uint8)
    for car, colour in COLOURS.items():
        x1, y1, x2, y2 = car_box(car, frame_index).astype(int)
        cv2.rectangle(image, (x1, y1 + 8), (x2 - 1, y2 - 6), colour, -1)
        cv2.rectangle(image, (x1 + 15, y1), (x2 - 16, y1 + 10), (40, 40, 40), -1)
        for cx in (x1 + 12, x2 - 12):
            cv2.circle(image, (cx, y2 - 5), 5, (15, 15, 15), -1)
    return image


def observe(
    frame_index: int, cars: list[str], rng: np.random.Generator
) -> tuple[Frame, Detections, list[str]]:
    """The frame, embedded detections of `cars` in a shuffled order, and which car each row is."""
    order = [cars[i] for i in rng.permutation(len(cars))]
    frame = Frame(CAMERA, frame_index, (frame_index - 1) / 10, render(frame_index))
    xyxy = np.stack([car_box(c, frame_index) for c in order]) if order else np.zeros((0, 4))
    n = len(order)
    detections = Detections(CAMERA, frame_index, xyxy, np.full(n, 0.9), np.zeros(n, dtype=np.int64))
    return frame, embed_detections(EMBEDDER, frame, detections), order


def iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def run(
    tracker: DeepSortTracker, missing: dict[int, str] | None = None, n_frames: int = N_FRAMES, seed: int = 0
) -> list[tuple[Tracks, Detections, list[str]]]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(1, n_frames + 1):
        cars = [c for c in COLOURS if (missing or {}).get(k) != c]
        frame, detections, order = observe(k, cars, rng)
        out.append((tracker.update(detections, frame), detections, order))
    return out


def config(**overrides: object) -> DeepSortConfig:
    return DeepSortConfig.from_yaml(**overrides)


def test_two_cars_keep_two_distinct_stable_ids() -> None:
    tracker = DeepSortTracker(config(), camera_id=CAMERA)
    ids_of: dict[str, set[int]] = {"red": set(), "blue": set()}
    for tracks, _, order in run(tracker):
        for track_id, row in zip(tracks.track_id, tracks.detection_index, strict=True):
            assert row != NO_DETECTION  # every car is detected in every frame
            ids_of[order[row]].add(int(track_id))
    assert ids_of == {"red": {1}, "blue": {2}} or ids_of == {"red": {2}, "blue": {1}}


def test_tracks_are_reported_once_confirmed() -> None:
    n_init = config().n_init
    results = run(DeepSortTracker(), n_frames=n_init + 2)
    for k, (tracks, _, _) in enumerate(results, start=1):
        assert len(tracks) == (0 if k < n_init else 2), f"frame {k}"
        assert tracks.camera_id == CAMERA and tracks.frame_index == k


def test_n_init_one_confirms_on_the_first_frame() -> None:
    tracks, _, _ = run(DeepSortTracker(config(n_init=1)), n_frames=1)[0]
    assert len(tracks) == 2


@pytest.mark.parametrize("report_detection_box", [True, False])
def test_detection_index_points_at_the_overlapping_detection(report_detection_box: bool) -> None:
    tracker = DeepSortTracker(config(report_detection_box=report_detection_box))
    checked = 0
    for tracks, detections, _ in run(tracker, seed=1):
        for box, row in zip(tracks.xyxy, tracks.detection_index, strict=True):
            assert 0 <= row < len(detections)
            assert iou(box, detections.xyxy[row]) > 0.5
            others = [iou(box, d) for i, d in enumerate(detections.xyxy) if i != row]
            assert all(o < 0.1 for o in others)
            if report_detection_box:
                np.testing.assert_array_equal(box, detections.xyxy[row])
            checked += 1
    assert checked >= 2 * (N_FRAMES - config().n_init)


def test_a_missed_detection_gives_a_predicted_track_with_minus_one() -> None:
    miss = 15
    tracker = DeepSortTracker(config(max_predicted_frames=1))
    results = run(tracker, missing={miss: "blue"})
    before, _, order_before = results[miss - 2]
    blue_id = int(before.track_id[[order_before[r] for r in before.detection_index].index("blue")])
    tracks, detections, order = results[miss - 1]
    assert len(detections) == 1 and order == ["red"]
    by_id = dict(zip(tracks.track_id.tolist(), range(len(tracks)), strict=True))
    blue = by_id.pop(blue_id)
    assert tracks.detection_index[blue] == NO_DETECTION
    assert iou(tracks.xyxy[blue], car_box("blue", miss)) > 0.5  # the Kalman prediction follows the car
    (red,) = by_id.values()
    assert tracks.detection_index[red] == 0
    after, _, order_after = results[miss]
    assert blue_id in after.track_id.tolist()
    row = after.detection_index[after.track_id.tolist().index(blue_id)]
    assert order_after[row] == "blue"


def test_predicted_tracks_are_reported_for_max_predicted_frames_only() -> None:
    tracker = DeepSortTracker(config(max_predicted_frames=2))
    run(tracker, n_frames=10)
    counts = []
    for k in range(11, 15):
        tracks = tracker.update(Detections.empty(CAMERA, k))
        assert (tracks.detection_index == NO_DETECTION).all()
        counts.append(len(tracks))
    assert counts == [2, 2, 0, 0]


def test_empty_detections_without_tracks() -> None:
    tracks = DeepSortTracker().update(Detections.empty(CAMERA, 1))
    assert len(tracks) == 0 and tracks.frame_index == 1 and tracks.camera_id == CAMERA


def test_two_instances_allocate_ids_independently() -> None:
    a, b = DeepSortTracker(), DeepSortTracker()
    rng = np.random.default_rng(2)
    ids_a, ids_b = set(), set()
    for k in range(1, 11):
        _, detections, _ = observe(k, ["red", "blue"], rng)
        ids_a |= set(a.update(detections).track_id.tolist())
        ids_b |= set(b.update(detections).track_id.tolist())
    assert ids_a == ids_b == {1, 2}
    assert all(isinstance(i, int) for i in ids_a)


def test_reset_restarts_ids() -> None:
    tracker = DeepSortTracker()
    run(tracker, n_frames=8)
    # Two new cars after the reset: they get ids 1 and 2 again, not 3 and 4.
    tracker.reset()
    ids = set()
    for tracks, _, _ in run(tracker, n_frames=8, seed=5):
        ids |= set(tracks.track_id.tolist())
    assert ids == {1, 2}


def test_missing_embeddings_are_refused() -> None:
    detections = Detections(CAMERA, 1, np.array([[0, 0, 10, 10]]), np.ones(1), np.zeros(1, dtype=np.int64))
    with pytest.raises(ValueError, match=r"needs detections with embeddings.*embed_detections"):
        DeepSortTracker().update(detections)


def test_wrong_camera_order_and_dimension_are_refused() -> None:
    tracker = DeepSortTracker()
    rng = np.random.default_rng(0)
    tracker.update(observe(5, ["red"], rng)[1])
    with pytest.raises(ValueError, match="follows camera 'cam01', got detections of 'cam02'"):
        tracker.update(Detections.empty("cam02", 6))
    with pytest.raises(ValueError, match="frame 5 after frame 5; frames must come in increasing order"):
        tracker.update(Detections.empty(CAMERA, 5))
    d = observe(6, ["red"], rng)[1]
    with pytest.raises(ValueError, match="have 10 dimensions, earlier frames had"):
        tracker.update(d.with_embeddings(np.ones((1, 10), np.float32)))
    frame = Frame(CAMERA, 7, 0.6, np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="does not match detections"):
        tracker.update(d, frame)


def test_a_gap_of_dropped_frames_is_predicted_across() -> None:
    tracker = DeepSortTracker()
    rng = np.random.default_rng(3)
    for k in range(1, 11):
        ids = tracker.update(observe(k, ["red", "blue"], rng)[1]).track_id
    # Frames 11-15 never arrive (dropped by the reader); the cars have moved on 6 steps.
    tracks = tracker.update(observe(16, ["red", "blue"], rng)[1])
    assert sorted(tracks.track_id.tolist()) == sorted(ids.tolist())
    assert (tracks.detection_index >= 0).all()


@pytest.mark.parametrize("every", [1, 2, 5])
def test_a_decimated_camera_is_tracked_as_well_as_at_its_full_rate(every: int) -> None:
    """A source processed at every k-th frame: one track per car, confirmed after n_init processed frames.
    (Replaying the skipped frames as empty ones deleted every tentative track: no track at all.)"""
    tracker = DeepSortTracker(config(), camera_id=CAMERA)
    rng = np.random.default_rng(0)
    seen: set[int] = set()
    for processed, k in enumerate(range(1, 8 * every + 1, every), start=1):
        tracks = tracker.update(observe(k, ["red", "blue"], rng)[1])
        seen.update(tracks.track_id.tolist())
        assert len(tracks) == (2 if processed >= config().n_init else 0)
    assert seen == {1, 2}


@pytest.mark.parametrize(("every", "frames_alive"), [(1, 4), (2, 2), (4, 1)])
def test_max_age_keeps_its_duration_at_any_processing_rate(every: int, frames_alive: int) -> None:
    """max_age 4 at 10 processed frames/s is 0.4 s: 2 frames at 5/s, 1 at 2.5/s (timestamps tell the rate)."""
    tracker = DeepSortTracker(config(max_age=4, max_predicted_frames=100), camera_id=CAMERA)
    rng = np.random.default_rng(0)
    frames = list(range(1, 30 * every, every))
    for k in frames[:10]:
        frame, detections, _ = observe(k, ["red"], rng)
        tracker.update(detections, frame)
    reported_after = []
    for k in frames[10:20]:
        empty = Frame(CAMERA, k, (k - 1) / 10, render(k))
        reported_after.append(len(tracker.update(Detections.empty(CAMERA, k), empty)))
    assert reported_after == [1] * frames_alive + [0] * (10 - frames_alive)


def test_cars_that_move_farther_than_their_size_keep_their_ids_at_a_slow_rate() -> None:
    """At 1.25 processed frames/s a car moves 40 px between frames (IoU 0.2 with where it was, below the IoU
    gate): the grown boxes of the IoU stage still link it, and each car keeps one id."""
    every = 8
    ids_of: dict[str, set[int]] = {"red": set(), "blue": set()}
    tracker = DeepSortTracker(config(), camera_id=CAMERA)
    rng = np.random.default_rng(0)
    for k in range(1, 6 * every, every):
        frame, detections, order = observe(k, ["red", "blue"], rng)
        tracks = tracker.update(detections, frame)
        for track_id, row in zip(tracks.track_id, tracks.detection_index, strict=True):
            ids_of[order[row]].add(int(track_id))
    assert len(ids_of["red"]) == len(ids_of["blue"]) == 1 and ids_of["red"] != ids_of["blue"]


def test_without_timestamps_frame_counts_hold_as_given() -> None:
    tracker = DeepSortTracker(config(max_age=4, max_predicted_frames=100), camera_id=CAMERA)
    rng = np.random.default_rng(0)
    for k in range(1, 50, 5)[:10]:
        tracker.update(observe(k, ["red"], rng)[1])
    reported_after = [len(tracker.update(Detections.empty(CAMERA, k))) for k in range(51, 101, 5)]
    assert reported_after == [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]


def test_a_dropped_frame_does_not_delete_a_tentative_track() -> None:
    tracker = DeepSortTracker(config(n_init=3), camera_id=CAMERA)
    rng = np.random.default_rng(0)
    for k in range(1, 11):  # an empty road sets the period: one frame
        tracker.update(Detections.empty(CAMERA, k))
    counts = [len(tracker.update(observe(k, ["red"], rng)[1])) for k in (11, 13, 14)]  # frame 12 was dropped
    assert counts == [0, 0, 1]


def test_unusable_boxes_are_skipped_without_shifting_the_index() -> None:
    """Zero-size boxes (which deep-sort-realtime drops without their embeddings) and low-confidence ones."""
    tracker = DeepSortTracker(config(min_confidence=0.5))
    rng = np.random.default_rng(4)
    for k in range(1, 8):
        _, d, order = observe(k, ["red", "blue"], rng)
        junk = np.array([[5, 5, 5, 40], [100, 100, 140, 130]], dtype=np.float32)  # zero width; weak
        xyxy = np.concatenate([junk, d.xyxy])
        conf = np.concatenate([[0.9, 0.1], d.confidence])
        emb = np.concatenate([EMBEDDER.embed([np.zeros((5, 5, 3), np.uint8)] * 2), d.embeddings])
        full = Detections(CAMERA, k, xyxy, conf, np.zeros(len(conf), dtype=np.int64), emb)
        tracks = tracker.update(full)
        for box, row in zip(tracks.xyxy, tracks.detection_index, strict=True):
            assert row >= 2 and order[row - 2] in COLOURS
            np.testing.assert_array_equal(box, xyxy[row])
    assert len(tracks) == 2


def test_gating_distance_hook_matches_the_library() -> None:
    rng = np.random.default_rng(0)
    ours, theirs = _KalmanFilter(), KalmanFilter()
    mean, cov = theirs.initiate(np.array([100.0, 80.0, 1.8, 40.0]))
    for _ in range(3):
        mean, cov = theirs.predict(mean, cov)
    measurements = np.array([100.0, 80.0, 1.8, 40.0]) + rng.normal(0, [5, 5, 0.1, 3], size=(6, 4))
    for only_position in (False, True):
        np.testing.assert_allclose(
            ours.gating_distance(mean, cov, measurements, only_position),
            theirs.gating_distance(mean, cov, measurements, only_position),
            rtol=1e-9,
        )


# ---------------------------------------------------------------------------------------------------
# Config contract
# ---------------------------------------------------------------------------------------------------


def test_yaml_keys_are_the_config_fields() -> None:
    keys = yaml.safe_load(DeepSortConfig.default_path().read_text())
    assert set(keys) == set(DeepSortConfig.model_fields)
    assert all(field.description for field in DeepSortConfig.model_fields.values())


def test_config_and_fixed_arguments_cover_the_deepsort_signature() -> None:
    params = set(inspect.signature(DeepSort.__init__).parameters) - {"self"}
    forwarded = set(DeepSortConfig.model_fields) - ADAPTER_KEYS
    assert forwarded.isdisjoint(FIXED_ARGUMENTS)
    assert forwarded | set(FIXED_ARGUMENTS) == params
    assert set(DeepSortConfig.model_fields) >= ADAPTER_KEYS


def test_every_deepsort_field_reaches_the_constructor(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    class Recorder(DeepSort):
        def __init__(self, **kwargs: object) -> None:
            seen.update(kwargs)
            super().__init__(**kwargs)

    monkeypatch.setattr(deepsort_module, "DeepSort", Recorder)
    cfg = config(max_age=7, nn_budget=5, max_cosine_distance=0.25)
    DeepSortTracker(cfg)
    for name in set(DeepSortConfig.model_fields) - ADAPTER_KEYS:
        assert seen[name] == getattr(cfg, name), name
    assert seen["embedder"] is None and seen["today"] is None and seen["polygon"] is False


def test_shipped_config_is_bounded() -> None:
    cfg = config()
    assert cfg.nn_budget is not None and cfg.nn_budget <= 100
    assert cfg.max_predicted_frames <= cfg.max_age


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("n_init: -1\n", r"key 'n_init': Input should be greater than or equal to 1 \(got -1\)"),
        ("max_cosine_distance: far\n", r"key 'max_cosine_distance': Input should be a valid number"),
        ("n_inti: 3\n", r"unknown key 'n_inti' \(known keys: max_iou_distance, "),
    ],
)
def test_bad_yaml_gives_one_message_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    shipped = DeepSortConfig.default_path().read_text()
    key = text.split(":")[0]
    lines = [line for line in shipped.splitlines() if not line.startswith(f"{key}:")]
    path = tmp_path / "deepsort.yaml"
    path.write_text("\n".join(lines) + "\n" + text)
    with pytest.raises(ConfigError, match=message) as info:
        DeepSortConfig.from_yaml(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_key_and_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "deepsort.yaml"
    path.write_text("max_age: 30\n")
    with pytest.raises(ConfigError, match="key 'n_init' is missing"):
        DeepSortConfig.from_yaml(path)
    path.write_text("max_age: [30\n")
    with pytest.raises(ConfigError, match="line 2: not valid YAML"):
        DeepSortConfig.from_yaml(path)
    with pytest.raises(ConfigError, match="no such config file"):
        DeepSortConfig.from_yaml(tmp_path / "absent.yaml")


# ---------------------------------------------------------------------------------------------------
# End to end on the synthetic town (oracle boxes, ColourHog embeddings)
# ---------------------------------------------------------------------------------------------------


def track_camera(scene: Path, camera: str, out: Path) -> MOTBoxes:
    """Track a camera's video with oracle boxes; write and read back its MOT predictions."""
    oracle = GroundTruthDetector(scene / "mot" / camera / "gt" / "gt.txt")
    tracker = DeepSortTracker(camera_id=camera)
    capture = cv2.VideoCapture(str(scene / f"{camera}.mp4"))
    rows = []
    k = 0
    while True:
        ok, image = capture.read()
        if not ok:
            break
        k += 1
        frame = Frame(camera, k, (k - 1) / 10, image)
        tracks = tracker.update(embed_detections(EMBEDDER, frame, oracle.detect(frame)), frame)
        for track_id, (x1, y1, x2, y2) in zip(tracks.track_id, tracks.xyxy.astype(np.float64), strict=True):
            rows.append((k, track_id, x1, y1, x2 - x1, y2 - y1))
    capture.release()
    assert k > 0, f"could not read {camera}.mp4"
    table = np.array(rows, dtype=np.float64).reshape(-1, 6)
    path = out / f"{camera}.txt"
    write_mot(path, MOTBoxes(table[:, 0], table[:, 1], table[:, 2:], np.ones(len(table))))
    return read_mot(path, ground_truth=False)


@pytest.mark.parametrize("camera", ["cam01", "cam02"])
def test_oracle_boxes_on_the_smoke_scene(smoke_scene: Path, tmp_path: Path, camera: str) -> None:
    predictions = track_camera(smoke_scene, camera, tmp_path)
    score = score_mot(
        read_mot(smoke_scene / "mot" / camera / "gt" / "gt.txt", ground_truth=True), predictions
    )
    assert score.idf1 >= 0.9, score
    assert score.num_switches <= 1, score
