"""Running statistics: numpy's values on the joined data, bit-identical for any chunking."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labbench.criteria.limits import Band, MeasureTracker, compute_stat, judge_measure
from labbench.criteria.stats import BLOCK, STATS, RunningStats


def _fed(values: np.ndarray, cuts: list[int]) -> RunningStats:
    stats = RunningStats()
    for part in np.split(values, cuts):
        stats.feed(part)
    return stats


def _random_cuts(rng, n: int, pieces: int) -> list[int]:
    return sorted(rng.choice(np.arange(1, n), size=pieces, replace=False).tolist())


@pytest.mark.parametrize("n", [1, 7, BLOCK - 1, BLOCK, BLOCK + 1, 5 * BLOCK + 123, 200_003])
def test_stats_equal_numpy_on_the_joined_data(n):
    rng = np.random.default_rng(n)
    values = 0.75 + 1e-3 * rng.standard_normal(n)
    stats = _fed(values, _random_cuts(rng, n, min(n - 1, 40)) if n > 1 else [])
    assert stats.value("count") == n
    assert stats.value("first") == values[0] and stats.value("last") == values[-1]
    assert stats.value("min") == values.min() and stats.value("max") == values.max()
    assert stats.value("p2p") == values.max() - values.min()
    assert stats.value("mean") == pytest.approx(values.mean(), rel=1e-14)
    assert stats.value("std") == pytest.approx(values.std(), rel=1e-9, abs=1e-18)


def test_a_window_of_up_to_one_block_gives_numpy_exactly():
    rng = np.random.default_rng(3)
    values = 12.0 + rng.standard_normal(BLOCK)
    stats = _fed(values, [5, 900, 901, 3000])
    assert stats.value("mean") == float(values.mean())
    assert stats.value("std") == float(values.std())


def test_any_chunking_gives_bit_identical_stats():
    """What live (batches) and final (stored chunks) agreeing exactly rests on."""
    rng = np.random.default_rng(11)
    n = 9 * BLOCK + 1717
    values = 1.1 + 1e-2 * rng.standard_normal(n)
    reference = _fed(values, [])
    for trial in range(20):
        chunked = _fed(values, _random_cuts(rng, n, int(rng.integers(1, 300))))
        for stat in STATS:
            assert chunked.value(stat) == reference.value(stat), (trial, stat)
    # Misaligned copies of the same samples (as stored chunks are) change nothing either.
    offset = np.empty(n + 1)[1:]
    offset[:] = values
    assert _fed(offset, [1, 2, 3]).value("std") == reference.value("std")


def test_nan_spoils_the_value_stats_but_not_count_first_last():
    stats = _fed(np.array([1.0, 2.0, math.nan, 4.0]), [1, 3])
    for stat in ("min", "max", "mean", "std", "p2p"):
        assert math.isnan(stats.value(stat))
    assert (stats.value("count"), stats.value("first"), stats.value("last")) == (4.0, 1.0, 4.0)
    assert compute_stat("mean", np.array([1.0, math.nan])) != compute_stat(
        "mean", np.array([1.0, math.nan])
    )


def test_no_samples_has_no_value_and_unknown_stats_are_refused():
    assert RunningStats().value("mean") is None
    with pytest.raises(ValueError, match="median"):
        RunningStats().value("median")
    with pytest.raises(ValueError, match="median"):
        MeasureTracker("median", Band(low=0.0, high=1.0), 0.0)


def test_measure_tracker_matches_the_whole_window_judgement():
    rng = np.random.default_rng(5)
    t = np.arange(20_000) / 1000.0
    v = 0.75 + 1e-3 * rng.standard_normal(t.size)
    band = Band(low=0.749, high=0.751)
    whole = judge_measure(t, v, "std", band, (0.0, 20.0), settle_s=1.0)
    tracker = MeasureTracker("std", band, 0.0, settle_s=1.0)
    for a in range(0, t.size, 777):
        tracker.feed(t[a : a + 777], v[a : a + 777])
    assert tracker.finish() == whole
    assert whole.count == 19_000
