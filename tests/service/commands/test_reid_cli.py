"""`crosscam reid segment|pretrain|train|eval|ship` on the smoke scene, and user errors as one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from export.backends.onnx_backend import OnnxEmbedder
from models.manifest import sha256
from models.reid.checkpoint import load_checkpoint
from models.reid.embedder import load_reid_embedder, shipped_onnx
from service.commands.errors import USER_ERROR_EXIT
from service.commands.reid import app


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def _ok(runner: CliRunner, args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_whole_chain_from_the_command_line(smoke_scene: Path, tmp_path: Path, runner: CliRunner):
    data = str(smoke_scene / "reid")
    seg = tmp_path / "seg.npz"
    assert "segmenter grabcut" in _ok(
        runner, ["segment", "--data", data, "--out", str(seg), "--smoke", "--no-progress"]
    )
    _ok(runner, ["pretrain", "--data", data, "--segments", str(seg), "--out", str(tmp_path / "pre"), "--smoke",
                 "--no-progress"])  # fmt: skip
    pre = tmp_path / "pre" / "pretrain.pt"
    assert load_checkpoint(pre).stage == "pretrain"
    train_args = ["train", "--data", data, "--init", str(pre), "--segments", str(seg), "--eval-data", data]
    out = _ok(
        runner,
        [
            *train_args,
            "--out",
            str(tmp_path / "train"),
            "--smoke",
            "--no-progress",
            "--set",
            "train.epochs=1",
        ],
    )
    assert "mAP" in out
    trained = tmp_path / "train" / "reid.pt"
    scores = tmp_path / "scores.json"
    assert "Rank-1" in _ok(runner, ["eval", "--weights", str(trained), "--data", data, "--out", str(scores)])
    assert 0.0 <= json.loads(scores.read_text())["mAP"] <= 1.0

    shipped = tmp_path / "weights" / "reid_vit.pt"
    _ok(runner, ["ship", "--weights", str(trained), "--eval-data", data, "--train-command", "crosscam reid train ...",
                 "--out", str(shipped)])  # fmt: skip
    manifest = json.loads(shipped.with_suffix(".json").read_text())
    assert manifest["command"] == "crosscam reid train ..." and len(manifest["sha256"]) == 64
    assert set(load_checkpoint(shipped).states) == {"encoder", "neck"}
    embedder = load_reid_embedder(shipped)
    crops = [torch.randint(0, 255, (h, 40, 3), dtype=torch.uint8).numpy() for h in (20, 33, 61)]
    vectors = embedder.embed(crops)
    assert vectors.shape == (3, embedder.dim)
    assert abs(float((vectors**2).sum(axis=1).mean()) - 1.0) < 1e-5
    # The ONNX copy ships beside the checkpoint, named in the manifest and tied to it by sha256.
    assert manifest["onnx"]["sha256"] == sha256(shipped.with_suffix(".onnx"))
    assert shipped_onnx(shipped) == shipped.with_suffix(".onnx")
    onnx_vectors = OnnxEmbedder(shipped.with_suffix(".onnx")).embed(crops)
    assert (onnx_vectors * vectors).sum(axis=1).min() >= 0.9999
    shipped.write_bytes(shipped.read_bytes() + b"\0")  # the checkpoint changes: the copy is stale
    assert shipped_onnx(shipped) is None


@pytest.mark.parametrize(
    "args,message",
    [
        (["segment", "--data", "/nonexistent/reid", "--smoke"], "not found"),
        (["pretrain", "--data", "DATA", "--smoke"], "--segments"),
        (["train", "--data", "DATA", "--smoke", "--set", "model.patch=5"], "model.patch"),
        (["eval", "--weights", "/nonexistent.pt", "--data", "DATA"], "no such Re-ID checkpoint"),
        (["pretrain", "--data", "DATA", "--masking", "checkerboard", "--smoke"], "pretrain.masking"),
    ],
)
def test_user_errors_are_one_line(args: list[str], message: str, smoke_scene: Path, runner: CliRunner):
    args = [str(smoke_scene / "reid") if a == "DATA" else a for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == USER_ERROR_EXIT, result.output
    assert message in result.output
    assert "Traceback" not in result.output
