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


@app.command()
def onnx(
    out: Annotated[Path, typer.Option(help="Output .onnx file (one file, weights inline).")],
    weights: Annotated[
        Path | None,
        typer.Option(help="Re-ID checkpoint (.pt); default: the shipped models/weights/reid_vit.pt."),
    ] = None,
    opset: Annotated[int, typer.Option(min=17, help="ONNX opset.")] = 18,
    int8: Annotated[
        bool, typer.Option(help="Quantise the weights to int8 (faster on CPUs, cosine ~0.9996 to fp32).")
    ] = False,
) -> None:
    """Export the Re-ID embedder to ONNX: dynamic batch, checked, input size / normalisation / dimension /
    source sha256 in its metadata. Run it with `crosscam track --embedder reid --reid-weights FILE.onnx`."""
    from export.onnx_export import export_onnx
    from export.spec import ModelFileError
    from models.reid.checkpoint import CheckpointError
    from models.reid.embedder import reid_module

    with user_errors(CheckpointError, ModelFileError):
        module, spec = reid_module(weights)
        path = export_onnx(module, spec, out, opset, int8)
    Console().print(
        f"exported {spec.source_name} (sha256 {spec.source_sha256[:12]}) -> {path}: input (batch, 3, "
        f"{spec.input_size[0]}, {spec.input_size[1]}), embedding {spec.dim}, opset {opset}"
        + (", int8 weights" if int8 else "")
    )


@app.command()
def tensorrt(
    onnx_file: Annotated[
        Path, typer.Option("--onnx", help="A crosscam .onnx embedder (crosscam export onnx).")
    ],
    out: Annotated[
        Path, typer.Option(help="Output engine file (.engine); its build record goes to <out>.json.")
    ],
    fp16: Annotated[bool, typer.Option(help="Allow FP16 kernels.")] = True,
    int8: Annotated[bool, typer.Option(help="Allow INT8 kernels (needs --calib).")] = False,
    calib: Annotated[
        Path | None, typer.Option(help="Folder of vehicle crops for INT8 entropy calibration.")
    ] = None,
    calib_images: Annotated[int, typer.Option(min=32, help="Crops to calibrate on.")] = 512,
    timing_cache: Annotated[
        Path | None, typer.Option(help="Timing cache reused across builds (default <out>.timing).")
    ] = None,
) -> None:
    """Build a TensorRT engine (batch 1..64) from an ONNX embedder; needs an NVIDIA GPU and `pip install .[gpu]`."""
    from export.spec import ModelFileError

    with user_errors(ModelFileError, ImportError):
        from export.tensorrt_build import build_engine

        try:
            import tensorrt  # noqa: F401
        except ImportError:
            raise ModelFileError(
                "the tensorrt package is not installed; on a machine with an NVIDIA GPU run "
                "`pip install '.[gpu]'`"
            ) from None
        path = build_engine(onnx_file, out, fp16, int8, calib, calib_images, timing_cache)
    Console().print(f"built {path} from {onnx_file}")
