"""``crosscam run``: the whole pipeline over every camera of a scene, written as AI City MTMC predictions.

Detection -> appearance -> DeepSORT per camera, then tracklets -> online cross-camera association (and, with
``--refine``, the offline refinement) over all cameras in time order. Prints a summary; ``crosscam eval mtmc``
scores the written file against the scene's ``gt/gt.txt``.
"""

from __future__ import annotations

import json
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


def run(
    scene: Annotated[Path, typer.Option(help="Scene folder: camNN.mp4 videos, calibration/camNN.json.")],
    out: Annotated[Path, typer.Option(help="Prediction file (AI City MTMC format, all cameras).")],
    embedder: EmbedderOption = "reid",
    reid_weights: ReidWeightsOption = None,
    weights: DetectorWeightsOption = None,
    oracle: Annotated[
        bool,
        typer.Option(
            help="Use the scene's ground-truth boxes (mot/camNN/gt/gt.txt) instead of the detector, to measure "
            "tracking and association alone. Not a detector: never report these as detection results."
        ),
    ] = False,
    refine: Annotated[
        bool, typer.Option(help="Also run the offline refinement after the online pass.")
    ] = False,
    all_identities: Annotated[
        bool, typer.Option(help="Write every identity, not only those seen by two or more cameras.")
    ] = False,
    association_config: Annotated[Path | None, typer.Option(help="Association YAML.")] = None,
    tracklet_config: Annotated[Path | None, typer.Option(help="Tracklet builder YAML.")] = None,
    gallery_config: Annotated[Path | None, typer.Option(help="Gallery YAML.")] = None,
    tracker_config: TrackerConfigOption = None,
    detector_config: DetectorConfigOption = None,
    max_frames: Annotated[
        int | None, typer.Option(min=1, help="Stop each camera after this many frames.")
    ] = None,
    snapshot: Annotated[
        Path | None,
        typer.Option(help="Also save the association state (gallery, identities) to this folder."),
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Also write a JSON summary here.")] = None,
) -> None:
    """Track every camera of a scene and associate vehicles across cameras (AI City MTMC predictions)."""
    from export.spec import ModelFileError
    from models.reid.checkpoint import CheckpointError
    from service.embedders import EMBEDDER_KINDS, build_embedder
    from service.ingest import SourceError
    from service.scene_run import scene_videos, track_scene
    from trackers.association import AssociationConfig
    from trackers.calibration import CalibrationError
    from trackers.config import ConfigError
    from trackers.deepsort import DeepSortConfig
    from trackers.detection import DetectorConfig, DetectorError
    from trackers.gallery import GalleryConfig
    from trackers.metrics import FormatError, write_mtmc
    from trackers.multicam import mtmc_rows
    from trackers.refine import refine_identities
    from trackers.tracklets import TrackletConfig

    errors = (
        SourceError,
        DetectorError,
        ConfigError,
        CheckpointError,
        ModelFileError,
        CalibrationError,
        FormatError,
    )
    with user_errors(*errors):
        scene_videos(scene)  # a wrong folder fails first, before any model loads
        if embedder not in EMBEDDER_KINDS:
            raise ConfigError(f"--embedder {embedder!r} is not one of {', '.join(EMBEDDER_KINDS)}")
        assoc_cfg = AssociationConfig.from_yaml(association_config)
        tracklet_cfg = TrackletConfig.from_yaml(tracklet_config)
        gallery_cfg = GalleryConfig.from_yaml(gallery_config)
        trk_cfg = DeepSortConfig.from_yaml(tracker_config)
        overrides = {"weights": weights} if weights else {}
        det_cfg = None if oracle else DetectorConfig.from_yaml(detector_config, **overrides)
        appearance = build_embedder(embedder, reid_weights)
        result = track_scene(
            scene, appearance, det_cfg, trk_cfg, assoc_cfg, gallery_cfg, tracklet_cfg, max_frames
        )
        associator = result.association.associator
        gid_of = refine_identities(associator, assoc_cfg.refine) if refine else associator.gid_of
        rows = mtmc_rows(associator.tracklets.values(), gid_of, min_cameras=1 if all_identities else 2)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_mtmc(out, rows)
        if snapshot is not None:
            associator.snapshot(snapshot)
    summary = _summary(result, gid_of, rows, out, refine)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(summary, indent=2))
    _print(summary, result)
    if any(c.error for c in result.cameras.values()):
        raise typer.Exit(PARTIAL_FAILURE_EXIT)


def _summary(result, gid_of, rows, out: Path, refined: bool) -> dict:
    assoc = result.association.associator
    cams_of: dict[int, set[str]] = {}
    for (camera, _), gid in gid_of.items():
        cams_of.setdefault(gid, set()).add(camera)
    return {
        "predictions": str(out),
        "refined": refined,
        "tracklets": len(assoc.tracklets),
        "identities": len(cams_of),
        "identities_multi_camera": sum(len(c) >= 2 for c in cams_of.values()),
        "rows_written": len(rows),
        "wall_s": round(result.wall_s, 2),
        "camera_seconds_per_second": round(result.camera_seconds_per_second, 3),
        "cameras": {
            cam: {"frames": r.frames, "error": r.error, "stage_ms": r.stage_ms}
            for cam, r in result.cameras.items()
        },
        "topology": {f"{a}->{b}": v for (a, b), v in assoc.topology.learned_pairs().items()},
    }


def _print(summary: dict, result) -> None:
    console = Console()
    table = Table(title="cameras")
    for column in ("camera", "frames", "ms/frame (decode, detect, embed, track)", "error"):
        table.add_column(column)
    for cam, info in summary["cameras"].items():
        ms = info["stage_ms"]
        stages = ", ".join(f"{v:.1f}" for v in ms.values()) if ms else "-"
        table.add_row(cam, str(info["frames"]), stages, info["error"] or "")
    console.print(table)
    refined = " after refinement" if summary["refined"] else ""
    console.print(
        f"{summary['tracklets']} tracklets -> {summary['identities']} identities "
        f"({summary['identities_multi_camera']} seen by >= 2 cameras){refined}; "
        f"{summary['rows_written']} rows written to {summary['predictions']}"
    )
    console.print(
        f"wall {summary['wall_s']:.1f} s; {summary['camera_seconds_per_second']:.2f} camera-seconds of video "
        "per second"
    )
