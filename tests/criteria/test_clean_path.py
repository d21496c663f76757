"""LimitTracker's two-reduction path for clean pieces leaves exactly the state the general,
per-sample path leaves, for any samples, any chunking and any kind of band."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from labbench.criteria.limits import Band, LimitTracker

BANDS = [
    Band(low=0.72, high=0.78, marginal_low=0.73, marginal_high=0.77),
    Band(low=0.72, high=0.78),
    Band(low=0.72),
    Band(high=0.78, marginal_high=0.77),
    Band(low=0.72, high=0.78, marginal_low=0.73),
]


class GeneralPathOnly(LimitTracker):
    def _feed_clean(self, v):
        return False


def _state(tracker: LimitTracker, end: float):
    outcome = tracker.finish(end)
    return (
        outcome.verdict,
        outcome.count,
        [(e.start_s, e.end_s, repr(e.extreme), e.bound) for e in outcome.violations],
        repr(outcome.worst_value),
        tracker.marginal,
        repr(tracker._nearest),
    )


@settings(max_examples=400, deadline=None)
@given(
    vals=st.lists(
        st.one_of(
            st.floats(0.70, 0.80),
            st.sampled_from([0.72, 0.73, 0.77, 0.78, math.nan, 0.75, 0.7500000000000001]),
        ),
        max_size=60,
    ),
    chunks=st.lists(st.integers(1, 12), min_size=1, max_size=8),
    band=st.sampled_from(BANDS),
    hold=st.sampled_from([0.0, 0.02]),
)
def test_the_clean_path_ends_in_the_general_paths_state(vals, chunks, band, hold):
    t = np.arange(len(vals)) / 100.0
    v = np.array(vals, dtype=np.float64)
    fast, general = LimitTracker(band, 0.0, 0.0, hold), GeneralPathOnly(band, 0.0, 0.0, hold)
    i = k = 0
    while i < t.size:
        n = chunks[k % len(chunks)]
        piece = t[i : i + n], v[i : i + n]
        assert repr(fast.feed(*piece)) == repr(general.feed(*piece))  # repr: NaN equals NaN
        i, k = i + n, k + 1
    assert _state(fast, 1.0) == _state(general, 1.0)


def test_a_clean_piece_takes_the_clean_path_and_a_guard_sample_does_not():
    band = BANDS[0]
    calls = []

    class Counting(LimitTracker):
        def _track_nearest(self, inside):
            calls.append(inside.size)
            super()._track_nearest(inside)

    tracker = Counting(band, 0.0, 0.0, 0.0)
    tracker.feed(np.arange(3) / 100, np.array([0.75, 0.76, 0.74]))
    assert calls == [3]  # the first piece sets the nearest sample
    tracker.feed(np.arange(3, 6) / 100, np.array([0.75, 0.751, 0.749]))
    assert calls == [3]  # nothing nearer a limit: the per-sample search is skipped
    tracker.feed(np.arange(6, 9) / 100, np.array([0.75, 0.775, 0.75]))  # in the guard band
    assert tracker.marginal and tracker.finish(1.0).verdict == "marginal"
