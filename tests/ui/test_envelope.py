"""The growing min/max envelope that draws long runs without hiding an extreme."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from labbench.ui.envelope import BlockEnvelope


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
