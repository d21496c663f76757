"""Verdict rules at and around every boundary; live (chunked) and final (whole) agree."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labbench.criteria.limits import (
    Band,
    LimitTracker,
    compute_stat,
    judge_limit,
    judge_measure,
    judge_reported,
    worst,
)

BAND = Band(low=0.72, high=0.78, marginal_low=0.73, marginal_high=0.77)
DT = 1 / 128  # about 100 Hz, and exact in binary: a duration of 5 samples is exactly 5 * DT


def _series(values, start=0.0):
    v = np.array(values, dtype=np.float64)
    return start + np.arange(v.size) * DT, v


def _live(t, v, band, window, settle, hold, chunks):
    """Feed a tracker the window's samples in the given chunk sizes (as batches arrive)."""
    start, end = window
    keep = (t >= start) & (t < end)
    t, v = t[keep], v[keep]
    tracker = LimitTracker(band, start, settle, hold)
    i = 0
    k = 0
    while i < t.size:
        n = chunks[k % len(chunks)]
        tracker.feed(t[i : i + n], v[i : i + n])
        i += n
        k += 1
    return tracker.finish(end)


def _summary(outcome):
    return (
        outcome.verdict,
        outcome.count,
        [(e.start_s, e.end_s, repr(e.extreme), e.bound) for e in outcome.violations],
        repr(outcome.worst_value),
    )


CASES = [
    # name, values, band, settle, hold, expected verdict,
    # expected violations [(start index, end index or None=window end)]
    ("all nominal", [0.75] * 10, BAND, 0.0, 0.0, "passed", []),
    (
        "exactly on low",
        [0.75, 0.72, 0.75],
        BAND,
        0.0,
        0.0,
        "marginal",
        [],
    ),  # 0.72 is in the guard band
    ("exactly on high", [0.75, 0.78, 0.75], Band(0.72, 0.78), 0.0, 0.0, "passed", []),
    ("exactly on low, no guard", [0.75, 0.72, 0.75], Band(0.72, 0.78), 0.0, 0.0, "passed", []),
    ("just below low", [0.75, np.nextafter(0.72, 0), 0.75], BAND, 0.0, 0.0, "failed", [(1, 2)]),
    ("just above high", [0.75, np.nextafter(0.78, 1), 0.75], BAND, 0.0, 0.0, "failed", [(1, 2)]),
    ("exactly on marginal_low edge", [0.75, 0.73, 0.75], BAND, 0.0, 0.0, "marginal", []),
    (
        "just inside marginal_low edge",
        [0.75, np.nextafter(0.73, 1), 0.75],
        BAND,
        0.0,
        0.0,
        "passed",
        [],
    ),
    ("exactly on marginal_high edge", [0.75, 0.77], BAND, 0.0, 0.0, "marginal", []),
    # hold 5 samples: out at samples 2..6, back in at 7 -> lasts exactly hold_s: fails
    (
        "excursion of exactly hold_s",
        [0.75, 0.75, 0.7, 0.7, 0.7, 0.7, 0.7, 0.75, 0.75],
        BAND,
        0.0,
        5 * DT,
        "failed",
        [(2, 7)],
    ),
    # one sample shorter: out 2..5, back in at 6 -> 4 samples < hold;
    # out samples are not in a guard band
    (
        "one sample shorter than hold_s",
        [0.75, 0.75, 0.7, 0.7, 0.7, 0.7, 0.75, 0.75],
        BAND,
        0.0,
        5 * DT,
        "passed",
        [],
    ),
    (
        "short excursion plus guard band",
        [0.75, 0.7, 0.75, 0.772],
        BAND,
        0.0,
        5 * DT,
        "marginal",
        [],
    ),
    ("samples only inside the settle window", [0.5, 0.6, 0.7], BAND, 1.0, 0.0, "error", []),
    ("empty window", [], BAND, 0.0, 0.0, "error", []),
    ("NaN is out", [0.75, math.nan, 0.75], BAND, 0.0, 0.0, "failed", [(1, 2)]),
    ("NaN run shorter than hold", [0.75, math.nan, 0.75], BAND, 0.0, 5 * DT, "passed", []),
    ("one-sided high limit", [-100.0, 40.0, 84.999], Band(high=85.0), 0.0, 0.0, "passed", []),
    (
        "one-sided high limit exceeded",
        [40.0, 85.5, 40.0],
        Band(high=85.0),
        0.0,
        0.0,
        "failed",
        [(1, 2)],
    ),
    ("one-sided low limit", [1e9, 1000.0], Band(low=1000.0), 0.0, 0.0, "passed", []),
    (
        "open excursion ends at the window end",
        [0.75, 0.75, 0.6, 0.6],
        BAND,
        0.0,
        2 * DT,
        "failed",
        [(2, None)],
    ),
    (
        "open excursion shorter than hold at the window end",
        [0.75, 0.75, 0.6, 0.6],
        BAND,
        0.0,
        3 * DT,
        "passed",
        [],
    ),
    ("settle hides the ramp", [0.1, 0.3, 0.6, 0.75, 0.75], BAND, 3 * DT, 0.0, "passed", []),
    (
        "two excursions, both fail",
        [0.7, 0.75, 0.8, 0.75],
        BAND,
        0.0,
        0.0,
        "failed",
        [(0, 1), (2, 3)],
    ),
]


