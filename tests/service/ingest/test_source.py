"""The processing-rate policy and the rate meter, on hand-made timelines."""

from __future__ import annotations

import numpy as np
import pytest

from service.ingest import FpsMeter
from service.ingest.source import FrameRate


def admitted(rate: FrameRate, timestamps: np.ndarray) -> np.ndarray:
    return np.array([t for t in timestamps if rate.admit(float(t))])


@pytest.mark.parametrize(
    ("source_fps", "process_fps"), [(25.0, 10.0), (29.97, 10.0), (30.0, 5.0), (60.0, 2.5)]
)
def test_a_faster_source_is_decimated_to_the_processing_rate_evenly(
    source_fps: float, process_fps: float
) -> None:
    kept = admitted(FrameRate(process_fps), np.arange(0, 20, 1 / source_fps))
    assert len(kept) / 20 == pytest.approx(process_fps, rel=0.02)
    gaps = np.diff(kept)
    # Evenly spaced: each gap is a period give or take one source frame.
    assert np.abs(gaps - 1 / process_fps).max() <= 1 / source_fps + 1e-9


def test_a_source_at_or_below_the_rate_keeps_every_frame_whatever_its_jitter() -> None:
    for fps in (10.0, 9.0, 3.0):
        times = np.arange(0, 5, 1 / fps)
        assert len(admitted(FrameRate(10.0), times)) == len(times)
    jittered = np.arange(0, 5, 0.1) + np.random.default_rng(0).uniform(
        -0.02, 0.02, 50
    )  # network arrival times
    assert len(admitted(FrameRate(10.0), jittered)) == 50
    times = np.arange(0, 5, 1 / 25)
    assert len(admitted(FrameRate(None), times)) == len(times)


def test_a_gap_in_the_stream_restarts_the_grid() -> None:
    rate = FrameRate(10.0)
    assert [rate.admit(t) for t in (0.0, 0.04, 0.08)] == [True, False, True]
    assert [rate.admit(t) for t in (30.0, 30.04, 30.1)] == [True, False, True]  # after a 30 s outage


def test_the_meter_reads_the_steady_rate_and_decays_to_zero_when_frames_stop() -> None:
    meter = FpsMeter(window_s=3.0)
    for t in np.arange(0, 10, 0.04):  # 25 fps
        meter.tick(float(t))
    assert meter.rate(10.0) == pytest.approx(25.0, rel=0.03)
    assert meter.rate(11.5) == pytest.approx(12.5, rel=0.05)  # half the window still holds frames
    assert meter.rate(14.0) == 0.0


def test_a_burst_after_a_reconnect_is_no_spike() -> None:
    meter = FpsMeter(window_s=3.0)
    for t in np.arange(0, 10, 0.04):
        meter.tick(float(t))
    for k in range(30):  # 20 s later, a reconnect delivers 30 buffered frames within 15 ms
        meter.tick(30.0 + k * 0.0005)
    assert meter.rate(30.02) <= 25.0  # 30 frames over the 3 s window: 10 fps, never hundreds


def test_early_on_the_rate_is_over_the_time_since_the_first_frame() -> None:
    meter = FpsMeter(window_s=3.0)
    for t in np.arange(0, 1, 0.1):
        meter.tick(float(t))
    assert meter.rate(1.0) == pytest.approx(10.0, rel=0.01)
    assert FpsMeter().rate() == 0.0
