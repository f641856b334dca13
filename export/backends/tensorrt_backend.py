"""Native TensorRT backend: a serialized engine from ``crosscam export tensorrt`` behind ``Embedder``.

Device buffers are torch CUDA tensors (torch is already a dependency; no pycuda). The engine's ``.json``
build record supplies the input size and normalisation and is checked against this machine first: an
engine runs only under the TensorRT version and on the GPU architecture it was built for.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from export.preprocess import embed_in_batches
from export.spec import ModelFileError
from export.tensorrt_build import EngineInfo

REBUILD = "rebuild it here with `crosscam export tensorrt --onnx MODEL.onnx --out {engine}`"


def check_engine_matches(
    info: EngineInfo, path: Path, tensorrt_version: str, gpu_name: str, capability: tuple[int, int]
) -> None:
    """ModelFileError naming ``path`` and the fix unless the engine was built by this TensorRT version for
    this GPU architecture (compute capability): TensorRT refuses, or worse misbehaves, otherwise."""
    fix = REBUILD.format(engine=path)
    if info.tensorrt_version != tensorrt_version:
        raise ModelFileError(
            f"{path}: built with TensorRT {info.tensorrt_version}, this is {tensorrt_version}; {fix}"
        )
    if info.compute_capability != tuple(capability):
        raise ModelFileError(
            f"{path}: built for {info.gpu_name} (compute {info.compute_capability[0]}.{info.compute_capability[1]}), "
            f"this GPU is {gpu_name} (compute {capability[0]}.{capability[1]}); {fix}"
        )


class TensorRTEmbedder:
    """Embeds BGR uint8 crops with a TensorRT engine on ``device``: (N, dim) float32 L2-normalised rows."""

    def __init__(self, path: str | Path, device: str = "cuda:0") -> None:
        import torch

        self.path = Path(path)
        if not self.path.is_file():
            raise ModelFileError(f"{self.path}: no such engine; {REBUILD.format(engine=self.path)}")
        self.info = EngineInfo.read(self.path)
        try:
            import tensorrt as trt
        except ImportError:
            raise ModelFileError(
                f"{self.path}: running a TensorRT engine needs the tensorrt package; on a machine with an "
                "NVIDIA GPU run `pip install '.[gpu]'`, or use the .onnx export with ONNX Runtime"
            ) from None
        if not torch.cuda.is_available():
            raise ModelFileError(f"{self.path}: a TensorRT engine needs an NVIDIA GPU; none is visible here")
        self.device = torch.device(device)
        props = torch.cuda.get_device_properties(self.device)
        fix = REBUILD.format(engine=self.path)
        check_engine_matches(self.info, self.path, trt.__version__, props.name, (props.major, props.minor))
        runtime = trt.Runtime(trt.Logger(trt.Logger.ERROR))
        self.engine = runtime.deserialize_cuda_engine(self.path.read_bytes())
        if self.engine is None:
            raise ModelFileError(f"{self.path}: TensorRT cannot deserialize it (corrupt or truncated); {fix}")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        modes = {n: self.engine.get_tensor_mode(n) for n in names}
        self.input_name = next(n for n in names if modes[n] == trt.TensorIOMode.INPUT)
        self.output_name = next(n for n in names if modes[n] == trt.TensorIOMode.OUTPUT)
        spec = self.info.spec
        self.spec, self.dim, self.input_size = spec, spec.dim, spec.input_size
        out_dim = self.engine.get_tensor_shape(self.output_name)[-1]
        if out_dim not in (-1, spec.dim):
            raise ModelFileError(
                f"{self.path}: engine output dimension {out_dim}, its record says {spec.dim}; {fix}"
            )
        self.batch_size = self.info.max_batch
        self.stream = torch.cuda.Stream(self.device)

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """crops: BGR uint8 (h, w, 3) of any size -> (N, dim) float32 unit rows; (0, dim) for none."""
        spec = self.spec
        return embed_in_batches(
            crops, self.run, self.dim, self.batch_size, spec.input_size, spec.mean, spec.std
        )

    def run(self, batch: np.ndarray) -> np.ndarray:
        """(B, 3, H, W) float32 preprocessed images, B <= max batch -> (B, dim) float32 embeddings."""
        import torch

        images = torch.from_numpy(batch).to(self.device)
        vectors = torch.empty((batch.shape[0], self.dim), dtype=torch.float32, device=self.device)
        self.context.set_input_shape(self.input_name, tuple(images.shape))
        self.context.set_tensor_address(self.input_name, int(images.data_ptr()))
        self.context.set_tensor_address(self.output_name, int(vectors.data_ptr()))
        with torch.cuda.stream(self.stream):
            # The copy above ran on the default stream; the engine must see it finished.
            self.stream.wait_stream(torch.cuda.default_stream(self.device))
            if not self.context.execute_async_v3(self.stream.cuda_stream):
                raise RuntimeError(f"{self.path}: TensorRT execution failed")
        self.stream.synchronize()
        return vectors.cpu().numpy()
