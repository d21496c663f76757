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


def test_between_and_value_at_across_the_wrap():
    """Only the samples in [t0, t1] are copied, the ends included, wherever the ring wrapped;
    value_at is the last sample at or before t."""
    ring = ChannelRing(8)
    t = np.arange(13, dtype=float)  # 13 samples in 8 places: held 5..12, wrapped
    ring.extend(t, t * 10)
    bt, bv = ring.between(6.0, 9.0)
    assert bt.tolist() == [6.0, 7.0, 8.0, 9.0] and bv.tolist() == [60.0, 70.0, 80.0, 90.0]
    assert ring.between(6.5, 6.9)[0].size == 0
    assert ring.between(0.0, 5.0)[0].tolist() == [5.0]  # older ones are gone
    assert ring.between(11.0, float("inf"))[0].tolist() == [11.0, 12.0]
    assert ring.value_at(9.5) == 90.0 and ring.value_at(9.0) == 90.0
    assert ring.value_at(4.9) is None  # before what is held
    assert ring.value_at(100.0) == 120.0
    assert ChannelRing(4).value_at(1.0) is None
