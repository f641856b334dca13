"""The whole pipeline over every camera of a scene folder, time-synchronised: what ``crosscam run`` does.

Each camera's perception (decode -> detect -> embed -> track) runs in its own thread and hands its per-frame
results through a bounded queue; the main thread merges the cameras by timestamp and feeds the tracklet
builders and the associator in that order, so association is online exactly as it would be live. A camera that
fails stops alone (its error is reported); the others finish and their tracklets are kept.

Scene layout read here: ``camNN.mp4`` (one per camera), optional ``calibration/camNN.json`` (ground
homographies) and, for ``oracle`` runs, ``mot/camNN/gt/gt.txt``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from service.embedders import embedding_dim
from service.ingest import SourceConfig, SourceError, open_source, probe_video
from trackers.appearance import Embedder
from trackers.association import AssociationConfig, Associator
from trackers.calibration import load_ground_planes
from trackers.deepsort import DeepSortConfig, DeepSortTracker
from trackers.detection import DetectorConfig, YoloDetector
from trackers.gallery import GalleryConfig
from trackers.multicam import MultiCameraAssociation, merge_in_time
from trackers.oracle import GroundTruthDetector
from trackers.pipeline import CameraPipeline
from trackers.tracklets import TrackletBuilder, TrackletConfig
from trackers.types import Detections, Tracks

VIDEO_PATTERN = "cam*.mp4"
# Frames a camera thread may run ahead of the slowest camera: bounds memory, keeps the cameras in step.
QUEUE_FRAMES = 32


@dataclass(frozen=True)
class _FrameResult:
    timestamp: float
    detections: Detections
    tracks: Tracks


@dataclass
class CameraReport:
    camera_id: str
    frames: int = 0
    seconds_of_video: float = 0.0
    error: str | None = None
    stage_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class SceneRun:
    """What a run produced: the association state, per-camera reports, and the wall time (s)."""

    association: MultiCameraAssociation
    cameras: dict[str, CameraReport]
    wall_s: float

    @property
    def camera_seconds_per_second(self) -> float:
        """Seconds of camera video processed per second of wall time, summed over cameras."""
        return sum(c.seconds_of_video for c in self.cameras.values()) / max(self.wall_s, 1e-9)


def scene_videos(scene_dir: Path) -> dict[str, Path]:
    """camera id -> video file of a scene folder (``camNN.mp4``), in name order."""
    scene_dir = Path(scene_dir)
    if not scene_dir.is_dir():
        raise SourceError(f"{scene_dir}: no such scene folder; pass a folder made by `crosscam synth`")
    videos = {p.stem: p for p in sorted(scene_dir.glob(VIDEO_PATTERN))}
    if not videos:
        raise SourceError(
            f"{scene_dir}: no {VIDEO_PATTERN} videos; pass a scene folder made by `crosscam synth`"
        )
    return videos


def oracle_gt(scene_dir: Path, camera_id: str) -> Path:
    """The ground-truth file ``--oracle`` runs serve as detections."""
    return Path(scene_dir) / "mot" / camera_id / "gt" / "gt.txt"


def camera_pipeline(
    camera_id: str,
    appearance: Embedder,
    tracker_config: DeepSortConfig,
    detector_config: DetectorConfig | None,
    ground_truth: Path | None = None,
) -> CameraPipeline:
    """One camera's pipeline: its own detector (or, with ``ground_truth``, that MOTChallenge gt.txt's boxes;
    ``detector_config`` is then unused) and tracker, the shared ``appearance`` embedder."""
    if ground_truth is not None:
        detector = GroundTruthDetector(ground_truth, camera_id)
    elif detector_config is not None:
        detector = YoloDetector(detector_config)
    else:
        raise ValueError(f"camera {camera_id}: a pipeline needs a detector config or a ground-truth file")
    return CameraPipeline(detector, appearance, DeepSortTracker(tracker_config))


def pipeline_factory(
    scene_dir: Path,
    appearance: Embedder,
    tracker_config: DeepSortConfig,
    detector_config: DetectorConfig | None,
) -> Callable[[str], CameraPipeline]:
    """camera id -> its own pipeline (``camera_pipeline``). ``detector_config`` None: the scene's
    ground-truth boxes stand in for the detector (an oracle, to measure association alone).
    Raises DetectorError / SourceError now, not inside the camera threads."""
    if detector_config is None:
        missing = [c for c in scene_videos(scene_dir) if not oracle_gt(scene_dir, c).is_file()]
        if missing:
            raise SourceError(
                f"an oracle run needs {scene_dir}/mot/<camera>/gt/gt.txt; missing for {missing}"
            )
        return lambda cam: camera_pipeline(cam, appearance, tracker_config, None, oracle_gt(scene_dir, cam))
    YoloDetector(detector_config)  # bad weights fail here, in one line
    return lambda cam: camera_pipeline(cam, appearance, tracker_config, detector_config)


def describe_error(exc: BaseException) -> str:
    """An operator-facing one-line reason a camera failed: our own ValueErrors already read as one (they
    name the problem and the fix); others get their type."""
    return str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"


def _perceive(
    camera_id: str, video: Path, make_pipeline: Callable[[str], CameraPipeline], out: queue.Queue,
    report: CameraReport, max_frames: int | None, stop: threading.Event,
) -> None:  # fmt: skip
    """Thread body: run one camera and put each frame's result on ``out``; None ends the stream."""
    try:
        pipeline = make_pipeline(camera_id)
        with open_source(SourceConfig(camera_id=camera_id, url=str(video))) as source:
            for frame, detections, tracks in pipeline.run(source.frames()):
                if stop.is_set():
                    return
                out.put(_FrameResult(frame.timestamp, detections, tracks))
                report.frames += 1
                if max_frames is not None and report.frames >= max_frames:
                    break
        report.stage_ms = pipeline.times.mean_ms()
    except Exception as exc:  # one camera's failure must not stop the others: record it and end this one
        report.error = describe_error(exc)
    finally:
        out.put(None)


