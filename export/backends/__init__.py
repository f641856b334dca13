"""Runtime backends of the Re-ID embedder, all behind the ``Embedder`` interface:
``embed(crops) -> (N, D) float32, L2-normalised``, with the one preprocessing of ``export.preprocess``.

``open_exported`` picks the backend of an exported file by its suffix; a training checkpoint (``.pt``) is
``models``' to open (``models.reid.embedder.load_reid_embedder``).
"""

from __future__ import annotations

from pathlib import Path

from export.spec import ModelFileError

ONNX_SUFFIXES = (".onnx",)
ENGINE_SUFFIXES = (".engine", ".plan", ".trt")


def open_exported(path: str | Path, device: str = "cpu", threads: int | None = None):
    """The embedder for an exported file: ``.onnx`` -> ``OnnxEmbedder`` (CUDA/TensorRT providers when
    ``device`` is a GPU and onnxruntime-gpu is installed, else CPU); ``.engine``/``.plan``/``.trt`` ->
    ``TensorRTEmbedder``. ModelFileError for any other suffix or an unusable file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in ONNX_SUFFIXES:
        from export.backends.onnx_backend import OnnxEmbedder

        providers = ["CPUExecutionProvider"] if device == "cpu" else None
        return OnnxEmbedder(path, providers=providers, threads=threads)
    if suffix in ENGINE_SUFFIXES:
        from export.backends.tensorrt_backend import TensorRTEmbedder

        return TensorRTEmbedder(path, device if device.startswith("cuda") else "cuda:0")
    raise ModelFileError(
        f"{path}: unknown embedder file type {suffix or '(none)'}; use a .onnx file, a TensorRT "
        f"{'/'.join(ENGINE_SUFFIXES)} engine or a crosscam .pt checkpoint"
    )
