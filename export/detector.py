"""Exporting the detector with ultralytics' own exporter: ONNX (run by ONNX Runtime) or a TensorRT engine.

The exported file loads through the same ``YoloDetector`` (ultralytics picks the runtime by suffix), so the
backend is a choice of file, not of code.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Literal

FORMATS = {"onnx": ".onnx", "engine": ".engine"}
ONNX_OPSET = 17


class ExportError(ValueError):
    """An export the user asked for that cannot be done as asked."""


def export_detector(
    weights: Path, out: Path, fmt: Literal["onnx", "engine"] = "onnx", imgsz: int = 416, half: bool = False
) -> Path:
    """Export ultralytics weights (.pt) to ``out`` (.onnx or .engine); returns ``out``.

    ONNX: opset 17, dynamic batch and image size, simplified. Engine: needs TensorRT and an NVIDIA GPU.
    """
    from ultralytics import YOLO

    weights, out = Path(weights), Path(out)
    if not weights.is_file() or weights.suffix != ".pt":
        raise ExportError(f"{weights} is not an ultralytics .pt weights file; pass the .pt to export")
    if out.suffix != FORMATS[fmt]:
        raise ExportError(f"--out {out} should end in {FORMATS[fmt]} for format {fmt}")
    if fmt == "engine":
        import torch

        if not torch.cuda.is_available():
            raise ExportError(
                "a TensorRT engine is built on the GPU that will run it; no CUDA GPU is visible here"
            )
    try:
        model = YOLO(str(weights), task="detect")
    except Exception as exc:  # a corrupt file fails in many ways inside torch/ultralytics
        raise ExportError(
            f"{weights} is not a readable ultralytics model ({type(exc).__name__}: {exc})"
        ) from None
    kwargs = {"opset": ONNX_OPSET, "dynamic": True, "simplify": True} if fmt == "onnx" else {"half": half}
    produced = Path(model.export(format=fmt, imgsz=imgsz, device="cpu" if fmt == "onnx" else 0, **kwargs))
    out.parent.mkdir(parents=True, exist_ok=True)
    if produced.resolve() != out.resolve():
        shutil.move(str(produced), out)
    return out
