"""Running statistics of a stream of samples, in constant memory and chunk-invariant.

:class:`RunningStats` keeps count, min, max, first, last (hence p2p) exactly, and mean and
standard deviation by Chan's parallel merge of Welford moments.  The moments are merged in
fixed blocks of :data:`BLOCK` samples counted from the first sample (each block's mean and
sum of squared deviations computed two-pass on the accumulator's own buffer), never in the
pieces the caller happens to feed.  The floating-point operations therefore depend only on
the sequence of samples: the live evaluation (batches as they arrive) and the final one
(stored chunks) reach bit-identical values, and a window of up to one block gives exactly
``numpy.mean`` / ``numpy.std`` (docs/architecture.md §4: live and final agree exactly).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["BLOCK", "STATS", "RunningStats"]

STATS = ("min", "max", "mean", "std", "p2p", "first", "last", "count")

# Samples per merged block: memory per accumulator is one block (32 KiB), and reading the
# current mean or std costs at most one block's worth of work, however long the step.
BLOCK = 4096


def _moments(block: np.ndarray) -> tuple[float, float]:
    """Mean and sum of squared deviations of a block, as numpy's mean and var compute them."""
    mean = np.add.reduce(block) / block.size
    deviation = block - mean
    return float(mean), float(np.add.reduce(deviation * deviation))


def _merge(
    n_a: int, mean_a: float, m2_a: float, n_b: int, mean_b: float, m2_b: float
) -> tuple[int, float, float]:
    """Chan et al.'s pairwise combination of two sets' (count, mean, M2)."""
    if n_a == 0:
        return n_b, mean_b, m2_b
    n = n_a + n_b
    delta = mean_b - mean_a
    return n, mean_a + delta * n_b / n, m2_a + m2_b + delta * delta * n_a * n_b / n


class RunningStats:
    """Every measurement stat of the samples fed so far, fed in any chunking."""

    __slots__ = (
        "_block",
        "_filled",
        "_m2",
        "_max",
        "_mean",
        "_min",
        "_n",
        "_totals_at",
        "count",
        "first",
        "has_nan",
        "last",
    )

    def __init__(self) -> None:
        self.count = 0
        self.first: float | None = None
        self.last: float | None = None
        self.has_nan = False
        self._min = math.inf
        self._max = -math.inf
        self._n, self._mean, self._m2 = 0, 0.0, 0.0  # the merged full blocks
        self._block = np.empty(BLOCK, np.float64)
        self._filled = 0  # samples waiting in the block being filled
        self._totals_at: tuple[int, tuple[int, float, float]] | None = None  # (count, totals)

    def feed(self, values: np.ndarray) -> None:
        v = np.asarray(values, dtype=np.float64)
        if v.size == 0:
            return
        if self.count == 0:
            self.first = float(v[0])
        self.last = float(v[-1])
        self.count += int(v.size)
        if self.has_nan:
            return  # the mean, std, min and max are NaN for good; only count/first/last move
        low = float(v.min())  # NaN when any sample is NaN
        if low != low:
            self.has_nan = True
            return
        self._min = min(self._min, low)
        self._max = max(self._max, float(v.max()))
        block = self._block
        at = 0
        while at < v.size:
            take = min(BLOCK - self._filled, v.size - at)
            block[self._filled : self._filled + take] = v[at : at + take]
            self._filled += take
            at += take
            if self._filled == BLOCK:
                self._n, self._mean, self._m2 = _merge(
                    self._n, self._mean, self._m2, BLOCK, *_moments(block)
                )
                self._filled = 0

    def _totals(self) -> tuple[int, float, float]:
        if self._filled == 0:
            return self._n, self._mean, self._m2
        if self._totals_at is not None and self._totals_at[0] == self.count:
            return self._totals_at[1]  # asked again (the mean and the std) with nothing fed
        totals = _merge(
            self._n, self._mean, self._m2, self._filled, *_moments(self._block[: self._filled])
        )
        self._totals_at = (self.count, totals)
        return totals

    def value(self, stat: str) -> float | None:
        """The stat over the samples so far; None when there are none, NaN when one was NaN
        (for the stats a NaN spoils: NaN is out and must not quietly pass)."""
        if stat not in STATS:
            raise ValueError(f"unknown stat {stat!r}")
        if self.count == 0:
            return None
        if stat == "count":
            return float(self.count)
        if stat == "first":
            return self.first
        if stat == "last":
            return self.last
        if self.has_nan:
            return math.nan
        if stat == "min":
            return self._min
        if stat == "max":
            return self._max
        if stat == "p2p":
            return self._max - self._min
        n, mean, m2 = self._totals()
        return mean if stat == "mean" else math.sqrt(m2 / n)
