"""``crosscam export``: turn trained weights into deployment formats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

from service.commands.errors import user_errors

app = typer.Typer(help="Export models to ONNX or TensorRT.", no_args_is_help=True)


@app.command()
def detector(
    weights: Annotated[Path, typer.Option(help="Ultralytics .pt weights.")] = Path(
        "models/weights/detector_yolov8n.pt"
    ),
    out: Annotated[Path, typer.Option(help="Output file (.onnx or .engine).")] = Path(
        "runs/export/detector.onnx"
    ),
    fmt: Annotated[
        str, typer.Option("--format", help="onnx (ONNX Runtime) or engine (TensorRT, GPU).")
    ] = "onnx",
    imgsz: Annotated[int, typer.Option(help="Export image size (px).")] = 416,
    half: Annotated[bool, typer.Option(help="FP16 (TensorRT engine only).")] = False,
) -> None:
    """Export the detector with ultralytics' exporter; load the result with the same detector config."""
    from export.detector import FORMATS, ExportError, export_detector

    with user_errors(ExportError):
        if fmt not in FORMATS:
            raise ExportError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
        chosen: Literal["onnx", "engine"] = "onnx" if fmt == "onnx" else "engine"
        path = export_detector(weights, out, chosen, imgsz, half)
    Console().print(f"exported {weights} -> {path}")
