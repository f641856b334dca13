"""What a runtime needs to know about an exported embedder, carried inside the file (ONNX metadata) or beside
it (a TensorRT engine's ``.json``), so an exported model runs without its training checkpoint."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

# ONNX metadata_props keys; one JSON document under one key keeps the format easy to extend.
METADATA_KEY = "crosscam.embedder"
SPEC_VERSION = 1


class ModelFileError(ValueError):
    """An exported model file that cannot be used as asked: the message names the file and the fix."""


@dataclass(frozen=True)
class EmbedderSpec:
    """input_size: (H, W) px of the model input; mean/std: RGB normalisation on the [0, 1] pixel scale;
    dim: embedding length D; source_sha256 / source_name: the weights the export came from; weights:
    fp32, or int8 (weights quantised, activations quantised on the fly by ONNX Runtime)."""

    input_size: tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    dim: int
    source_sha256: str
    source_name: str
    weights: str = "fp32"

    def to_json(self) -> str:
        return json.dumps({"version": SPEC_VERSION, **asdict(self)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: Path) -> EmbedderSpec:
        """Parse ``to_json``'s output; ModelFileError naming ``where`` when it is missing fields or malformed."""
        try:
            raw = json.loads(text)
            if raw.get("version") != SPEC_VERSION:
                raise ValueError(f"spec version {raw.get('version')!r}, this crosscam reads {SPEC_VERSION}")
            h, w = (int(v) for v in raw["input_size"])
            mean = tuple(float(v) for v in raw["mean"])
            std = tuple(float(v) for v in raw["std"])
            if len(mean) != 3 or len(std) != 3:
                raise ValueError("mean and std need three values")
            spec = cls(
                (h, w),
                mean,  # type: ignore[arg-type]
                std,  # type: ignore[arg-type]
                int(raw["dim"]),
                str(raw["source_sha256"]),
                str(raw["source_name"]),
                str(raw.get("weights", "fp32")),
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ModelFileError(
                f"{where}: its crosscam embedder metadata is unreadable ({exc}); re-export it with "
                "`crosscam export onnx`"
            ) from None
        if min(spec.input_size) < 1 or spec.dim < 1:
            raise ModelFileError(
                f"{where}: metadata gives input {spec.input_size} and dim {spec.dim}; re-export it"
            )
        return spec
