"""``crosscam track``: detect and track the vehicles of one or more cameras, written as MOTChallenge rows.

Each camera runs in its own worker; a camera that fails while running stops alone and is reported, the
others finish and their results are written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from service.commands.errors import PARTIAL_FAILURE_EXIT, user_errors
from service.commands.options import (
    DetectorConfigOption,
    DetectorWeightsOption,
    EmbedderOption,
    ReidWeightsOption,
    TrackerConfigOption,
)
from service.ingest.config import DEFAULT_PROCESS_FPS


def track(
    video: Annotated[
        list[str], typer.Option(help="A video file or rtsp:// URL; repeat for several cameras.")
    ],
    out: Annotated[
        Path, typer.Option(help="Result file for one camera; a folder (one <camera>.txt each) for several.")
    ],
    camera_id: Annotated[
        list[str] | None, typer.Option(help="Camera ids, one per --video (default: the file names).")
    ] = None,
    weights: DetectorWeightsOption = None,
    detector_config: DetectorConfigOption = None,
    tracker_config: TrackerConfigOption = None,
    max_frames: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many frames (live streams).")
    ] = None,
    embedder: EmbedderOption = "colourhog",
    reid_weights: ReidWeightsOption = None,
    process_fps: Annotated[
        float | None,
        typer.Option(
            min=0.01,
            max=120,
            help="Frames per second of each camera to process (decimated at the source); "
            "default 10, the rate the tracker is tuned for; --all-frames processes every frame.",
        ),
    ] = DEFAULT_PROCESS_FPS,
    all_frames: Annotated[
        bool, typer.Option(help="Process every frame, whatever the source's rate.")
    ] = False,
    include_predicted: Annotated[
        bool, typer.Option(help="Also write tracks that were only predicted (no detection) in a frame.")
    ] = False,
) -> None:
    """Run detection -> appearance -> DeepSORT over each camera and write its tracks (MOTChallenge format)."""
    from export.spec import ModelFileError
    from models.reid.checkpoint import CheckpointError
    from service.embedders import EMBEDDER_KINDS, build_embedder
    from service.ingest import SourceConfig, SourceError, open_source
    from service.workers import CameraWorker, run_workers
    from trackers.config import ConfigError
    from trackers.deepsort import DeepSortConfig, DeepSortTracker
    from trackers.detection import DetectorConfig, DetectorError, YoloDetector
    from trackers.metrics import write_mot
    from trackers.pipeline import CameraPipeline, tracks_to_mot

    with user_errors(SourceError, DetectorError, ConfigError, CheckpointError, ModelFileError):
        ids = camera_id or [Path(v).stem for v in video]
        if len(ids) != len(video) or len(set(ids)) != len(ids):
            raise ConfigError(f"give one distinct --camera-id per --video; got {ids} for {len(video)} videos")
        # Everything that can be checked before starting is checked now, in one line each: source URLs and
        # files, then the configs and weights (a wrong path should not cost seconds of model loading first).
        sources = {
            cam: open_source(
                SourceConfig(camera_id=cam, url=url, process_fps=None if all_frames else process_fps)
            )
            for cam, url in zip(ids, video, strict=True)
        }
        det_cfg = DetectorConfig.from_yaml(detector_config, **({"weights": weights} if weights else {}))
        trk_cfg = DeepSortConfig.from_yaml(tracker_config)
        if embedder not in EMBEDDER_KINDS:
            raise ConfigError(f"--embedder {embedder!r} is not one of {', '.join(EMBEDDER_KINDS)}")
        # One embedder for all cameras: inference-only, so camera threads can share it.
        appearance = build_embedder(embedder, reid_weights)
        # Built here, before any camera starts, so bad weights fail at once; each camera gets its own detector
        # (ultralytics models are not safe to share between threads) and its own tracker (its own id space).
        pipelines = {
            cam: CameraPipeline(YoloDetector(det_cfg), appearance, DeepSortTracker(trk_cfg))
            for cam in sources
        }
        workers = [
            CameraWorker(cam, lambda s=source: s, lambda p=pipelines[cam]: p, max_frames)
            for cam, source in sources.items()
        ]
        statuses = run_workers(workers)
        targets = {ids[0]: out} if len(ids) == 1 else {cam: out / f"{cam}.txt" for cam in ids}
        table = Table(title="tracking")
        for column in ("camera", "state", "frames", "tracks", "frames/s", "result / error"):
            table.add_column(column)
        for worker, status in zip(workers, statuses, strict=True):
            rows = tracks_to_mot(worker.history, include_predicted)
            if status.state == "finished":
                targets[status.camera_id].parent.mkdir(parents=True, exist_ok=True)
                write_mot(targets[status.camera_id], rows)
            ms = worker.pipeline.times.mean_ms() if worker.pipeline else {}
            fps = f"{1000 / sum(ms.values()):.1f}" if ms and sum(ms.values()) > 0 else "-"
            table.add_row(
                status.camera_id,
                status.state,
                str(status.frames),
                str(len(set(rows.obj_id.tolist()))),
                fps,
                str(targets[status.camera_id]) if status.state == "finished" else str(status.error),
            )
    Console().print(table)
    if any(s.state != "finished" for s in statuses):
        raise typer.Exit(PARTIAL_FAILURE_EXIT)
