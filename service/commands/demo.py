"""``crosscam demo``: the main job on the embedded default (the synthetic town), end to end, then the service.

Generates the default scene (reused when it already exists with the same config), runs every camera through
the shipped detector, the trained Re-ID embedder and DeepSORT, associates vehicles across cameras online (and
refines offline), writes AI City predictions and prints their MTMC score against the scene's ground truth.
Then, unless ``--no-serve``, it serves the same scene replayed as live cameras (real time, looped) through the
REST API and the operator page, with the in-memory store, until Ctrl-C (or ``--serve-seconds``).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from service.commands.errors import user_errors
from service.commands.options import EmbedderOption
from service.commands.serve import (
    ServeError,
    bind_listener,
    load_settings,
    run_service,
    scene_cameras,
    start_and_report,
)
from synth.config import ConfigError, load_scene_config
from synth.scene import generate_scene, scene_matches
from trackers.metrics import FormatError, read_mtmc, score_mtmc

if TYPE_CHECKING:
    from service.settings import ServiceSettings
    from trackers.appearance import Embedder


def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo's scene and results.")] = Path(
        "runs/demo"
    ),
    preset: Annotated[str, typer.Option(help="Scene preset.")] = "default",
    seed: Annotated[int, typer.Option(help="Scene seed.")] = 0,
    smoke: Annotated[bool, typer.Option("--smoke", help="A few seconds of video, for tests.")] = False,
    embedder: EmbedderOption = "reid",
    serve: Annotated[
        bool, typer.Option(help="Then serve the scene as live cameras (API, operator page) until Ctrl-C.")
    ] = True,
    port: Annotated[int, typer.Option(help="TCP port of the service (on CROSSCAM_HOST, 127.0.0.1).")] = 8080,
    serve_seconds: Annotated[
        float | None, typer.Option(min=0, help="Stop the service after this many seconds (tests, CI).")
    ] = None,
) -> None:
    """Generate the default synthetic multi-camera town, track it end to end, print the MTMC result, then
    serve it live."""
    from service.embedders import build_embedder
    from service.ingest import SourceError
    from service.scene_run import track_scene
    from trackers.association import AssociationConfig
    from trackers.deepsort import DeepSortConfig
    from trackers.detection import DetectorConfig, DetectorError
    from trackers.metrics import write_mtmc
    from trackers.multicam import mtmc_rows
    from trackers.refine import refine_identities

    console = Console()
    scene_dir = out / "scene"
    listener = None
    with user_errors(ConfigError, FormatError, SourceError, DetectorError, ServeError):
        if serve:  # the port is checked first, not after minutes of tracking
            settings = load_settings(port=port, embedder=embedder)
            listener = bind_listener(settings.host, settings.port)
        cfg = load_scene_config(preset, seed=seed, smoke=smoke)
        if scene_matches(scene_dir, cfg):
            console.print(f"reusing the scene in {scene_dir} (same config)")
        else:
            console.print(f"generating the {preset} scene (seed {seed}) into {scene_dir} ...")
            generate_scene(cfg, scene_dir, force=True)
        gt = read_mtmc(scene_dir / "gt" / "gt.txt", ground_truth=True)
        console.print(f"tracking {len(cfg.cameras)} cameras (detector, {embedder} embedder, DeepSORT) ...")
        appearance = build_embedder(embedder)
        association = AssociationConfig.from_yaml()
        result = track_scene(
            scene_dir, appearance, DetectorConfig.from_yaml(), DeepSortConfig.from_yaml(), association
        )
        associator = result.association.associator
        tracklets = list(associator.tracklets.values())
        results = {}
        for mode, gid_of in (
            ("online", associator.gid_of),
            ("refined", refine_identities(associator, association.refine)),
        ):
            rows = mtmc_rows(tracklets, gid_of)
            write_mtmc(out / f"pred_{mode}.txt", rows)
            results[mode] = score_mtmc(gt, rows)
    counts = json.loads((scene_dir / "scene.json").read_text())["counts"]
    table = Table(
        title=f"MTMC result, {preset} scene (seed {seed}), {embedder} embedder: all cameras, CityFlow protocol"
    )
    for column in ("association", "IDF1", "IDP", "IDR", "MOTA", "pred ids", "gt ids"):
        table.add_column(column, justify="right")
    for mode, score in results.items():
        table.add_row(
            mode, f"{score.idf1:.4f}", f"{score.idp:.4f}", f"{score.idr:.4f}", f"{score.mota:.4f}",
            str(score.num_pred_ids), str(score.num_gt_ids),
        )  # fmt: skip
    console.print(table)
    console.print(
        f"{len(cfg.cameras)} cameras, {counts['identities_multi_camera']} vehicles seen by >= 2 cameras; "
        f"{len(tracklets)} tracklets; {result.camera_seconds_per_second:.2f} camera-seconds of video per second "
        f"({result.wall_s:.0f} s)"
    )
    console.print(f"scene: {scene_dir}  (videos camNN.mp4, gt/gt.txt, contact_sheet.png)")
    console.print(f"predictions: {out / 'pred_online.txt'}, {out / 'pred_refined.txt'}  (crosscam eval mtmc)")
    if listener is not None:
        with user_errors(ServeError, DetectorError):
            _serve_live(scene_dir, settings, listener, appearance, serve_seconds, console)


def _serve_live(
    scene_dir: Path,
    settings: ServiceSettings,
    listener: socket.socket,
    appearance: Embedder,
    serve_seconds: float | None,
    console: Console,
) -> None:
    """The scene's cameras replayed live (real time, looped) into an in-memory store, served until stopped."""
    from service.live import LiveRuntime
    from service.store import MemoryStore
    from trackers.detection import DetectorConfig

    cameras = scene_cameras(scene_dir)
    store = MemoryStore()
    runtime = LiveRuntime(
        store, settings, embedder=appearance, detector_config=DetectorConfig.from_yaml(), loop=True
    )
    for camera in cameras:
        store.put_camera(camera)
    console.print(
        f"serving the scene live: {len(cameras)} cameras replayed in real time, looped; in-memory store"
    )
    start_and_report(runtime, cameras)
    run_service(settings, store, runtime, listener, stop_after_s=serve_seconds)
