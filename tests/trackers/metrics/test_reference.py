"""Reproduce published reference figures (py-motmetrics' and TrackEval's) on TUD-Campus and TUD-Stadtmitte.

The data lie read-only in ``<repo>/../shared/data/motmetrics-ref`` (see its SOURCES.md, note 2); the test
skips when they are absent. motmetrics reports motp as mean (1 − IoU); crosscam reports mean IoU.
"""

import csv
from pathlib import Path

import pytest

from trackers.metrics.formats import read_mot
from trackers.metrics.mot import MOTReport, score_mot_many

REFERENCE_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "motmetrics-ref"
SEQUENCES = ("TUD-Campus", "TUD-Stadtmitte")
TOLERANCE = 1e-6
OVERALL = "OVERALL"  # motmetrics' name of the combined row


@pytest.fixture(scope="module")
def report() -> MOTReport:
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"reference data not found at {REFERENCE_DIR}")
    sequences = {
        name: (
            read_mot(REFERENCE_DIR / name / "gt.txt", ground_truth=True),
            read_mot(REFERENCE_DIR / name / "test.txt", ground_truth=False),
        )
        for name in SEQUENCES
    }
    return score_mot_many(sequences)


def _rows(file_name: str) -> dict[str, dict[str, float]]:
    with (REFERENCE_DIR / file_name).open() as handle:
        return {row.pop("sequence"): {k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)}


def test_motchallenge_metrics_match_motmetrics_reference(report):
    expected = _rows("expected_motchallenge_metrics.csv")
    assert set(expected) == {*SEQUENCES, OVERALL}
    for name, values in expected.items():
        score = report.combined if name == OVERALL else report.per_sequence[name]
        assert len(values) == 15
        for column, value in values.items():
            # motmetrics' motp is mean (1 − IoU); ours is mean IoU.
            actual = 1.0 - score.motp if column == "motp" else getattr(score, column)
            assert actual == pytest.approx(value, abs=TOLERANCE), f"{name} {column}"


def test_hota_matches_trackeval_reference(report):
    expected = _rows("expected_hota.csv")
    for name, values in expected.items():
        score = report.combined if name.startswith("COMBINED") else report.per_sequence[name]
        assert score.hota == pytest.approx(values["hota"], abs=TOLERANCE), name
        assert score.deta == pytest.approx(values["deta"], abs=TOLERANCE), name
        assert score.assa == pytest.approx(values["assa"], abs=TOLERANCE), name
    assert any(name.startswith("COMBINED") for name in expected)
