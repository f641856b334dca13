"""The ``crosscam`` command line."""

from __future__ import annotations

import typer

from service.commands.associator import associator
from service.commands.demo import demo
from service.commands.detect import detect
from service.commands.eval import app as eval_app
from service.commands.export import app as export_app
from service.commands.reid import app as reid_app
from service.commands.run import run
from service.commands.serve import serve
from service.commands.synth import synth
from service.commands.track import track
from service.commands.train import app as train_app
from service.commands.worker import worker

app = typer.Typer(
    name="crosscam",
    help="Real-time multi-camera vehicle tracking: synthetic town, evaluation, pipeline and service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(synth)
app.command()(demo)
app.command()(detect)
app.command()(track)
app.command()(run)
app.command()(serve)
app.command()(worker)
app.command()(associator)
app.add_typer(eval_app, name="eval", help="Score tracking results (AI City MTMC, MOTChallenge).")
app.add_typer(train_app, name="train", help="Train the models crosscam ships.")
app.add_typer(export_app, name="export", help="Export models to ONNX or TensorRT.")
app.add_typer(reid_app, name="reid", help="Train and evaluate the Re-ID embedder (METHOD.md).")

if __name__ == "__main__":
    app()
