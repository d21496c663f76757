"""Power-sequencing timing on synthetic ramps with known answers (docs/architecture.md §4)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labbench.criteria.band import CriterionError
from labbench.criteria.timing import (
    CrossingTracker,
    TimingTracker,
    describe_ms,
    find_crossing,
    judge_delay,
    judge_order,
    judge_rise,
)

RATES = (1000, 2000, 10_000)


def _ramp(rate, start_s, rise_s, nominal, duration_s=0.05, shape="linear"):
    """A rail switched on at ``start_s``: linear to ``nominal`` over ``rise_s``, or an RC
    charge with time constant ``rise_s``."""
    t = np.arange(int(duration_s * rate)) / rate
    x = np.clip((t - start_s) / rise_s, 0.0, None)
    v = nominal * np.minimum(x, 1.0) if shape == "linear" else nominal * (1.0 - np.exp(-x))
    return t, v


@pytest.mark.parametrize("rate", RATES)
def test_linear_ramp_rise_is_exact_at_every_rate(rate):
    # 10 % → 90 % of a 5 ms linear ramp is 4 ms; the interpolation is exact on a line.
    t, v = _ramp(rate, 0.010, 0.005, 0.75)
    out = judge_rise(t, v, 0.75, low_ms=3.5, high_ms=4.5, rail="vdd_core")
    assert out.verdict == "passed"
    assert out.value_ms == pytest.approx(4.0, abs=1e-9)
    assert "vdd_core rose from 10 % to 90 % in 4 ms" in out.reason
    assert out.count == t.size


@pytest.mark.parametrize("rate", RATES)
def test_rc_ramp_rise_within_a_sample_period(rate):
    # An RC charge: 10 % → 90 % takes tau * ln 9.
    tau = 0.002
    t, v = _ramp(rate, 0.010, tau, 1.8, shape="rc")
    out = judge_rise(t, v, 1.8)
    truth = tau * math.log(9) * 1e3
    assert abs(out.value_ms - truth) < 1e3 / rate


@pytest.mark.parametrize("rate", RATES)
def test_crossing_time_interpolated_between_samples(rate):
    t, v = _ramp(rate, 0.0103, 0.004, 1.0)
    crossing = find_crossing(t, v, 0.5)
    assert crossing.t_s == pytest.approx(0.0123, abs=1e-9)
    assert crossing.glitches == () and not crossing.already_above


def test_pieces_give_the_same_state_as_the_whole():
    t, v = _ramp(2000, 0.0101, 0.003, 0.75, shape="rc")
    v = v + 0.02 * np.sin(t * 3000)  # ringing around the thresholds
    whole = TimingTracker("rise", [("r", 0.1, 0.75), ("r", 0.9, 0.75)])
    whole.feed("r", t, v)
    pieces = TimingTracker("rise", [("r", 0.1, 0.75), ("r", 0.9, 0.75)])
    for a in range(0, t.size, 7):
        pieces.feed("r", t[a : a + 7], v[a : a + 7])
    assert whole.finish() == pieces.finish()


def test_glitch_first_crossing_counts_and_the_glitch_is_reported():
    rate = 2000
    t, v = _ramp(rate, 0.010, 0.005, 1.0)
    # After reaching 90 %, the rail drops back to 0.8 for 2 ms, then comes back.
    dip = (t >= 0.020) & (t < 0.022)
    v[dip] = 0.8
    out = judge_rise(t, v, 1.0, high_ms=5, rail="vdd_io")
    assert out.verdict == "passed"
    assert out.value_ms == pytest.approx(4.0, abs=1e-9)
    assert len(out.glitches) == 1
    rail, at = out.glitches[0]
    assert rail == "vdd_io" and 0.0215 < at <= 0.0225
    assert "glitch: vdd_io dropped below 90 % and crossed it again 1 time" in out.reason


def test_glitch_across_pieces():
    tracker = CrossingTracker(0.5)
    tracker.feed(np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    tracker.feed(np.array([2.0]), np.array([0.0]))
    tracker.feed(np.array([3.0]), np.array([1.0]))
    c = tracker.result()
    assert c.t_s == 0.5 and c.glitches == (2.5,) and c.glitch_count == 1


def test_glitch_list_is_bounded_but_counted():
    t = np.arange(200) * 1e-3
    v = np.where(np.arange(200) % 2, 1.0, 0.0)
    c = find_crossing(t, v, 0.5)
    assert c.t_s == pytest.approx(0.0005)
    assert c.glitch_count == 99 and len(c.glitches) == 8


@pytest.mark.parametrize("rate", RATES)
def test_rail_that_never_reaches_90_percent_fails_with_the_reason(rate):
    t, v = _ramp(rate, 0.010, 0.005, 0.6)  # tops out at 0.6 of a 0.75 nominal: 80 %
    out = judge_rise(t, v, 0.75, high_ms=10, rail="vdd_core")
    assert out.verdict == "failed"
    assert out.value_ms is None
    assert out.reason == "vdd_core never reached 90 % of 0.75 (0.675)"


def test_rail_already_up_when_the_step_began_fails():
    t = np.arange(10) * 1e-3
    out = judge_rise(t, np.full(10, 0.75), 0.75, rail="vdd_core")
    assert out.verdict == "failed"
    assert "already at or above 10 % of 0.75" in out.reason


def test_no_samples_is_an_error():
    out = judge_rise(np.array([]), np.array([]), 0.75, rail="vdd_core")
    assert out.verdict == "error" and out.value_ms is None
    assert out.reason == "no samples of vdd_core in the step"
    nan_only = judge_rise(np.arange(3.0), np.full(3, np.nan), 0.75, rail="vdd_core")
    assert nan_only.verdict == "error"


def test_nan_samples_are_skipped():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    v = np.array([0.0, np.nan, np.nan, 1.0])
    assert find_crossing(t, v, 0.5).t_s == 1.5


@pytest.mark.parametrize(
    ("low", "high", "verdict"),
    [
        (None, 4.5, "passed"),
        (None, 3.5, "failed"),
        (3.5, None, "passed"),
        (4.5, None, "failed"),
        (4.0, 4.0, "passed"),  # inclusive
        (None, None, "passed"),
    ],
)
def test_one_sided_and_inclusive_limits(low, high, verdict):
    t, v = _ramp(1000, 0.010, 0.005, 1.0)
    out = judge_rise(t, v, 1.0, low_ms=low, high_ms=high)
    assert out.verdict == verdict
    if verdict == "failed":
        assert f"outside {describe_ms(low, high)}" in out.reason


@pytest.mark.parametrize("rate", RATES)
def test_delay_between_rails(rate):
    io = _ramp(rate, 0.005, 0.004, 1.8)
    core = _ramp(rate, 0.012, 0.002, 0.75)
    # io reaches 90 % at 5 + 3.6 ms; core reaches 10 % at 12 + 0.2 ms: 3.6 ms later.
    out = judge_delay(io, 1.8, 0.9, core, 0.75, 0.1, low_ms=1, names=("vdd_io", "vdd_core"))
    assert out.verdict == "passed"
    assert out.value_ms == pytest.approx(3.6, abs=1e-9)
    assert out.reason == "vdd_core reached 10 % 3.6 ms after vdd_io reached 90 %"
    reverse = judge_delay(core, 0.75, 0.9, io, 1.8, 0.9, names=("vdd_core", "vdd_io"))
    assert reverse.value_ms == pytest.approx(8.6 - 13.8, abs=1e-9)  # negative: io came first


def test_delay_fails_when_one_rail_never_reaches_its_fraction():
    io = _ramp(2000, 0.005, 0.004, 1.8)
    core = _ramp(2000, 0.012, 0.002, 0.3)
    out = judge_delay(io, 1.8, 0.9, core, 0.75, 0.5, names=("vdd_io", "vdd_core"))
    assert out.verdict == "failed"
    assert out.reason == "vdd_core never reached 50 % of 0.75 (0.375)"


def test_delay_with_a_silent_rail_is_an_error():
    io = _ramp(2000, 0.005, 0.004, 1.8)
    out = judge_delay(io, 1.8, 0.9, (np.array([]), np.array([])), 0.75, 0.9, names=("a", "b"))
    assert out.verdict == "error" and "no samples of b" in out.reason


@pytest.mark.parametrize("rate", RATES)
def test_order(rate):
    io = _ramp(rate, 0.005, 0.004, 1.8)  # 90 % at 8.6 ms
    aux = _ramp(rate, 0.009, 0.002, 1.2)  # 90 % at 10.8 ms
    core = _ramp(rate, 0.012, 0.002, 0.75)  # 90 % at 13.8 ms
    rails = {"vdd_io": (*io, 1.8), "vdd_aux": (*aux, 1.2), "vdd_core": (*core, 0.75)}
    out = judge_order(rails, low_ms=2)
    assert out.verdict == "passed"
    assert out.value_ms == pytest.approx(2.2, abs=1e-9)
    assert "vdd_io → vdd_aux" in out.reason
    assert judge_order(rails, low_ms=2.5).verdict == "failed"
    swapped = {"vdd_io": (*io, 1.8), "vdd_core": (*core, 0.75), "vdd_aux": (*aux, 1.2)}
    out = judge_order(swapped)
    assert out.verdict == "failed"
    assert out.value_ms == pytest.approx(-3.0, abs=1e-9)
    assert "vdd_aux reached 90 % 3 ms before vdd_core, out of the listed order" in out.reason


def test_order_with_a_rail_that_never_comes_up():
    io = _ramp(2000, 0.005, 0.004, 1.8)
    core = _ramp(2000, 0.012, 0.002, 0.5)
    out = judge_order({"vdd_io": (*io, 1.8), "vdd_core": (*core, 0.75)})
    assert out.verdict == "failed" and "vdd_core never reached 90 %" in out.reason


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"kind": "fall"}, "kind"),
        ({"low_ms": 5.0, "high_ms": 1.0}, "low_ms"),
        ({"low_ms": math.nan}, "low_ms"),
        ({"thresholds": [("r", 1.5, 1.0), ("r", 0.9, 1.0)]}, "fraction"),
        ({"thresholds": [("r", 0.0, 1.0), ("r", 0.9, 1.0)]}, "fraction"),
        ({"thresholds": [("r", 0.1, -1.0), ("r", 0.9, -1.0)]}, "nominal"),
    ],
)
def test_tracker_refuses_inconsistent_items(kwargs, key):
    args = {"kind": "rise", "thresholds": [("r", 0.1, 1.0), ("r", 0.9, 1.0)]} | kwargs
    with pytest.raises(CriterionError) as info:
        TimingTracker(**args)
    assert info.value.key == key


def test_describe_ms():
    assert describe_ms(1, 5) == "1 … 5 ms"
    assert describe_ms(1, None) == "≥ 1 ms"
    assert describe_ms(None, 5.5) == "≤ 5.5 ms"
