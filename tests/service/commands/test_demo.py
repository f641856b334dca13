from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from service.cli import app

runner = CliRunner()


def test_demo_scores_the_scene_and_reuses_it(tmp_path: Path) -> None:
    first = runner.invoke(app, ["demo", "--out", str(tmp_path), "--smoke", "--seed", "2"])
    assert first.exit_code == 0, first.output
    assert "generating the default scene" in first.stdout
    assert "1.0000" in first.stdout  # ground truth scored against itself: IDF1 exactly 1
    assert (tmp_path / "scene" / "gt" / "gt.txt").is_file()
    second = runner.invoke(app, ["demo", "--out", str(tmp_path), "--smoke", "--seed", "2"])
    assert second.exit_code == 0 and "reusing the scene" in second.stdout
