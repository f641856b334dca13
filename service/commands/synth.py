"""``crosscam synth``: generate a synthetic multi-camera scene with exact ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console

from service.commands.errors import user_errors
from synth.config import ConfigError, available_presets, load_scene_config
from synth.scene import SceneExistsError, generate_scene


def synth(
    out: Annotated[Path | None, typer.Option("--out", help="Scene folder to create.")] = None,
    preset: Annotated[str, typer.Option(help=f"Scene preset: {', '.join(available_presets())}.")] = "default",
    seed: Annotated[int | None, typer.Option(help="Random seed (overrides the preset's).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="YAML file of keys to override.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override one key, e.g. --set traffic.spawn_rate_hz=0.1."),
    ] = None,
    smoke: Annotated[bool, typer.Option("--smoke", help="A few seconds of video, for tests.")] = False,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Processes rendering cameras (default: cores).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty --out folder.")] = False,
    show_config: Annotated[
        bool, typer.Option("--show-config", help="Print the resolved config and exit.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
) -> None:
    """Generate a synthetic multi-camera traffic scene: videos, calibration and exact ground truth."""
    with user_errors(ConfigError, SceneExistsError):
        cfg = load_scene_config(preset, config, set_ or [], seed, smoke)
        if show_config:
            typer.echo(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
            return
        if out is None:
            raise ConfigError("--out is required: the folder to write the scene into")
        record = generate_scene(cfg, out, workers=workers, progress=not quiet, force=force)
    counts = record["counts"]
    console = Console()
    console.print(
        f"[bold]{out}[/]: preset {cfg.preset}, seed {cfg.seed}, {len(cfg.cameras)} cameras x "
        f"{counts['frames_per_camera']} frames, {counts['identities_visible']} identities "
        f"({counts['identities_multi_camera']} in >= 2 cameras), {counts['gt_boxes_all']} boxes, "
        f"generated in {record['generation_seconds']} s"
    )
    console.print(f"contact sheet: {out / 'contact_sheet.png'}")
