"""`crosscam eval`: score tracking results against ground truth.

- ``mtmc``: one AI City MTMC file per side, all cameras scored jointly (IDF1 over all cameras).
- ``mot``: MOTChallenge files, one camera (a file pair) or many (a MOTChallenge gt folder
  ``<gt>/<cam>/gt/gt.txt`` against a prediction folder ``<pred>/<cam>.txt``), with HOTA.
- ``detector``: a detector on gold sets (real frames with hand-drawn boxes): P / R / F1 and AP50.

User errors (missing or malformed files) print one red ``error: ...`` line on stderr and exit with
code 2, never a traceback.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from service.commands.errors import user_errors
from trackers.metrics.formats import FormatError, MOTBoxes, read_mot, read_mtmc
from trackers.metrics.mot import MOTScore, score_mot_many
from trackers.metrics.mtmc import score_mtmc

MOT_GT_FILE = Path("gt") / "gt.txt"  # MOTChallenge layout: <gt_dir>/<sequence>/gt/gt.txt
MOT_PRED_SUFFIX = ".txt"  # prediction folder layout: <pred_dir>/<sequence>.txt

app = typer.Typer(help="Score tracking results against ground truth.", no_args_is_help=True)

GtOption = Annotated[Path, typer.Option("--gt", help="Ground-truth file (or folder for `mot`).")]
PredOption = Annotated[Path, typer.Option("--pred", help="Prediction file (or folder for `mot`).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]


def _json_ready(values: dict[str, float | int]) -> dict[str, float | int | None]:
    # JSON has no NaN or infinity: an undefined ratio (precision of an empty prediction, MOTA without
    # ground-truth boxes) becomes null.
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in values.items()}


def _ratio(value: float, decimals: int = 2) -> str:
    """A ratio as a percentage ("-" when undefined)."""
    return f"{100.0 * value:.{decimals}f}" if math.isfinite(value) else "-"


@app.command()
def mtmc(gt: GtOption, pred: PredOption, as_json: JsonOption = False) -> None:
    """Joint multi-camera score (AI City track 3): IDF1/IDP/IDR over all cameras, MOTA, MOTP (mean IoU)."""
    with user_errors(FormatError):
        score = score_mtmc(read_mtmc(gt, ground_truth=True), read_mtmc(pred, ground_truth=False))
    values = score.as_dict()
    if as_json:
        typer.echo(json.dumps(_json_ready(values)))
        return
    table = Table(title=f"MTMC: {pred} vs {gt}", caption="ratios in %; MOTP = mean IoU of matches")
    table.add_column("metric", no_wrap=True)
    table.add_column("value", justify="right")
    for name, value in values.items():
        table.add_row(name, _ratio(value) if isinstance(value, float) else str(value))
    Console().print(table)


def _mot_pairs(gt: Path, pred: Path) -> dict[str, tuple[MOTBoxes, MOTBoxes]]:
    """Sequence name -> (ground truth, prediction), from a file pair or a pair of folders."""
    if not gt.exists():
        raise FormatError(f"{gt}: no such file or folder; pass a MOTChallenge gt file or folder")
    if not pred.exists():
        raise FormatError(f"{pred}: no such file or folder; pass a prediction file or folder")
    if gt.is_file():
        if pred.is_dir():
            raise FormatError(f"{pred}: is a folder but --gt {gt} is a file; pass a prediction file")
        # <seq>/gt/gt.txt -> seq; <seq>/gt.txt -> seq; anything else: the file name.
        if gt.parts[-2:] == MOT_GT_FILE.parts:
            name = gt.parent.parent.name
        else:
            name = gt.parent.name if gt.stem == MOT_GT_FILE.stem else gt.stem
        return {name: (read_mot(gt, ground_truth=True), read_mot(pred, ground_truth=False))}
    if not pred.is_dir():
        raise FormatError(f"{pred}: is a file but --gt {gt} is a folder; pass a prediction folder")
    names = sorted(d.name for d in gt.iterdir() if (d / MOT_GT_FILE).is_file())
    if not names:
        raise FormatError(f"{gt}: no <sequence>/{MOT_GT_FILE} files found; expected the MOTChallenge layout")
    pairs = {}
    for name in names:
        pred_file = pred / f"{name}{MOT_PRED_SUFFIX}"
        if not pred_file.is_file():
            raise FormatError(
                f"{pred_file}: no prediction for sequence {name}; write an empty file if nothing was tracked"
            )
        pairs[name] = (
            read_mot(gt / name / MOT_GT_FILE, ground_truth=True),
            read_mot(pred_file, ground_truth=False),
        )
    return pairs


# MOTScore field -> table header (the JSON output carries every field).
_MOT_TABLE_COLUMNS = {
    "hota": "HOTA",
    "deta": "DetA",
    "assa": "AssA",
    "idf1": "IDF1",
    "mota": "MOTA",
    "motp": "MOTP",
    "num_switches": "IDSW",
    "num_gt_boxes": "GT",
    "num_pred_boxes": "Pred",
}


def _mot_row(name: str, score: MOTScore) -> list[str]:
    values = score.as_dict()
    return [name] + [
        # One decimal, as MOTChallenge tables print them; narrow enough for an 80-column terminal.
        _ratio(values[c], decimals=1) if isinstance(values[c], float) else str(values[c])
        for c in _MOT_TABLE_COLUMNS
    ]


@app.command()
def mot(gt: GtOption, pred: PredOption, as_json: JsonOption = False) -> None:
    """Per-camera score (MOTChallenge files): HOTA/DetA/AssA (TrackEval), IDF1/MOTA/MOTP/IDSW (motmetrics).

    --gt/--pred: a file pair, or a MOTChallenge gt folder (<gt>/<cam>/gt/gt.txt) and a folder of <cam>.txt.
    """
    with user_errors(FormatError):
        report = score_mot_many(_mot_pairs(gt, pred))
    if as_json:
        sequences = {name: _json_ready(s.as_dict()) for name, s in report.per_sequence.items()}
        typer.echo(json.dumps({"sequences": sequences, "combined": _json_ready(report.combined.as_dict())}))
        return
    table = Table(title=f"MOT: {pred} vs {gt}", caption="ratios in %; MOTP = mean IoU of matches")
    table.add_column("sequence", overflow="fold")
    for header in _MOT_TABLE_COLUMNS.values():
        table.add_column(header, justify="right", no_wrap=True, min_width=len(header))
    for name, score in report.per_sequence.items():
        table.add_row(*_mot_row(name, score))
    # "all" rather than COMBINED: a short label keeps the table inside 80 columns.
    table.add_row(*_mot_row("all", report.combined), style="bold")
    Console().print(table)


@app.command()
def detector(
    gold: Annotated[
        list[Path],
        typer.Option("--gold", help="Gold set: images/ + labels.csv (file,x1,y1,x2,y2,label); repeat it."),
    ],
    weights: Annotated[
        Path | None, typer.Option(help="Detector weights (default: the shipped model).")
    ] = None,
    detector_config: Annotated[
        Path | None, typer.Option(help="Detector YAML (default: the shipped one).")
    ] = None,
    imgsz: Annotated[
        int | None, typer.Option(min=32, help="Inference size (px); default: the config's.")
    ] = None,
    confidence: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Confidence P/R/F1 are counted at; default: the config's."),
    ] = None,
    manifest: Annotated[
        bool, typer.Option(help="Also record the scores in the weights' manifest (<weights>.json).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Detection scores on hand-labelled frames: P / R / F1 at the config's confidence and AP50 (boxes down to
    0.01), class-agnostic, IoU 0.5, and ms per frame, per gold set."""
    from trackers.config import ConfigError
    from trackers.detection import DetectorConfig, DetectorError
    from trackers.metrics.gold import GoldSetError, read_gold_set

    overrides = {k: v for k, v in {"weights": weights, "imgsz": imgsz, "confidence": confidence}.items() if v}
    with user_errors(DetectorError, ConfigError, GoldSetError):
        gold_sets = [read_gold_set(g) for g in gold]
        config = DetectorConfig.from_yaml(detector_config, device="cpu", **overrides)
        scores = gold_scores(config, gold_sets, table=not as_json)
        if manifest:
            record_gold_scores(Path(config.weights), scores)
    if as_json:
        typer.echo(json.dumps(scores, indent=2))