def _drain(q: queue.Queue) -> Iterator[_FrameResult]:
    while (item := q.get()) is not None:
        yield item


def run_scene(
    scene_dir: Path,
    make_pipeline: Callable[[str], CameraPipeline],
    associator: Associator,
    tracklet_config: TrackletConfig | None = None,
    max_frames: int | None = None,
    progress: bool = True,
) -> SceneRun:
    """Run every camera of ``scene_dir`` through ``make_pipeline(camera_id)`` and associate across cameras."""
    videos = scene_videos(scene_dir)
    planes = load_ground_planes(Path(scene_dir) / "calibration", list(videos))
    infos = {cam: probe_video(path) for cam, path in videos.items()}
    tracklet_config = tracklet_config or TrackletConfig.from_yaml()
    builders = {
        cam: TrackletBuilder(cam, info.size, tracklet_config, planes.get(cam)) for cam, info in infos.items()
    }
    multicam = MultiCameraAssociation(builders, associator)
    reports = {cam: CameraReport(cam) for cam in videos}
    queues = {cam: queue.Queue(maxsize=QUEUE_FRAMES) for cam in videos}
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_perceive, args=(cam, videos[cam], make_pipeline, queues[cam], reports[cam], max_frames, stop),
            name=f"camera-{cam}", daemon=True,
        )
        for cam in videos
    ]  # fmt: skip
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    try:
        with tqdm(unit="frame", desc="cameras", disable=not progress) as bar:
            streams = {cam: _drain(q) for cam, q in queues.items()}
            for cam, result in merge_in_time(streams, lambda r: r.timestamp):
                multicam.update(cam, result.timestamp, result.detections, result.tracks)
                bar.update()
        multicam.finish()
    finally:
        stop.set()
        for q in queues.values():  # unblock producers waiting on a full queue
            while not q.empty():
                q.get_nowait()
        for thread in threads:
            thread.join(timeout=5)
    wall = time.perf_counter() - start
    for cam, report in reports.items():
        report.seconds_of_video = report.frames / infos[cam].fps if infos[cam].fps else 0.0
    return SceneRun(multicam, reports, wall)


def track_scene(
    scene_dir: Path,
    appearance: Embedder,
    detector_config: DetectorConfig | None,
    tracker_config: DeepSortConfig,
    association_config: AssociationConfig,
    gallery_config: GalleryConfig | None = None,
    tracklet_config: TrackletConfig | None = None,
    max_frames: int | None = None,
    progress: bool = True,
) -> SceneRun:
    """The whole pipeline over a scene with these settings: per-camera pipelines (``pipeline_factory``;
    ``detector_config`` None = ground-truth boxes), a fresh ``Associator``, ``run_scene``."""
    make_pipeline = pipeline_factory(scene_dir, appearance, tracker_config, detector_config)
    associator = Associator(embedding_dim(appearance), association_config, gallery_config)
    return run_scene(scene_dir, make_pipeline, associator, tracklet_config, max_frames, progress)
