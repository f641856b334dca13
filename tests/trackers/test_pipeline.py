"""The per-camera pipeline on a synthetic scene, with oracle detections so the test does not need weights."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from trackers.appearance import ColourHogEmbedder
from trackers.deepsort import DeepSortConfig, DeepSortTracker
from trackers.metrics import read_mot, score_mot
from trackers.oracle import GroundTruthDetector
from trackers.pipeline import STAGES, CameraPipeline, tracks_to_mot
from trackers.types import Frame


def frames(video: Path, camera: str):
    cap = cv2.VideoCapture(str(video))
    index = 0
    while True:
        ok, image = cap.read()
        if not ok:
            return
        index += 1
        yield Frame(camera, index, (index - 1) / 10.0, image)


def test_pipeline_tracks_a_camera_and_times_every_stage(smoke_scene: Path) -> None:
    gt_path = smoke_scene / "mot" / "cam02" / "gt" / "gt.txt"
    pipeline = CameraPipeline(
        GroundTruthDetector(gt_path, jitter=0.02, seed=1),
        ColourHogEmbedder(),
        DeepSortTracker(DeepSortConfig.from_yaml()),
    )
    history = []
    for frame, detections, tracks in pipeline.run(frames(smoke_scene / "cam02.mp4", "cam02")):
        assert tracks.camera_id == "cam02" and tracks.frame_index == frame.frame_index
        assert detections.embeddings is not None and detections.embeddings.shape[0] == len(detections)
        history.append((detections, tracks))
    assert len(history) == 40 and pipeline.times.frames == 40
    assert set(pipeline.times.mean_ms()) == set(STAGES)
    assert all(ms >= 0 for ms in pipeline.times.mean_ms().values())
    rows = tracks_to_mot(history)
    score = score_mot(read_mot(gt_path, ground_truth=True), rows)
    assert score.idf1 >= 0.85 and score.num_switches <= 1
    # Predicted-only boxes are left out by default and added on request.
    assert len(tracks_to_mot(history, include_predicted=True)) >= len(rows)


def test_tracks_to_mot_of_nothing_is_empty() -> None:
    assert len(tracks_to_mot([])) == 0


@pytest.mark.parametrize("include_predicted", [False, True])
def test_rows_carry_their_detection_confidence(smoke_scene: Path, include_predicted: bool) -> None:
    gt_path = smoke_scene / "mot" / "cam01" / "gt" / "gt.txt"
    pipeline = CameraPipeline(
        GroundTruthDetector(gt_path), ColourHogEmbedder(), DeepSortTracker(DeepSortConfig.from_yaml())
    )
    history = [(d, t) for _, d, t in pipeline.run(frames(smoke_scene / "cam01.mp4", "cam01"))]
    rows = tracks_to_mot(history, include_predicted)
    assert ((rows.confidence > 0) & (rows.confidence <= 1)).all()
