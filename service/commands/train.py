"""``crosscam train``: train the models this repository ships (the detector now; the Re-ID model later)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from service.commands.errors import user_errors

app = typer.Typer(help="Train the models crosscam ships.", no_args_is_help=True)


@app.command()
def detector(
    train_scene: Annotated[
        list[Path],
        typer.Option("--train-scene", help="Scene folder (crosscam synth) to train on; repeat it."),
    ],
    val_scene: Annotated[
        list[Path],
        typer.Option("--val-scene", help="Held-out scene folder (other seeds) for mAP; repeat it."),
    ],
    out: Annotated[
        Path, typer.Option(help="Where to write the weights (+ a .json manifest beside them).")
    ] = Path("models/weights/detector_yolov8n.pt"),
    epochs: Annotated[int, typer.Option(min=1, help="Training epochs.")] = 60,
    time_hours: Annotated[
        float | None, typer.Option(min=0.01, help="Wall-time budget (h); overrides --epochs when given.")
    ] = None,
    imgsz: Annotated[int, typer.Option(min=64, help="Training image size (px), a multiple of 32.")] = 416,
    batch: Annotated[int, typer.Option(min=1, help="Images per batch.")] = 16,
    seed: Annotated[int, typer.Option(help="Training seed.")] = 0,
    device: Annotated[str, typer.Option(help="cpu, or cuda for the first GPU.")] = "cpu",
) -> None:
    """Train YOLOv8n from scratch on synthetic-town frames and write the weights with their manifest."""
    from models.detector import TrainingDataError, train_detector

    command = "crosscam " + shlex.join(sys.argv[1:])
    with user_errors(TrainingDataError):
        manifest = train_detector(
            train_scene, val_scene, out, command, epochs, imgsz, batch, time_hours, seed, device=device
        )
    Console().print(
        f"weights: {out} ({manifest['size_bytes'] / 1e6:.1f} MB), metrics: {manifest['metrics_on_val_scenes']}"
    )
