"""``crosscam track``: detect and track the vehicles of one camera, written as MOTChallenge rows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from service.commands.errors import user_errors


def track(
    video: Annotated[str, typer.Option(help="A video file, or an rtsp:// URL.")],
    out: Annotated[
        Path, typer.Option(help="MOTChallenge result file to write (frame,id,x,y,w,h,conf,-1,-1,-1).")
    ],
    camera_id: Annotated[str | None, typer.Option(help="Camera id (default: the video's file name).")] = None,
    weights: Annotated[
        Path | None, typer.Option(help="Detector weights (default: the shipped model).")
    ] = None,
    detector_config: Annotated[
        Path | None, typer.Option(help="Detector YAML (default: the shipped one).")
    ] = None,
    tracker_config: Annotated[
        Path | None, typer.Option(help="DeepSORT YAML (default: the shipped one).")
    ] = None,
    max_frames: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many frames (live streams).")
    ] = None,
    include_predicted: Annotated[
        bool, typer.Option(help="Also write tracks that were only predicted (no detection) in a frame.")
    ] = False,
) -> None:
    """Run detection -> appearance -> DeepSORT over one camera and write its tracks."""
    from itertools import islice

    from service.ingest import SourceConfig, SourceError, open_source
    from trackers.appearance import ColourHogEmbedder
    from trackers.config import ConfigError
    from trackers.deepsort import DeepSortConfig, DeepSortTracker
    from trackers.detection import DetectorConfig, DetectorError, YoloDetector
    from trackers.metrics import write_mot
    from trackers.pipeline import CameraPipeline, tracks_to_mot

    with user_errors(SourceError, DetectorError, ConfigError):
        # The source first: a wrong path or URL is reported before seconds go into loading a model.
        source = open_source(SourceConfig(camera_id=camera_id or Path(video).stem, url=video))
        overrides = {"weights": weights} if weights else {}
        detector = YoloDetector(DetectorConfig.from_yaml(detector_config, **overrides))
        tracker = DeepSortTracker(DeepSortConfig.from_yaml(tracker_config))
        pipeline = CameraPipeline(detector, ColourHogEmbedder(), tracker)
        with source:
            history = [(d, t) for _, d, t in pipeline.run(islice(source.frames(), max_frames))]
        out.parent.mkdir(parents=True, exist_ok=True)
        rows = tracks_to_mot(history, include_predicted)
        write_mot(out, rows)
    ms = pipeline.times.mean_ms()
    total = sum(ms.values())
    Console().print(
        f"{out}: {len(history)} frames, {len(set(rows.obj_id.tolist()))} tracks, {len(rows)} boxes; "
        f"ms/frame {ms} -> {1000 / max(total, 1e-9):.1f} frames/s"
    )
