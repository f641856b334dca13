"""``crosscam export onnx|tensorrt``: the Re-ID embedder to ONNX, and clear errors for what cannot be done."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from export.backends.onnx_backend import OnnxEmbedder
from models.reid.embedder import DEFAULT_REID_WEIGHTS
from service.cli import app
from service.embedders import build_embedder

runner = CliRunner()


def _track_with(weights: Path, video: Path, out: Path):
    """``crosscam track`` over 10 frames of ``video`` with the Re-ID model at ``weights``."""
    args = ["track", "--video", str(video), "--out", str(out), "--max-frames", "10"]
    return runner.invoke(app, [*args, "--embedder", "reid", "--reid-weights", str(weights)])


@pytest.mark.skipif(not DEFAULT_REID_WEIGHTS.is_file(), reason="no shipped Re-ID weights")
def test_export_onnx_then_track_with_it(smoke_scene: Path, tmp_path: Path) -> None:
    out = tmp_path / "reid.onnx"
    result = runner.invoke(app, ["export", "onnx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "embedding 192" in result.stdout and out.is_file()
    embedder = build_embedder("reid", out)  # chosen by suffix
    assert isinstance(embedder, OnnxEmbedder)
    crop = cv2.imread(str(next((smoke_scene / "reid" / "image_test").glob("*.jpg"))))
    assert np.isclose(np.linalg.norm(embedder.embed([crop])), 1.0)
    tracks = tmp_path / "cam01.txt"
    result = _track_with(out, smoke_scene / "cam01.mp4", tracks)
    assert result.exit_code == 0, result.output
    assert tracks.read_text().strip()


def test_bad_inputs_are_one_line_errors(smoke_scene: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    result = runner.invoke(app, ["export", "onnx", "--weights", str(bad), "--out", str(tmp_path / "r.onnx")])
    assert result.exit_code == 2 and "bad.pt" in result.stderr and "Traceback" not in result.output
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07garbage" * 50)
    result = _track_with(corrupt, smoke_scene / "cam01.mp4", tmp_path / "o.txt")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "corrupt.onnx: not a valid ONNX model" in result.stderr


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="tensorrt is installed here")
def test_tensorrt_without_tensorrt_says_how_to_get_it(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["export", "tensorrt", "--onnx", str(tmp_path / "r.onnx"), "--out", str(tmp_path / "r.engine")]
    )
    assert result.exit_code == 2 and "pip install '.[gpu]'" in result.stderr
