"""ONNX Runtime backend: a crosscam ``.onnx`` embedder behind ``Embedder``, on the best execution provider here.

Providers are picked from what the installed onnxruntime offers, fastest first: TensorRT, CUDA, then CPU
(onnxruntime-gpu brings the first two; plain onnxruntime only the CPU). The file's own metadata gives the
input size and normalisation, so the same ``preprocess_crops`` as every other backend feeds it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from export.onnx_model import check_io, load_onnx_model, read_spec
from export.preprocess import embed_in_batches
from export.spec import EmbedderSpec

# Fastest first. The TensorRT provider builds an engine per input shape on first use (cached, see below).
PROVIDER_PREFERENCE = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
DEFAULT_BATCH = 64
# Where the TensorRT provider keeps its engines between runs; without a cache every start rebuilds them
# (minutes). Outside the model's folder, which may be read-only in a container.
TRT_CACHE_ENV = "CROSSCAM_TRT_CACHE"
DEFAULT_TRT_CACHE = Path.home() / ".cache" / "crosscam" / "onnxruntime-trt"


def trt_cache_dir() -> Path:
    """The TensorRT provider's engine cache: ``$CROSSCAM_TRT_CACHE``, else ``DEFAULT_TRT_CACHE``."""
    return Path(os.environ.get(TRT_CACHE_ENV, DEFAULT_TRT_CACHE))


def provider_options(providers: Sequence[str]) -> list[dict[str, str]]:
    """Per-provider options, in ``providers``' order: FP16 and an engine cache for TensorRT, none else."""
    trt = {
        "trt_fp16_enable": "True",
        "trt_engine_cache_enable": "True",
        "trt_engine_cache_path": str(trt_cache_dir()),
    }
    return [trt if p == "TensorrtExecutionProvider" else {} for p in providers]


def choose_providers(available: Sequence[str], wanted: Sequence[str] | None = None) -> list[str]:
    """The execution providers to use, in priority order: ``wanted`` (each must be available) or every
    available one of ``PROVIDER_PREFERENCE``. ValueError naming the missing provider and what is there."""
    if wanted:
        missing = [p for p in wanted if p not in available]
        if missing:
            raise ValueError(
                f"onnxruntime here has no {', '.join(missing)} (it has {', '.join(available)}); install "
                "onnxruntime-gpu for the CUDA and TensorRT providers, or leave providers unset"
            )
        return list(wanted)
    return [p for p in PROVIDER_PREFERENCE if p in available]


class OnnxEmbedder:
    """Embeds BGR uint8 crops with an exported crosscam embedder: (N, dim) float32 L2-normalised rows.

    path: the ``.onnx`` file (metadata from ``export_onnx``); providers: onnxruntime execution providers,
    None = the fastest available; threads: CPU intra-op threads (None = onnxruntime's default, one per
    physical core). ``session.get_providers()`` tells which providers are in use.
    """

    def __init__(
        self,
        path: str | Path,
        providers: Sequence[str] | None = None,
        batch_size: int = DEFAULT_BATCH,
        threads: int | None = None,
    ) -> None:
        self.path = Path(path)
        model = load_onnx_model(self.path)
        self.spec: EmbedderSpec = read_spec(model, self.path)
        check_io(model, self.spec, self.path)
        self.dim = self.spec.dim
        self.input_size = self.spec.input_size
        self.batch_size = batch_size
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        chosen = choose_providers(ort.get_available_providers(), providers)
        if "TensorrtExecutionProvider" in chosen:
            trt_cache_dir().mkdir(parents=True, exist_ok=True)
        self.session = ort.InferenceSession(
            model.SerializeToString(), options, providers=chosen, provider_options=provider_options(chosen)
        )
        self.input_name = self.session.get_inputs()[0].name

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """crops: BGR uint8 (h, w, 3) of any size -> (N, dim) float32 unit rows; (0, dim) for none."""
        spec = self.spec
        return embed_in_batches(
            crops, self.run, self.dim, self.batch_size, spec.input_size, spec.mean, spec.std
        )

    def run(self, batch: np.ndarray) -> np.ndarray:
        """(B, 3, H, W) float32 preprocessed images -> (B, dim) float32 embeddings."""
        return self.session.run(None, {self.input_name: batch})[0]
