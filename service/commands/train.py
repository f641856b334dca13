"""``crosscam train``: train the models this repository ships (the detector; the Re-ID model is ``crosscam reid``)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from service.commands.errors import user_errors

app = typer.Typer(help="Train the models crosscam ships.", no_args_is_help=True)

SHIPPED_DETECTOR = Path("models/weights/detector_yolov8n.pt")


@app.command()
def detector(
    train_scene: Annotated[
        list[Path] | None,
        typer.Option("--train-scene", help="Town scene folder (crosscam synth) to train on; repeat it."),
    ] = None,
    val_scene: Annotated[
        list[Path] | None,
        typer.Option("--val-scene", help="Held-out town scene folder (other seeds) to score on; repeat it."),
    ] = None,
    teacher: Annotated[
        Path | None,
        typer.Option(
            help="Real-footage mode: teacher detection weights (any ultralytics format, e.g. COCO)."
        ),
    ] = None,
    real: Annotated[
        list[Path] | None,
        typer.Option(
            "--real", help="Real-footage mode: a clip, or a folder of clips, to pseudo-label; repeat it."
        ),
    ] = None,
    init: Annotated[
        Path, typer.Option(help="Real-footage mode: weights the student starts from.")
    ] = SHIPPED_DETECTOR,
    gold: Annotated[
        list[Path] | None,
        typer.Option(
            "--gold",
            help="Gold set (images/ + labels.csv) to score the result on, never trained on; repeat it.",
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="Real-footage mode: distillation YAML (default: the shipped one).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Real-footage mode: override a config key (dotted.key=value)."),
    ] = None,
    smoke: Annotated[
        bool, typer.Option("--smoke", help="Real-footage mode: tiny sizes that run in seconds.")
    ] = False,
    out: Annotated[
        Path, typer.Option(help="Where to write the weights (+ a .json manifest beside them).")
    ] = SHIPPED_DETECTOR,
    workdir: Annotated[Path, typer.Option(help="Working folder (data set, ultralytics run).")] = Path(
        "runs/train/detector"
    ),
    epochs: Annotated[int, typer.Option(min=1, help="Town-only mode: training epochs.")] = 60,
    time_hours: Annotated[
        float | None, typer.Option(min=0.01, help="Town-only mode: wall-time budget (h); overrides --epochs.")
    ] = None,
    imgsz: Annotated[int, typer.Option(min=64, help="Town-only mode: training image size (px).")] = 416,
    batch: Annotated[int, typer.Option(min=1, help="Town-only mode: images per batch.")] = 16,
    seed: Annotated[int, typer.Option(help="Town-only mode: training seed.")] = 0,
    device: Annotated[str, typer.Option(help="Town-only mode: cpu, or cuda for the first GPU.")] = "cpu",
) -> None:
    """Train the vehicle detector.

    Town-only mode (``--train-scene``/``--val-scene``): YOLOv8n from scratch on synthetic frames.
    Real-footage mode (``--teacher`` and ``--real``): the teacher pseudo-labels real clips (tiled, cleaned
    with time and the fixed camera), the town's exact labels are mixed in (``--train-scene``; scored on
    ``--val-scene``), and the student trains from ``--init``. No hand label is used.
    """
    from export.yolo import DetectorError
    from models.detector import TrainingDataError, train_detector
    from models.distill.clips import ClipError
    from models.distill.config import ConfigError, load_distill_config
    from models.distill.dataset import DatasetError
    from models.distill.labelling import DistillDataError
    from models.distill.run import distill_detector
    from trackers.metrics.gold import GoldSetError

    command = "crosscam " + shlex.join(sys.argv[1:])
    errors = (
        TrainingDataError,
        DetectorError,
        ClipError,
        ConfigError,
        DatasetError,
        DistillDataError,
        GoldSetError,
    )
    with user_errors(*errors):
        gold_sets = _gold_sets(gold or [])
        if (teacher is None) != (not real):
            raise DistillDataError("real-footage mode needs both --teacher WEIGHTS and --real CLIP_OR_DIR")
        if teacher is not None:
            cfg = load_distill_config(config, set_, smoke)
            manifest = distill_detector(
                teacher, real or [], train_scene or [], val_scene or [], init, out, cfg, command, workdir
            )
        else:
            if not train_scene or not val_scene:
                raise TrainingDataError(
                    "town-only mode needs --train-scene and --val-scene (or use --teacher/--real)"
                )
            manifest = train_detector(
                train_scene, val_scene, out, command, epochs, imgsz, batch, time_hours, seed, device, workdir
            )
        if gold_sets:
            manifest = _add_gold_scores(out, gold_sets)
    Console().print(
        f"weights: {out} ({manifest['size_bytes'] / 1e6:.1f} MB); manifest: {out.with_suffix('.json')}"
    )


def _gold_sets(folders: list[Path]):
    from trackers.metrics.gold import read_gold_set

    return [read_gold_set(f) for f in folders]


def _add_gold_scores(weights: Path, gold_sets: list) -> dict:
    """Score ``weights`` through the shipped detector config (its imgsz and confidence) on each gold set,
    print a table, and record the scores in the manifest."""
    from service.commands.eval import gold_scores, record_gold_scores
    from trackers.detection import DetectorConfig

    config = DetectorConfig.from_yaml(weights=weights.resolve(), device="cpu")
    return record_gold_scores(weights, gold_scores(config, gold_sets))