@pytest.mark.parametrize(
    "name, values, band, settle, hold, expected, violations", CASES, ids=[c[0] for c in CASES]
)
def test_verdict_table_live_equals_final(name, values, band, settle, hold, expected, violations):
    t, v = _series(values)
    window = (0.0, (len(values)) * DT)  # the window ends one sample period after the last sample
    final = judge_limit(t, v, band, window, settle, hold)
    assert final.verdict == expected
    got = [(e.start_s, e.end_s) for e in final.violations]
    want = [(t[a], t[b] if b is not None and b < t.size else window[1]) for a, b in violations]
    assert got == want
    for chunks in ([1], [2], [3, 1], [len(values) or 1]):
        assert _summary(_live(t, v, band, window, settle, hold, chunks)) == _summary(final)


def test_violation_records_extreme_and_bound():
    t, v = _series([0.75, 0.71, 0.69, 0.70, 0.75, 0.79, 0.81, 0.75])
    outcome = judge_limit(t, v, BAND, (0.0, 1.0))
    assert [(e.extreme, e.bound) for e in outcome.violations] == [(0.69, "low"), (0.81, "high")]
    assert outcome.worst_value == 0.69
    nan = judge_limit(*_series([0.75, math.nan, 0.75]), BAND, (0.0, 1.0))
    assert nan.violations[0].bound == "nan" and math.isnan(nan.violations[0].extreme)


def test_samples_outside_the_window_are_not_judged():
    t, v = _series([0.1, 0.75, 0.75, 0.1])
    assert judge_limit(t, v, BAND, (t[1], t[3])).verdict == "passed"  # the end is exclusive


@pytest.mark.parametrize(
    "stat, expected",
    [
        ("min", 0.74),
        ("max", 0.76),
        ("mean", 0.75),
        ("p2p", 0.76 - 0.74),
        ("first", 0.74),
        ("last", 0.75),
        ("count", 3.0),
    ],
)
def test_measure_stats(stat, expected):
    t, v = _series([0.74, 0.76, 0.75])
    assert compute_stat(stat, v) == pytest.approx(expected, abs=1e-15)
    assert judge_measure(t, v, stat, Band(low=-1e9, high=1e9), (0.0, 1.0)).value == compute_stat(
        stat, v
    )


def test_measure_rules():
    t, v = _series([0.74, 0.76, 0.75])
    assert judge_measure(t, v, "std", Band(high=0.01), (0.0, 1.0)).verdict == "passed"
    assert (
        judge_measure(t, v, "mean", Band(0.745, 0.755, 0.746, 0.754), (0.0, 1.0)).verdict
        == "passed"
    )
    assert (
        judge_measure(t, v, "mean", Band(0.749, 0.755, 0.75, None), (0.0, 1.0)).verdict
        == "marginal"
    )
    assert judge_measure(t, v, "mean", Band(0.76, 0.8), (0.0, 1.0)).verdict == "failed"
    nan_t, nan_v = _series([0.75, math.nan])
    assert (
        judge_measure(nan_t, nan_v, "mean", Band(0.7, 0.8), (0.0, 1.0)).verdict == "failed"
    )  # NaN is out
    assert (
        judge_measure(t, v, "mean", Band(0.7, 0.8), (0.0, 1.0), settle_s=5.0).verdict == "error"
    )  # silence
    assert judge_measure(t[:0], v[:0], "count", Band(low=0), (0.0, 1.0)).verdict == "error"


def test_reported_results_and_manual_entries():
    assert judge_reported("PASS", None, "PASS").verdict == "passed"
    assert judge_reported("FAIL", None, "PASS").verdict == "failed"
    assert judge_reported(None, None, "PASS").verdict == "error"
    assert judge_reported("1500.4", Band(1499, 1501), None).verdict == "passed"
    assert judge_reported("n/a", Band(1499, 1501), None).verdict == "failed"


def test_worst_of():
    assert worst([]) == "passed"
    assert worst(["passed", "marginal"]) == "marginal"
    assert worst(["marginal", "failed", "passed"]) == "failed"
    assert worst(["failed", "error"]) == "error"


values = st.lists(
    st.one_of(st.floats(0.6, 0.9), st.just(math.nan), st.sampled_from([0.72, 0.73, 0.77, 0.78])),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(
    vals=values,
    chunks=st.lists(st.integers(1, 9), min_size=1, max_size=10),
    settle=st.sampled_from([0.0, 3 * DT]),
    hold=st.sampled_from([0.0, DT, 2 * DT, 5 * DT]),
    repeats=st.lists(st.integers(1, 3), max_size=80),
)
def test_live_equals_final_for_any_chunking(vals, chunks, settle, hold, repeats):
    """Any samples (NaN, edges, several samples sharing one arrival time), any batching."""
    times = []
    now = 0.0
    for i in range(len(vals)):
        times.append(now)
        if i >= len(repeats) or repeats[i] == 1:
            now += DT  # repeats > 1: the next sample arrived in the same read
    t, v = np.array(times), np.array(vals, dtype=np.float64)
    window = (0.0, now + DT)
    final = judge_limit(t, v, BAND, window, settle, hold)
    assert _summary(_live(t, v, BAND, window, settle, hold, chunks)) == _summary(final)
