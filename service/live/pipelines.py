"""What a live camera's pipeline is made of: the shipped detector, or a scene's ground truth for tests and
demos (replayed pass by pass when its file loops).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av

from service.scene_run import oracle_gt, pipeline_factory
from trackers.appearance import Embedder
from trackers.deepsort import DeepSortConfig
from trackers.detection import DetectorConfig
from trackers.pipeline import CameraPipeline, Detector
from trackers.types import Detections, Frame


def live_pipeline_factory(
    embedder: Embedder,
    tracker_config: DeepSortConfig,
    detector_config: DetectorConfig | None,
    oracle_scene: Path | None,
) -> Callable[[str], CameraPipeline]:
    """camera id -> its own pipeline (own detector and tracker, shared embedder), as ``crosscam run`` builds
    them. ``oracle_scene``: serve that scene's ground-truth boxes (``mot/<camera>/gt/gt.txt``) instead of
    detecting (``detector_config`` is then unused). Raises DetectorError / SourceError now."""
    # pipeline_factory reads its scene folder only for the ground truth of an oracle run.
    scene = oracle_scene if oracle_scene is not None else Path(".")
    return pipeline_factory(
        scene, embedder, tracker_config, None if oracle_scene is not None else detector_config
    )


def check_oracle_camera(oracle_scene: Path, camera_id: str) -> None:
    """Raise ValueError when the oracle scene has no ground truth for ``camera_id``."""
    if not oracle_gt(oracle_scene, camera_id).is_file():
        raise ValueError(
            f"camera {camera_id!r}: ground-truth boxes are served from {oracle_scene}, which has no "
            f"{oracle_gt(oracle_scene, camera_id).relative_to(oracle_scene)}; add one of that scene's cameras "
            "(camNN), or run without the oracle"
        )


class LoopedReplayDetector:
    """A detector for a file replayed in a loop: the source numbers frames on across passes (41, 42 ... for a
    40-frame file) while ground truth knows the file's frames 1..n, so frame k is looked up as frame
    ``(k - 1) % n + 1``; the detections keep the frame's own index."""

    def __init__(self, inner: Detector, frames_per_pass: int) -> None:
        if frames_per_pass < 1:
            raise ValueError(f"a replayed file has at least one frame, got {frames_per_pass}")
        self.inner = inner
        self.frames_per_pass = frames_per_pass

    def detect(self, frame: Frame) -> Detections:
        in_file = (frame.frame_index - 1) % self.frames_per_pass + 1
        found = self.inner.detect(Frame(frame.camera_id, in_file, frame.timestamp, frame.image))
        return Detections(
            frame.camera_id, frame.frame_index, found.xyxy, found.confidence, found.class_id, found.embeddings
        )


def count_video_frames(path: Path) -> int:
    """Frames in a video file: the container's count, or its video packets when it does not say."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.frames or sum(1 for packet in container.demux(stream) if packet.size)


def looped_replay(pipeline: CameraPipeline, video: Path) -> CameraPipeline:
    """``pipeline`` with its (ground-truth) detector reading ``video``'s frame numbers pass by pass."""
    detector = LoopedReplayDetector(pipeline.detector, count_video_frames(video))
    return CameraPipeline(detector, pipeline.embedder, pipeline.tracker)
