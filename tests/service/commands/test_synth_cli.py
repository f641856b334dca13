from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from service.cli import app
from synth.config import SceneConfig

runner = CliRunner()


def test_show_config_prints_a_valid_full_config() -> None:
    result = runner.invoke(app, ["synth", "--preset", "hard", "--seed", "5", "--show-config"])
    assert result.exit_code == 0, result.output
    cfg = SceneConfig.model_validate(yaml.safe_load(result.stdout))
    assert cfg.seed == 5 and len(cfg.cameras) == 7


def test_unknown_preset_is_one_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["synth", "--out", str(tmp_path / "x"), "--preset", "rainy"])
    assert result.exit_code == 2
    assert "error: unknown preset 'rainy'; choose one of default, hard, night" in result.stderr
    assert "Traceback" not in result.output


def test_bad_override_names_the_key(tmp_path: Path) -> None:
    result = runner.invoke(app, ["synth", "--out", str(tmp_path / "x"), "--set", "fps=0"])
    assert result.exit_code == 2 and "fps" in result.stderr


def test_missing_out_is_explained() -> None:
    result = runner.invoke(app, ["synth"])
    assert result.exit_code == 2 and "--out is required" in result.stderr


def test_non_empty_out_needs_force(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = runner.invoke(app, ["synth", "--out", str(tmp_path), "--smoke"])
    assert result.exit_code == 2 and "--force" in result.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_unsupported_video_codec_fails_before_rendering(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["synth", "--out", str(tmp_path / "x"), "--smoke", "--set", "output.video_fourcc=ZZZZ"]
    )
    assert result.exit_code == 2
    assert "output.video_fourcc='ZZZZ'" in result.stderr and "mp4v" in result.stderr
    assert not list((tmp_path / "x").glob("*.mp4"))


def test_out_that_is_a_file_is_explained(tmp_path: Path) -> None:
    target = tmp_path / "a_file"
    target.write_text("x")
    result = runner.invoke(app, ["synth", "--out", str(target), "--smoke", "--force"])
    assert result.exit_code == 2 and "error:" in result.stderr and "Traceback" not in result.output


def test_force_never_deletes_a_folder_that_is_not_a_scene(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("precious")
    result = runner.invoke(app, ["synth", "--out", str(tmp_path), "--smoke", "--force"])
    assert result.exit_code == 2 and "not a crosscam scene" in result.stderr
    assert (tmp_path / "thesis.tex").read_text() == "precious"
