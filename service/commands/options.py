"""Command-line options that several ``crosscam`` commands share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

EmbedderOption = Annotated[
    str, typer.Option(help="Appearance model: reid (the trained Re-ID model) or colourhog (stand-in).")
]
ReidWeightsOption = Annotated[
    Path | None,
    typer.Option(
        help="Re-ID model for --embedder reid: a .pt checkpoint (default: the shipped one), an .onnx export "
        "(ONNX Runtime) or a TensorRT .engine."
    ),
]
DetectorWeightsOption = Annotated[
    Path | None, typer.Option(help="Detector weights (default: the shipped model).")
]
DetectorConfigOption = Annotated[Path | None, typer.Option(help="Detector YAML (default: the shipped one).")]
TrackerConfigOption = Annotated[Path | None, typer.Option(help="DeepSORT YAML (default: the shipped one).")]
