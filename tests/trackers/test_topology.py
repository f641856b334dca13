"""Camera topology: learning transit windows from confident matches, override files, unconnected pairs."""

from __future__ import annotations

import numpy as np
import pytest

from trackers.config import ConfigError
from trackers.topology import CameraTopology, default_topology_config


def config(**changes):
    return default_topology_config().model_copy(update=changes)


def test_recovers_planted_transit_times():
    rng = np.random.default_rng(0)
    topology = CameraTopology(
        config(min_samples=4, quantiles=(0.05, 0.95), margin_s=0.0, margin_fraction=0.0)
    )
    planted = {
        ("cam01", "cam03"): (20.0, 2.0),
        ("cam03", "cam05"): (45.0, 4.0),
        ("cam01", "cam02"): (-3.0, 1.0),
    }
    for (a, b), (mean, std) in planted.items():
        for value in rng.normal(mean, std, 400):
            topology.observe(a, b, float(value))
    for (a, b), (mean, std) in planted.items():
        lo, hi = topology.window(a, b)
        # the 5-95 % range of a normal distribution is mean -/+ 1.645 std
        assert lo == pytest.approx(mean - 1.645 * std, abs=0.5 * std)
        assert hi == pytest.approx(mean + 1.645 * std, abs=0.5 * std)
        assert topology.learned_pairs()[(a, b)]["median_s"] == pytest.approx(mean, abs=0.3 * std)
    assert topology.allows("cam01", "cam03", 20.0) and not topology.allows("cam01", "cam03", 40.0)
    # overlapping views learn a window of negative transits: both cameras see the vehicle at once
    assert topology.window("cam01", "cam02")[1] < 0


def test_prior_window_until_enough_samples_then_margins():
    topology = CameraTopology(config(min_samples=3, quantiles=(0.0, 1.0), margin_s=2.0, margin_fraction=0.5))
    assert topology.window("a", "b") == (0.0, topology.config.prior_max_transit_s)
    assert not topology.allows("a", "b", -1.0)  # no overlap assumed before learning
    for value in (10.0, 12.0):
        topology.observe("a", "b", value)
    assert topology.window("a", "b") == (0.0, topology.config.prior_max_transit_s)
    topology.observe("a", "b", 14.0)
    # [10, 14] widened by 2 s + half its width (2 s) on both sides
    assert topology.window("a", "b") == pytest.approx((6.0, 18.0))
    assert topology.window("b", "a") == (0.0, topology.config.prior_max_transit_s)  # pairs are ordered


def test_unseen_pairs_are_blocked_once_a_camera_has_handed_over_enough():
    topology = CameraTopology(config(min_samples=2, mature_after=5, block_unseen_pairs=True))
    for _ in range(4):
        topology.observe("a", "b", 15.0)
    assert topology.window("a", "c") is not None
    topology.observe("a", "b", 15.0)
    assert topology.window("a", "c") is None  # five hand-offs from a, none ever to c
    assert topology.window("c", "a") is not None  # c itself has handed nothing over
    assert topology.window("a", "a") is not None  # a camera always connects to itself
    lenient = CameraTopology(config(min_samples=2, mature_after=5, block_unseen_pairs=False))
    for _ in range(5):
        lenient.observe("a", "b", 15.0)
    assert lenient.window("a", "c") is not None


def test_override_file_wins_over_learning(tmp_path):
    override = tmp_path / "topology.yaml"
    override.write_text(
        "pairs:\n"
        "  - {cameras: [cam01, cam03], transit_s: [10, 40]}\n"
        "  - {cameras: [cam01, cam04], connected: false}\n"
        "  - {cameras: [cam05, cam06], transit_s: [5, 9], directed: true}\n"
    )
    topology = CameraTopology(config(override_file=override, min_samples=1))
    for _ in range(10):
        topology.observe("cam01", "cam03", 100.0)
    assert topology.window("cam01", "cam03") == (10.0, 40.0)
    assert topology.window("cam03", "cam01") == (10.0, 40.0)
    assert topology.window("cam01", "cam04") is None and topology.window("cam04", "cam01") is None
    assert topology.window("cam05", "cam06") == (5.0, 9.0)
    assert topology.window("cam06", "cam05") == (0.0, topology.config.prior_max_transit_s)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pairs:\n  - {cameras: [a, b]}\n", "needs transit_s"),
        ("pairs:\n  - {cameras: [a, b], transit_s: [9, 3]}\n", "must be \\[min, max\\]"),
        ("pairs:\n  - {cameras: [a, b], transit_s: [1, 3], speed: 4}\n", "bad pair entry"),
        ("pairs: [oops\n", "not a topology override file"),
    ],
)
def test_bad_override_files_name_the_problem(tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=expected) as info:
        CameraTopology(config(override_file=path))
    assert str(path) in str(info.value)


def test_missing_override_file():
    with pytest.raises(ConfigError, match="no such topology override file"):
        CameraTopology(config(override_file="/nonexistent/topology.yaml"))


def test_state_round_trip():
    topology = CameraTopology(config(min_samples=2))
    for value in (3.0, 5.0, 7.0):
        topology.observe("a", "b", value)
    copy = CameraTopology(config(min_samples=2))
    copy.load_state(topology.state())
    assert copy.window("a", "b") == topology.window("a", "b")
    assert copy.samples() == topology.samples()