def gold_scores(config, gold_sets: list, table: bool = True) -> dict:
    """Scores of the detector ``config`` on each gold set, as the manifest records them; printed as a table
    unless ``table`` is False."""
    from trackers.metrics.gold import score_detector_config

    results = score_detector_config(config, gold_sets)
    if table:
        shown = Table(
            "gold set", "P", "R", "F1", "AP50", "ms/frame", title=f"{config.weights} at imgsz {config.imgsz}"
        )
        for name, result in results.items():
            s = result.scores
            shown.add_row(
                name,
                f"{s.precision:.3f}",
                f"{s.recall:.3f}",
                f"{s.f1:.3f}",
                f"{s.ap50:.3f}",
                f"{result.ms_per_frame:.0f}",
            )
        Console().print(shown)
    return {
        "detector_config": {"imgsz": config.imgsz, "confidence": config.confidence, "iou": config.iou},
        "protocol": "class-agnostic, IoU 0.5; P/R/F1 at the config's confidence; AP50 all-point, boxes >= 0.01",
        **{
            name: {**r.scores.as_dict(), "ms_per_frame": round(r.ms_per_frame, 1)}
            for name, r in results.items()
        },
    }


def record_gold_scores(weights: Path, scores: dict) -> dict:
    """Write ``scores`` into the manifest beside ``weights`` (``scores_on_gold``); returns the manifest.
    GoldSetError when the weights have no manifest."""
    from trackers.metrics.gold import GoldSetError

    path = weights.with_suffix(".json")
    if not path.is_file():
        raise GoldSetError(
            f"{weights} has no manifest ({path}); scores are recorded only beside shipped weights"
        )
    manifest = json.loads(path.read_text())
    manifest["scores_on_gold"] = scores
    path.write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest
