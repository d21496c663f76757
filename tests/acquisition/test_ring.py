"""Ring buffers that hold the newest samples of each channel for live views."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from labbench.acquisition.ring import ChannelRing


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
