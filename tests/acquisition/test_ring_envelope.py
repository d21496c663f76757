"""Ring buffers for live views, and the growing min/max envelope that draws long runs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from labbench.acquisition.ring import ChannelRing
from labbench.ui.envelope import BlockEnvelope


@settings(max_examples=200, deadline=None)
@given(
    capacity=st.integers(1, 50),
    sizes=st.lists(st.integers(0, 70), max_size=20),
    cut=st.floats(-5, 600),
)
def test_ring_keeps_the_newest_and_finds_a_time(capacity, sizes, cut):
    ring = ChannelRing(capacity)
    everything = []
    start = 0
    for n in sizes:
        t = np.arange(start, start + n, dtype=float)
        ring.extend(t, t * 2)
        everything.extend(t.tolist())
        start += n
    held = np.array(everything[-capacity:]) if everything else np.empty(0)
    t, v, total = ring.snapshot()
    np.testing.assert_array_equal(t, held)
    np.testing.assert_array_equal(v, held * 2)
    assert total == len(everything)
    t, v = ring.since_time(cut)
    np.testing.assert_array_equal(t, held[held >= cut])
    if len(everything) >= 3:
        new_t, _, _ = ring.snapshot(len(everything) - 2)
        np.testing.assert_array_equal(new_t, np.array(everything[-2:])[-min(2, capacity) :])


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
