"""Building a TensorRT engine from a crosscam ONNX embedder: FP16 or INT8, batch 1..64, a reusable timing cache.

The engine is written with a ``.json`` beside it: the embedder spec (from the ONNX metadata), the TensorRT
version and the GPU it was built on, because an engine runs only under the TensorRT version and on the GPU
architecture that built it; ``TensorRTEmbedder`` checks both and says so instead of failing obscurely.
Needs an NVIDIA GPU, the ``tensorrt`` package and torch with CUDA (device buffers); ``pip install .[gpu]``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from export.onnx_model import load_onnx_model, read_spec
from export.preprocess import preprocess_crops
from export.spec import EmbedderSpec, ModelFileError

MAX_BATCH = 64  # optimisation profile: batch 1..MAX_BATCH, tuned for OPT_BATCH
OPT_BATCH = 32
WORKSPACE_BYTES = 1 << 30
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class EngineInfo:
    """What the sidecar ``<engine>.json`` records: the spec and the build environment."""

    spec: EmbedderSpec
    precision: str
    tensorrt_version: str
    gpu_name: str
    compute_capability: tuple[int, int]
    max_batch: int

    def write(self, engine: Path) -> Path:
        path = sidecar(engine)
        record = {
            "spec": json.loads(self.spec.to_json()),
            "precision": self.precision,
            "tensorrt_version": self.tensorrt_version,
            "gpu_name": self.gpu_name,
            "compute_capability": list(self.compute_capability),
            "max_batch": self.max_batch,
        }
        path.write_text(json.dumps(record, indent=2))
        return path

    @classmethod
    def read(cls, engine: Path) -> EngineInfo:
        path = sidecar(engine)
        if not path.is_file():
            raise ModelFileError(
                f"{engine}: its build record {path.name} is missing (input size, normalisation, TensorRT "
                "version); rebuild it with `crosscam export tensorrt`"
            )
        try:
            raw = json.loads(path.read_text())
            spec = EmbedderSpec.from_json(json.dumps(raw["spec"]), path)
            major, minor = (int(v) for v in raw["compute_capability"])
            return cls(
                spec,
                str(raw["precision"]),
                str(raw["tensorrt_version"]),
                str(raw["gpu_name"]),
                (major, minor),
                int(raw["max_batch"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            if isinstance(exc, ModelFileError):
                raise
            raise ModelFileError(f"{path}: unreadable build record ({exc}); rebuild the engine") from None


def sidecar(engine: Path) -> Path:
    return Path(f"{engine}.json")


def calibration_crops(folder: Path, limit: int) -> list[np.ndarray]:
    """Up to ``limit`` crops (BGR uint8) from the images under ``folder`` (e.g. the town's ``reid/image_train``),
    evenly spaced by name. ModelFileError when the folder holds no readable image."""
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if limit and len(files) > limit:
        files = [files[i] for i in np.unique(np.linspace(0, len(files) - 1, limit).round().astype(int))]
    crops = [img for img in (cv2.imread(str(p)) for p in files) if img is not None]
    if not crops:
        raise ModelFileError(
            f"{folder}: no readable .jpg/.png crops for INT8 calibration; point --calib at a folder of "
            "vehicle crops such as the synthetic town's reid/image_train"
        )
    return crops


def calibration_batches(crops: Sequence[np.ndarray], spec: EmbedderSpec, batch: int) -> Iterator[np.ndarray]:
    """Preprocessed (batch, 3, H, W) float32 batches of ``crops`` (a last short batch is dropped: the
    calibrator has one fixed batch size)."""
    for first in range(0, len(crops) - batch + 1, batch):
        yield preprocess_crops(crops[first : first + batch], spec.input_size, spec.mean, spec.std)


def _entropy_calibrator(trt, batches: list[np.ndarray], cache: Path):
    """An ``IInt8EntropyCalibrator2`` over preprocessed batches, its scales cached in ``cache``."""
    import torch

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            super().__init__()
            self.batches = iter(batches)
            self.device_batch: torch.Tensor | None = None

        def get_batch_size(self) -> int:
            return int(batches[0].shape[0])

        def get_batch(self, names):
            batch = next(self.batches, None)
            if batch is None:
                return None
            self.device_batch = torch.from_numpy(batch).cuda()  # kept alive until the next call
            return [int(self.device_batch.data_ptr())]

        def read_calibration_cache(self):
            return cache.read_bytes() if cache.is_file() else None

        def write_calibration_cache(self, data) -> None:
            cache.write_bytes(bytes(data))

    return EntropyCalibrator()


def build_engine(
    onnx_path: Path,
    out: Path,
    fp16: bool = True,
    int8: bool = False,
    calib_dir: Path | None = None,
    calib_images: int = 512,
    timing_cache: Path | None = None,
) -> Path:
    """Build ``out`` (a serialized engine) from a crosscam ONNX embedder; writes ``<out>.json`` beside it.

    fp16 / int8: allowed precisions (INT8 needs ``calib_dir``: crops for the entropy calibrator, cached in
    ``<out>.calib``); timing_cache: a file reused and updated across builds (default ``<out>.timing``).
    """
    import tensorrt as trt
    import torch

    if not torch.cuda.is_available():
        raise ModelFileError("building a TensorRT engine needs an NVIDIA GPU; none is visible here")
    if int8 and calib_dir is None:
        raise ModelFileError("--int8 needs --calib DIR: a folder of vehicle crops to calibrate on")
    onnx_path, out = Path(onnx_path), Path(out)
    spec = read_spec(load_onnx_model(onnx_path), onnx_path)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # explicit batch: the only mode in TensorRT 10
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelFileError(f"{onnx_path}: TensorRT cannot parse it ({errors})")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    height, width = spec.input_size
    profile = builder.create_optimization_profile()
    name = network.get_input(0).name
    profile.set_shape(
        name, (1, 3, height, width), (OPT_BATCH, 3, height, width), (MAX_BATCH, 3, height, width)
    )
    config.add_optimization_profile(profile)
    cache_path = Path(timing_cache or f"{out}.timing")
    cache = config.create_timing_cache(cache_path.read_bytes() if cache_path.is_file() else b"")
    config.set_timing_cache(cache, ignore_mismatch=False)
    precision = "fp32"
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
        precision = "fp16"
    if int8:
        config.set_flag(trt.BuilderFlag.INT8)
        batches = list(calibration_batches(calibration_crops(calib_dir, calib_images), spec, OPT_BATCH))
        if not batches:
            raise ModelFileError(f"{calib_dir}: fewer than {OPT_BATCH} crops; INT8 calibration needs more")
        config.int8_calibrator = _entropy_calibrator(trt, batches, Path(f"{out}.calib"))
        config.set_calibration_profile(profile)
        precision = "int8" + ("+fp16" if fp16 else "")
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ModelFileError(f"{onnx_path}: TensorRT could not build an engine (see the log above)")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(bytes(serialized))
    cache_path.write_bytes(bytes(config.get_timing_cache().serialize()))
    props = torch.cuda.get_device_properties(0)
    EngineInfo(spec, precision, trt.__version__, props.name, (props.major, props.minor), MAX_BATCH).write(out)
    return out
