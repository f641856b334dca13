"""``crosscam reid``: the Re-ID model's stages (METHOD.md): segment, pretrain, train, eval."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from service.commands.errors import user_errors

app = typer.Typer(help="Train and evaluate the Re-ID embedder (METHOD.md).", no_args_is_help=True)

DataOption = Annotated[
    Path,
    typer.Option("--data", help="Re-ID set in VeRi-776 layout (a synth scene's reid/ or a real VeRi-776)."),
]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Re-ID YAML config (default: models/reid/configs/reid.yaml).")
]
SetOption = Annotated[
    list[str] | None, typer.Option("--set", help="Override a config key: dotted.key=value; repeat it.")
]
SmokeOption = Annotated[bool, typer.Option("--smoke", help="Tiny sizes that run in seconds (tests).")]
SegmentsOption = Annotated[
    Path | None, typer.Option("--segments", help="Stage-1 cache (.npz) written by crosscam reid segment.")
]
ProgressOption = Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress bars.")]


def _errors():
    from models.reid.checkpoint import CheckpointError
    from models.reid.config import ConfigError
    from models.reid.data import DatasetError
    from models.reid.segment_cache import SegmentCacheError
    from models.reid.segmenters import SegmenterError

    return user_errors(ConfigError, DatasetError, SegmenterError, SegmentCacheError, CheckpointError)


def _config(config: Path | None, overrides: list[str] | None, smoke: bool, extra: list[str] | None = None):
    from models.reid.config import load_reid_config

    return load_reid_config(config, [*(overrides or []), *(extra or [])], smoke)


@app.command()
def segment(
    data: DataOption,
    out: Annotated[Path, typer.Option(help="Cache file to write (.npz).")] = Path("runs/reid/segments.npz"),
    config: ConfigOption = None,
    set_: SetOption = None,
    smoke: SmokeOption = False,
    progress: ProgressOption = True,
) -> None:
    """Stage 1: vehicle/background patch masks of the training crops (segmenter + Eq. 1-2 refinement)."""
    from models.reid.stages import run_segment

    with _errors():
        cfg = _config(config, set_, smoke)
        cache = run_segment(cfg, data, out, progress)
    changed = float((cache.raw != cache.refined).mean())
    Console().print(
        f"segments: {out} ({len(cache.names)} crops, segmenter {cache.segmenter}, refined with {cache.features} "
        f"features; {changed:.1%} of patches changed by the refinement; mean background ratio "
        f"{cache.background_ratio.mean():.3f})"
    )


@app.command()
def pretrain(
    data: DataOption,
    masking: Annotated[str, typer.Option(help="sam (vehicle patches only) or random (plain MAE).")] = "sam",
    segments: SegmentsOption = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("runs/reid/pretrain"),
    config: ConfigOption = None,
    set_: SetOption = None,
    smoke: SmokeOption = False,
    progress: ProgressOption = True,
) -> None:
    """Stage 2: MAE pre-training; writes pretrain.pt, pretrain_loss.png and reconstructions.png."""
    from models.reid.stages import run_pretrain

    with _errors():
        cfg = _config(config, set_, smoke, [f"pretrain.masking={masking}"])
        result = run_pretrain(cfg, data, segments, out, progress)
    Console().print(f"checkpoint: {result.checkpoint}; reconstructions: {out / 'reconstructions.png'}")


@app.command()
def train(
    data: DataOption,
    init: Annotated[
        Path | None,
        typer.Option("--init", help="Pre-trained checkpoint (crosscam reid pretrain); none = random."),
    ] = None,
    segments: SegmentsOption = None,
    meta: Annotated[bool, typer.Option("--meta/--no-meta", help="Background-aware meta-learning.")] = True,
    eval_data: Annotated[
        Path | None, typer.Option("--eval-data", help="VeRi-layout set whose query/gallery score each epoch.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("runs/reid/train"),
    config: ConfigOption = None,
    set_: SetOption = None,
    smoke: SmokeOption = False,
    progress: ProgressOption = True,
) -> None:
    """Stage 3: unsupervised training on DBSCAN pseudo-labels; writes reid.pt and loss/mAP curves."""
    from models.reid.stages import run_train

    with _errors():
        cfg = _config(config, set_, smoke, [f"train.meta={str(meta).lower()}"])
        result = run_train(cfg, data, init, segments, out, eval_data, progress)
    summary = f"checkpoint: {result.checkpoint} ({result.seconds:.0f} s)"
    if result.final_eval:
        summary += f"; mAP {result.final_eval['mAP']:.3f}, Rank-1 {result.final_eval['rank1']:.3f}"
    Console().print(summary)


@app.command()
def ship(
    weights: Annotated[Path, typer.Option("--weights", help="Trained checkpoint (crosscam reid train).")],
    eval_data: Annotated[
        Path, typer.Option("--eval-data", help="Held-out VeRi-layout set for the manifest.")
    ],
    train_command: Annotated[
        str, typer.Option(help="The command that trained the checkpoint (for the manifest).")
    ],
    out: Annotated[Path, typer.Option(help="Weights file to write.")] = Path("models/weights/reid_vit.pt"),
) -> None:
    """Ship a trained model: encoder + neck only, with a manifest (sha256, command, held-out figures)."""
    import shlex
    import sys

    from models.reid.release import ship_reid_weights

    with _errors():
        manifest = ship_reid_weights(
            weights, out, eval_data, train_command, "crosscam " + shlex.join(sys.argv[1:])
        )
    m = manifest["metrics_on_eval_data"]
    Console().print(
        f"weights: {out} ({manifest['size_bytes'] / 1e6:.1f} MB); held-out mAP {m['mAP']:.3f}, Rank-1 {m['rank1']:.3f}"
    )


@app.command("eval")
def evaluate(
    weights: Annotated[Path, typer.Option("--weights", help="Re-ID checkpoint (.pt).")],
    data: DataOption,
    config: ConfigOption = None,
    set_: SetOption = None,
    out: Annotated[Path | None, typer.Option(help="Also write the figures as JSON here.")] = None,
) -> None:
    """mAP and CMC (Rank-1/5/10) on a VeRi-layout query/gallery, cross-camera protocol."""
    from models.reid.stages import run_eval

    with _errors():
        cfg = _config(config, set_, False)
        result = run_eval(weights, data, cfg, progress=False)
    figures = result.as_dict()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(figures, indent=2))
    Console().print(
        f"mAP {result.mAP:.4f}  Rank-1 {result.rank1:.4f}  Rank-5 {result.rank5:.4f}  Rank-10 {result.rank10:.4f}"
        f"  ({result.n_queries} queries, {result.n_skipped} without a cross-camera match)"
    )
