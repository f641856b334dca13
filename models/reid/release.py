"""Shipping a trained Re-ID model: the inference parts only (encoder + neck), with a manifest.

The pre-training decoder and the training history stay behind, so the shipped file is small (the issue's
limit: 25 MB); the manifest records the sha256, the command that trained it, and its retrieval figures on a
held-out query/gallery. An ONNX copy (``<out>.onnx``, carrying the checkpoint's sha256) ships beside it, so
the pipeline can run the model on ONNX Runtime without exporting it first.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import torch

from export.onnx_export import export_onnx
from models.manifest import sha256, write_manifest
from models.reid.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from models.reid.config import ReidConfig, load_reid_config
from models.reid.embedder import reid_module
from models.reid.stages import run_eval

SIZE_LIMIT_BYTES = 25 * 1000 * 1000


def ship_reid_weights(
    checkpoint: Path,
    out: Path,
    eval_data: Path,
    train_command: str,
    ship_command: str,
    cfg: ReidConfig | None = None,
) -> dict[str, Any]:
    """Write ``out`` (encoder + neck of a trained checkpoint), its ONNX copy ``out.onnx`` and the manifest
    ``out.json``; returns the manifest."""
    ckpt = load_checkpoint(checkpoint)
    if "neck" not in ckpt.states:
        raise CheckpointError(
            f"{checkpoint}: a pre-training checkpoint; ship one written by crosscam reid train"
        )
    cfg = (cfg or load_reid_config()).model_copy(update={"model": ckpt.model, "data": ckpt.data})
    info = {k: ckpt.info[k] for k in ("seconds", "final_eval", "config") if k in ckpt.info}
    save_checkpoint(out, cfg, "train", {"encoder": ckpt.states["encoder"], "neck": ckpt.states["neck"]}, info)
    if out.stat().st_size > SIZE_LIMIT_BYTES:
        raise CheckpointError(
            f"{out}: {out.stat().st_size / 1e6:.1f} MB is over the 25 MB limit; use a smaller model"
        )
    onnx_path = export_onnx(*reid_module(out), out.with_suffix(".onnx"))
    metrics = run_eval(out, eval_data, cfg, progress=False).as_dict()
    return write_manifest(
        out,
        {
            "architecture": {"kind": "vit", **ckpt.model.model_dump(mode="json")},
            "input": {
                "image_size_hw": list(ckpt.data.image_size),
                "mean": ckpt.data.mean,
                "std": ckpt.data.std,
            },
            "embedding_dim": ckpt.model.width,
            "parameters": sum(
                v.numel() for sd in (ckpt.states["encoder"], ckpt.states["neck"]) for v in sd.values()
            ),
            "command": train_command,
            "ship_command": ship_command,
            "source_checkpoint": str(checkpoint),
            "onnx": {
                "file": onnx_path.name,
                "sha256": sha256(onnx_path),
                "size_bytes": onnx_path.stat().st_size,
            },
            "metrics_on_eval_data": {
                "data": str(eval_data),
                **{k: metrics[k] for k in ("mAP", "rank1", "rank5", "rank10")},
            },
            "train_seconds": info.get("seconds"),
            "training_config": info.get("config"),
            "software": {"torch": torch.__version__, "python": platform.python_version()},
        },
    )
