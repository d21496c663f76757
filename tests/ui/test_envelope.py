"""The growing min/max envelope that draws long runs without hiding an extreme."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from labbench.ui.envelope import BlockEnvelope, envelope
from labbench.ui.live_view import LiveRunView


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(0, 3000),
    pieces=st.lists(st.integers(1, 700), min_size=1, max_size=30),
    x0=st.floats(0, 3000),
    span=st.floats(1, 3000),
    pixels=st.integers(1, 50),
)
def test_envelope_never_hides_an_extreme(n, pieces, x0, span, pixels):
    rng = np.random.default_rng(n)
    t = np.arange(n, dtype=float)
    v = rng.normal(size=n)
    if n > 10:
        v[rng.integers(0, n, 3)] = np.nan
    envelope = BlockEnvelope(block=16)
    pos, k = 0, 0
    while pos < n:
        size = pieces[k % len(pieces)]
        envelope.extend(t[pos : pos + size], v[pos : pos + size])
        pos += size
        k += 1
    assert envelope.samples == n
    x1 = x0 + span
    et, ev = envelope.query(x0, x1, pixels)
    inside = (t >= x0) & (t <= x1) & ~np.isnan(v)
    if inside.any():
        # every sample in view lies within what is drawn around it
        assert np.nanmin(ev) <= v[inside].min() and np.nanmax(ev) >= v[inside].max()
    assert (
        et.size <= 2 * (pixels + 2) + 16
    )  # bounded by pixels (and one unfinished block), not by the run


def test_envelope_keeps_every_extreme_and_a_gap_only_where_a_whole_column_is_missing():
    t = np.arange(4000) / 1000.0
    v = 0.75 + 0.001 * np.sin(t * 50)
    v[1234] = 0.9  # a spike
    v[3001] = 0.6  # a dip
    v[2000:2010] = np.nan  # a gap narrower than a column: the column's other samples stand
    v[400:440] = np.nan  # a gap wider than a column: drawn as a gap
    out_t, out_v = envelope(t, v, 0.0, 4.0, 100)
    assert out_t.size <= 2 * 100 + 40
    assert np.nanmax(out_v) == 0.9 and np.nanmin(out_v) == 0.6
    assert np.isnan(out_v).any(), "the wide gap"
    column = int(np.searchsorted(out_t, 2.005)) // 2 * 2
    assert np.isfinite(out_v[column : column + 2]).all(), "the narrow gap's column"
    assert envelope(t, v, 0.0, 4.0, 1000, keep=4)[0].size == t.size, "few enough: as they are"


def test_a_runs_first_seconds_are_drawn_as_a_min_max_pair_every_4_pixels():
    """Early in a run, before the blocks are enough for a 10 s window, a curve is the samples'
    own min/max every 4 pixels (it was up to 4 points a pixel: 4x the cost of a frame later
    on), every spike kept; fewer samples than half the pixels are drawn as they are."""
    t = np.arange(5000) / 1000.0
    v = 0.75 + 0.003 * np.random.default_rng(1).standard_normal(t.size)
    v[2345] = 0.95
    blocks = BlockEnvelope()
    blocks.extend(t, v)

    def samples_between(name, t0, t1):
        a, b = np.searchsorted(t, t0), np.searchsorted(t, t1, side="right")
        return t[a:b], v[a:b]

    view = SimpleNamespace(_samples_between=samples_between)
    width = 1300
    drawn_t, drawn_v = LiveRunView._drawable(view, "vdd_core", blocks, 0.0, 10.0, width)
    assert drawn_t.size <= 2 * (width // 4) + width // 4
    assert drawn_v.max() == 0.95 and drawn_v.min() == v.min()
    few = BlockEnvelope()
    few.extend(t[:600], v[:600])
    drawn_t, _ = LiveRunView._drawable(view, "vdd_core", few, 0.0, 0.6, width)
    assert drawn_t.size == 601, "every sample up to 0.6 s"
