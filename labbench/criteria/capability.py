"""Process capability and control-chart rules over many runs (docs/architecture.md §10).

The sums come from the database (count, mean, the sum of squared deviations from the mean,
the mean moving range in run start order); this module turns them into the figures a lab
reads, so that the storage room, the command line and the app compute them one way:

* σ within = mean moving range / d2, with d2 = 1.128 for ranges of two consecutive values;
  σ overall = the sample standard deviation (n − 1);
* Cp = (high − low) / 6σ within, Cpk = min(high − μ, μ − low) / 3σ within, one side only when
  the item has one limit; Pp and Ppk the same with σ overall;
* no figure when n < 2 or the σ it needs is 0 (a constant value is not "infinitely capable":
  it is a reading that does not move, which the lab has to look at);
* the Western Electric rules over an individuals chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

__all__ = [
    "CPK_FLAG",
    "D2",
    "D4",
    "Capability",
    "capability",
    "western_electric",
]

# Control-chart constants for moving ranges of two consecutive values (subgroup size 2).
D2 = 1.128
D4 = 3.267
# Below this Cpk an item is flagged: the lab's usual "capable" threshold (4σ to the limit).
CPK_FLAG = 1.33


class Capability(NamedTuple):
    """The figures of one item; each None when it cannot be had."""

    sigma_within: float | None
    sigma_overall: float | None
    cp: float | None
    cpk: float | None
    pp: float | None
    ppk: float | None


def _index(
    sigma: float | None, mean: float, low: float | None, high: float | None
) -> tuple[float | None, float | None]:
    """(spread index, centred index) for one σ: Cp/Cpk for σ within, Pp/Ppk for σ overall."""
    if sigma is None or not sigma > 0:
        return None, None
    spread = (high - low) / (6 * sigma) if low is not None and high is not None else None
    sides = []
    if high is not None:
        sides.append((high - mean) / (3 * sigma))
    if low is not None:
        sides.append((mean - low) / (3 * sigma))
    return spread, (min(sides) if sides else None)


def capability(
    n: int,
    mean: float | None,
    squared_deviations: float | None,
    mean_moving_range: float | None,
    low: float | None,
    high: float | None,
) -> Capability:
    """The capability figures of ``n`` values from their database sums."""
    if n < 2 or mean is None:
        return Capability(None, None, None, None, None, None)
    sigma_within = None if mean_moving_range is None else mean_moving_range / D2
    # A sum of squares of deviations can come back a hair below 0 from rounding.
    sigma_overall = math.sqrt(max(squared_deviations or 0.0, 0.0) / (n - 1))
    cp, cpk = _index(sigma_within, mean, low, high)
    pp, ppk = _index(sigma_overall, mean, low, high)
    return Capability(sigma_within, sigma_overall, cp, cpk, pp, ppk)


def western_electric(values: Sequence[float], centre: float, sigma: float) -> list[tuple[int, ...]]:
    """For each value, the Western Electric rules it completes (none when sigma is not > 0):

    1. the value lies beyond 3σ;
    2. it is the second of 2 out of 3 consecutive values beyond 2σ on one side;
    3. it is the fourth of 4 out of 5 consecutive values beyond 1σ on one side;
    4. it is the eighth of 8 consecutive values on one side of the centre.

    A rule marks the value that completes it, which must itself be beyond the zone; a value
    on the centre line is on neither side.
    """
    if not sigma > 0:
        return [() for _ in values]
    z = [(v - centre) / sigma for v in values]
    out = []
    for i, zi in enumerate(z):
        rules = []
        if abs(zi) > 3:
            rules.append(1)
        for rule, zone, count, window in ((2, 2, 2, 3), (3, 1, 4, 5)):
            if abs(zi) <= zone or i + 1 < count:
                continue
            sign = 1 if zi > 0 else -1
            recent = z[max(0, i + 1 - window) : i + 1]
            if sum(1 for x in recent if x * sign > zone) >= count:
                rules.append(rule)
        if i >= 7 and zi != 0:
            sign = 1 if zi > 0 else -1
            if all(x * sign > 0 for x in z[i - 7 : i + 1]):
                rules.append(4)
        out.append(tuple(rules))
    return out
