from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from service.cli import app
from trackers.metrics import read_mtmc, score_mtmc

runner = CliRunner()


def test_demo_tracks_the_scene_scores_it_and_reuses_it(tmp_path: Path) -> None:
    args = ["demo", "--out", str(tmp_path), "--smoke", "--seed", "2", "--embedder", "colourhog"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "generating the default scene" in first.stdout
    assert "online" in first.stdout and "refined" in first.stdout and "IDF1" in first.stdout
    gt = read_mtmc(tmp_path / "scene" / "gt" / "gt.txt", ground_truth=True)
    for mode in ("online", "refined"):
        pred = read_mtmc(tmp_path / f"pred_{mode}.txt", ground_truth=False)
        # the printed IDF1 is the score of the written predictions
        assert f"{score_mtmc(gt, pred).idf1:.4f}" in first.stdout
    second = runner.invoke(app, args)
    assert second.exit_code == 0 and "reusing the scene" in second.stdout
