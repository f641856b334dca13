"""`crosscam eval mtmc|mot`: JSON and table output, and user errors as one red line with exit code 2."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.commands.errors import USER_ERROR_EXIT as USAGE_ERROR
from service.commands.eval import app

# Vehicle 1 in camera 1 (frames 1-4) and camera 2 (frames 1-4).
GT_MTMC = "".join(f"{c} 1 {f} {100 + 2 * f} 50 40 30 -1 -1\n" for c in (1, 2) for f in range(1, 5))
# The prediction calls it 10 in camera 1 and 20 in camera 2: IDF1 = 2*4 / (2*4 + 4 + 4) = 0.5.
PRED_MTMC = "".join(f"{c} {10 * c} {f} {100 + 2 * f} 50 40 30 -1 -1\n" for c in (1, 2) for f in range(1, 5))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_mtmc_json(tmp_path, runner):
    gt, pred = _write(tmp_path / "gt.txt", GT_MTMC), _write(tmp_path / "pred.txt", PRED_MTMC)
    result = runner.invoke(app, ["mtmc", "--gt", str(gt), "--pred", str(pred), "--json"])
    assert result.exit_code == 0, result.output
    values = json.loads(result.stdout)
    assert values["idf1"] == pytest.approx(0.5)
    assert (values["idtp"], values["idfp"], values["idfn"]) == (4, 4, 4)
    assert values["mota"] == pytest.approx(0.875)


def test_mtmc_table_and_empty_prediction(tmp_path, runner):
    gt, pred = _write(tmp_path / "gt.txt", GT_MTMC), _write(tmp_path / "pred.txt", "")
    result = runner.invoke(app, ["mtmc", "--gt", str(gt), "--pred", str(pred)])
    assert result.exit_code == 0, result.output
    assert "idf1" in result.stdout and "0.00" in result.stdout
    as_json = runner.invoke(app, ["mtmc", "--gt", str(gt), "--pred", str(pred), "--json"])
    values = json.loads(as_json.stdout)  # NaN (e.g. precision of nothing) must still be valid JSON
    assert values["idf1"] == 0.0 and values["precision"] is None


def test_mtmc_malformed_file_is_one_red_line(tmp_path, runner):
    gt = _write(tmp_path / "gt.txt", GT_MTMC)
    pred = _write(tmp_path / "pred.txt", PRED_MTMC + "1 10 9 1 2 3\n")
    result = runner.invoke(app, ["mtmc", "--gt", str(gt), "--pred", str(pred)])
    assert result.exit_code == USAGE_ERROR == 2
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ") and "pred.txt line 9:" in lines[0]
    assert "expected 9 space-separated columns" in lines[0]
    assert result.stdout == ""


def test_mtmc_missing_and_empty_ground_truth(tmp_path, runner):
    pred = _write(tmp_path / "pred.txt", PRED_MTMC)
    missing = runner.invoke(app, ["mtmc", "--gt", str(tmp_path / "nope.txt"), "--pred", str(pred)])
    assert missing.exit_code == 2 and "nope.txt: no such file" in missing.stderr
    empty = runner.invoke(app, ["mtmc", "--gt", str(_write(tmp_path / "e.txt", "")), "--pred", str(pred)])
    assert empty.exit_code == 2 and "file is empty" in empty.stderr


def _mot_lines(track_id: int, frames: range) -> str:
    return "".join(f"{f},{track_id},{10 + f},20,30,40,1,-1,-1,-1\n" for f in frames)


def test_mot_folders_per_camera_and_combined(tmp_path, runner):
    # Camera c1 perfect; camera c2 has the track split in two ids (one switch over 4 boxes).
    _write(tmp_path / "gt" / "c1" / "gt" / "gt.txt", _mot_lines(1, range(1, 5)))
    _write(tmp_path / "gt" / "c2" / "gt" / "gt.txt", _mot_lines(1, range(1, 5)))
    _write(tmp_path / "pred" / "c1.txt", _mot_lines(3, range(1, 5)))
    _write(tmp_path / "pred" / "c2.txt", _mot_lines(5, range(1, 3)) + _mot_lines(6, range(3, 5)))
    args = ["mot", "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "pred"), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    values = json.loads(result.stdout)
    assert set(values["sequences"]) == {"c1", "c2"}
    assert values["sequences"]["c1"]["idf1"] == 1.0
    assert values["sequences"]["c2"]["idf1"] == pytest.approx(0.5)
    # Combined: IDTP = 4 + 2 of 8 gt and 8 predicted boxes -> IDF1 = 6/8; MOTA = 1 - 1 switch / 8.
    assert values["combined"]["idf1"] == pytest.approx(0.75)
    assert values["combined"]["mota"] == pytest.approx(7 / 8)
    table = runner.invoke(app, args[:-1], env={"COLUMNS": "160"})
    assert table.exit_code == 0 and "\n│ all " in table.stdout and "c2" in table.stdout


def test_mot_single_file_pair_and_malformed(tmp_path, runner):
    gt = _write(tmp_path / "gt.txt", _mot_lines(1, range(1, 5)))
    pred = _write(tmp_path / "p.txt", _mot_lines(1, range(1, 5)))
    result = runner.invoke(app, ["mot", "--gt", str(gt), "--pred", str(pred), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["combined"]["hota"] == pytest.approx(1.0)
    bad = _write(tmp_path / "bad.txt", _mot_lines(1, range(1, 3)) + "3,1,12,20,0,40,1\n")
    result = runner.invoke(app, ["mot", "--gt", str(gt), "--pred", str(bad)])
    assert result.exit_code == 2
    assert "bad.txt line 3: box width must be > 0" in result.stderr


def test_mot_folder_without_prediction_file(tmp_path, runner):
    _write(tmp_path / "gt" / "c1" / "gt" / "gt.txt", _mot_lines(1, range(1, 5)))
    (tmp_path / "pred").mkdir()
    result = runner.invoke(app, ["mot", "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "pred")])
    assert result.exit_code == 2
    assert "c1.txt: no prediction for sequence c1" in result.stderr


def _gold_from_scene(scene: Path, out: Path, camera: str = "cam01", every: int = 8) -> Path:
    """A gold set made of a town camera's frames and its exact boxes (at least 20 px tall)."""
    import cv2
    import numpy as np

    (out / "images").mkdir(parents=True)
    gt = np.loadtxt(scene / "mot" / camera / "gt" / "gt.txt", delimiter=",", ndmin=2)
    capture, lines, index = cv2.VideoCapture(str(scene / f"{camera}.mp4")), ["file,x1,y1,x2,y2,label"], 0
    while (frame := capture.read())[0]:
        index += 1
        if index % every == 1:
            name = f"{index:04d}.jpg"
            cv2.imwrite(str(out / "images" / name), frame[1])
            for _, _, x, y, w, h, *_ in gt[(gt[:, 0] == index) & (gt[:, 5] >= 20)]:
                lines.append(f"{name},{x},{y},{x + w},{y + h},car")
    (out / "labels.csv").write_text("\n".join(lines) + "\n")
    return out


def test_detector_scores_on_a_gold_set(smoke_scene, tmp_path, runner):
    from trackers.detection import DetectorConfig

    if not DetectorConfig.from_yaml().weights.is_file():
        pytest.skip("no shipped detector")
    gold = _gold_from_scene(smoke_scene, tmp_path / "town_gold", every=4)
    result = runner.invoke(app, ["detector", "--gold", str(gold), "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)["town_gold"]
    assert scores["gt"] > 10 and scores["f1"] > 0.8 and scores["ap50"] > 0.8 and scores["ms_per_frame"] > 0


def test_detector_bad_gold_set_is_one_red_line(tmp_path, runner):
    gold = tmp_path / "gold"
    (gold / "images").mkdir(parents=True)
    _write(gold / "labels.csv", "file,x1,y1,x2,y2,label\na.jpg,1,2,three,4,car\n")
    result = runner.invoke(app, ["detector", "--gold", str(gold)])
    assert result.exit_code == USAGE_ERROR and "line 2: box corners must be numbers" in result.stderr
    result = runner.invoke(app, ["detector", "--gold", str(tmp_path / "none")])
    assert result.exit_code == USAGE_ERROR and "is no gold set" in result.stderr
