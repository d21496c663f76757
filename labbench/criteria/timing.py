"""Power-sequencing timing: rise times, delays between rails and the order rails come up
(docs/architecture.md §4 "Power sequencing").

Rules:

* a rail *crosses* a threshold upward between two consecutive samples when the first lies
  below it and the second at or above it; the crossing time is interpolated linearly between
  the two samples;
* the **first** upward crossing counts.  A later upward crossing, after the rail dropped back
  below the threshold, is a *glitch*: reported (its time), never counted;
* a rail already at or above a threshold at the first sample of the window has no crossing
  that could be measured, and one that never reaches it has none at all: both make the item
  ``failed`` with the reason (the rail did not come up as the plan asks);
* no sample of a rail the item needs is an ``error``: silence is never a pass;
* NaN samples are skipped (a crossing is interpolated between the valid samples around them);
* the measured value in milliseconds is judged against ``low_ms`` and ``high_ms`` (inclusive,
  either optional): ``passed`` or ``failed``.  There are no guard bands.

``rise``: from 10 % to 90 % of the rail's nominal.  ``delay``: from rail A crossing
``from_fraction`` of its nominal to rail B crossing ``to_fraction`` of its own (negative when
B came first).  ``order``: every listed rail crosses 90 % of its nominal strictly after the
one listed before it; the value is the smallest gap between consecutive rails (negative when
two came up the wrong way round), and the limits, if any, apply to it.

:class:`CrossingTracker` and :class:`TimingTracker` take samples in any number of pieces
and end in exactly the same state as when given them at once (the interpolation uses the
last sample of the previous piece), so live and final judgement agree to the bit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from labbench.criteria.band import CriterionError

__all__ = [
    "MAX_GLITCHES",
    "ORDER_FRACTION",
    "RISE_FROM",
    "RISE_TO",
    "TIMING_KINDS",
    "Crossing",
    "CrossingTracker",
    "TimingOutcome",
    "TimingTracker",
    "check_fraction",
    "check_ms_limits",
    "describe_ms",
    "find_crossing",
    "judge_delay",
    "judge_ms",
    "judge_order",
    "judge_rise",
]

TIMING_KINDS = ("rise", "delay", "order")
RISE_FROM, RISE_TO = 0.1, 0.9
ORDER_FRACTION = 0.9
# Glitch times kept per threshold: a rail ringing around it for a whole step would otherwise
# grow the list (and the reason text) without bound; the count keeps growing.
MAX_GLITCHES = 8


@dataclass(frozen=True)
class Crossing:
    """The first upward crossing of a threshold, and what came after it."""

    threshold: float
    t_s: float | None  # None: never crossed (or already above at the first sample)
    already_above: bool  # the first sample was at or above the threshold
    glitches: tuple[float, ...]  # times of the first later upward re-crossings (glitches)
    count: int  # valid samples seen
    glitch_count: int = 0  # every glitch, also those beyond MAX_GLITCHES


class CrossingTracker:
    """Finds the first upward crossing of ``threshold`` in samples fed in time order."""

    __slots__ = ("_prev", "already_above", "count", "glitch_count", "glitches", "t_s", "threshold")

    def __init__(self, threshold: float):
        self.threshold = float(threshold)
        self.count = 0
        self.t_s: float | None = None
        self.already_above = False
        self.glitches: list[float] = []
        self.glitch_count = 0
        self._prev: tuple[float, float] | None = None  # the last valid sample

    def feed(self, t: np.ndarray, v: np.ndarray) -> None:
        t = np.asarray(t, dtype=np.float64)
        v = np.asarray(v, dtype=np.float64)
        valid = ~np.isnan(v)
        if not valid.all():
            t, v = t[valid], v[valid]
        if not t.size:
            return
        thr = self.threshold
        if self._prev is None:
            if v[0] >= thr:
                self.already_above = True
        else:
            t = np.concatenate(([self._prev[0]], t))
            v = np.concatenate(([self._prev[1]], v))
        self.count += int(valid.sum())
        above = v >= thr
        # k: sample k-1 below the threshold, sample k at or above it
        ups = np.flatnonzero(~above[:-1] & above[1:]) + 1
        if self.t_s is None and not self.already_above and ups.size:
            k = int(ups[0])
            self.t_s = _interpolate(t[k - 1], v[k - 1], t[k], v[k], thr)
            ups = ups[1:]
        if self.t_s is not None or self.already_above:
            # Any later upward crossing needed a drop below in between: a glitch.
            self.glitch_count += int(ups.size)
            for k in ups[: MAX_GLITCHES - len(self.glitches)]:
                k = int(k)
                self.glitches.append(_interpolate(t[k - 1], v[k - 1], t[k], v[k], thr))
        self._prev = (float(t[-1]), float(v[-1]))

    def result(self) -> Crossing:
        return Crossing(
            self.threshold,
            self.t_s,
            self.already_above,
            tuple(self.glitches),
            self.count,
            self.glitch_count,
        )


def _interpolate(t0: float, v0: float, t1: float, v1: float, thr: float) -> float:
    """The time a straight line from (t0, v0) below ``thr`` to (t1, v1) at or above it
    reaches ``thr``."""
    return float(t0 + (thr - v0) * (t1 - t0) / (v1 - v0))


def find_crossing(t: np.ndarray, v: np.ndarray, threshold: float) -> Crossing:
    """The first upward crossing of ``threshold`` in one rail's samples (time order)."""
    tracker = CrossingTracker(threshold)
    tracker.feed(t, v)
    return tracker.result()


def check_fraction(key: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 < value <= 1):
        raise CriterionError(key, f"{key} must lie in (0, 1], not {value!r}")


def check_ms_limits(low_ms: float | None, high_ms: float | None) -> None:
    for key, value in (("low_ms", low_ms), ("high_ms", high_ms)):
        if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise CriterionError(key, f"{key} must be a finite number, not {value!r}")
    if low_ms is not None and high_ms is not None and low_ms > high_ms:
        raise CriterionError("low_ms", f"low_ms {low_ms:g} is above high_ms {high_ms:g}")


def describe_ms(low_ms: float | None, high_ms: float | None) -> str:
    """The limits of a timing item in words: ``1 … 5 ms``, ``≥ 1 ms``, ``≤ 5 ms``."""
    if low_ms is not None and high_ms is not None:
        return f"{low_ms:g} … {high_ms:g} ms"
    if low_ms is not None:
        return f"≥ {low_ms:g} ms"
    if high_ms is not None:
        return f"≤ {high_ms:g} ms"
    return "any ms"


def judge_ms(value_ms: float, low_ms: float | None, high_ms: float | None) -> str:
    if math.isnan(value_ms):
        return "failed"
    if low_ms is not None and value_ms < low_ms:
        return "failed"
    if high_ms is not None and value_ms > high_ms:
        return "failed"
    return "passed"


@dataclass(frozen=True)
class TimingOutcome:
    verdict: str  # passed, failed or error
    value_ms: float | None
    reason: str
    count: int
    glitches: tuple[tuple[str, float], ...] = ()  # (rail, time of a later re-crossing)


def _pct(fraction: float) -> str:
    return f"{fraction * 100:g} %"


class TimingTracker:
    """Judges one timing item over one step window: rails fed in time order, each in any
    chunking.  ``thresholds`` lists (rail, fraction, nominal) in the item's order."""

    def __init__(
        self,
        kind: str,
        thresholds: Sequence[tuple[str, float, float]],
        low_ms: float | None = None,
        high_ms: float | None = None,
    ):
        if kind not in TIMING_KINDS:
            raise CriterionError("kind", f"unknown timing kind {kind!r} (known: rise delay order)")
        check_ms_limits(low_ms, high_ms)
        for _, fraction, nominal in thresholds:
            check_fraction("fraction", fraction)
            if not (math.isfinite(nominal) and nominal > 0):
                raise CriterionError("nominal", f"nominal must be positive, not {nominal!r}")
        self.kind = kind
        self.low_ms, self.high_ms = low_ms, high_ms
        self.thresholds = list(thresholds)
        self.trackers = [CrossingTracker(f * n) for _, f, n in thresholds]
        self._by_rail: dict[str, list[int]] = {}
        for i, (rail, _, _) in enumerate(thresholds):
            self._by_rail.setdefault(rail, []).append(i)

    @property
    def rails(self) -> list[str]:
        return list(self._by_rail)

    def feed(self, rail: str, t: np.ndarray, v: np.ndarray) -> None:
        for i in self._by_rail.get(rail, ()):
            self.trackers[i].feed(t, v)

    def finish(self) -> TimingOutcome:
        crossings = [tracker.result() for tracker in self.trackers]
        count = sum(crossings[i[0]].count for i in self._by_rail.values())
        glitches = tuple(
            (rail, g)
            for (rail, _, _), c in zip(self.thresholds, crossings, strict=True)
            for g in c.glitches
        )
        silent = [
            rail for rail, indices in self._by_rail.items() if not crossings[indices[0]].count
        ]
        if silent:
            return TimingOutcome(
                "error", None, f"no samples of {', '.join(silent)} in the step", count, glitches
            )
        for (rail, fraction, nominal), c in zip(self.thresholds, crossings, strict=True):
            if c.already_above:
                return TimingOutcome(
                    "failed",
                    None,
                    f"{rail} was already at or above {_pct(fraction)} of {nominal:g} "
                    f"({c.threshold:g}) when the step began, so its rise was not seen",
                    count,
                    glitches,
                )
            if c.t_s is None:
                return TimingOutcome(
                    "failed",
                    None,
                    f"{rail} never reached {_pct(fraction)} of {nominal:g} ({c.threshold:g})",
                    count,
                    glitches,
                )
        times = [c.t_s for c in crossings]
        names = [rail for rail, _, _ in self.thresholds]
        if self.kind == "order":
            gaps = [(b - a) * 1e3 for a, b in itertools.pairwise(times)]
            value = min(gaps)
            worst_gap = gaps.index(value)
            if value <= 0:
                reason = (
                    f"{names[worst_gap + 1]} reached {_pct(ORDER_FRACTION)} "
                    f"{-value:.4g} ms before {names[worst_gap]}, out of the listed order"
                )
                return TimingOutcome("failed", value, reason, count, glitches)
            pair = f"{names[worst_gap]} → {names[worst_gap + 1]}"
            reason = f"in order; smallest gap {value:.4g} ms ({pair})"
        elif self.kind == "rise":
            value = (times[1] - times[0]) * 1e3
            reason = f"{names[0]} rose from 10 % to 90 % in {value:.4g} ms"
        else:
            value = (times[1] - times[0]) * 1e3
            reason = (
                f"{names[1]} reached {_pct(self.thresholds[1][1])} {value:.4g} ms after "
                f"{names[0]} reached {_pct(self.thresholds[0][1])}"
            )
        verdict = judge_ms(value, self.low_ms, self.high_ms)
        if verdict == "failed":
            reason += f", outside {describe_ms(self.low_ms, self.high_ms)}"
        for (rail, fraction, _), c in zip(self.thresholds, crossings, strict=True):
            if c.glitch_count:
                reason += (
                    f"; glitch: {rail} dropped below {_pct(fraction)} and crossed it again "
                    f"{c.glitch_count} time{'s' if c.glitch_count > 1 else ''}, first at "
                    f"{c.glitches[0]:.6g} s (not counted)"
                )
        return TimingOutcome(verdict, value, reason, count, glitches)


def judge_rise(
    t: np.ndarray,
    v: np.ndarray,
    nominal: float,
    low_ms: float | None = None,
    high_ms: float | None = None,
    rail: str = "rail",
) -> TimingOutcome:
    """A rail's rise time from 10 % to 90 % of ``nominal``, judged in ms."""
    tracker = TimingTracker(
        "rise", [(rail, RISE_FROM, nominal), (rail, RISE_TO, nominal)], low_ms, high_ms
    )
    tracker.feed(rail, t, v)
    return tracker.finish()


def judge_delay(
    rail_a: tuple[np.ndarray, np.ndarray],
    nominal_a: float,
    fraction_a: float,
    rail_b: tuple[np.ndarray, np.ndarray],
    nominal_b: float,
    fraction_b: float,
    low_ms: float | None = None,
    high_ms: float | None = None,
    names: tuple[str, str] = ("A", "B"),
) -> TimingOutcome:
    """From rail A crossing ``fraction_a`` of its nominal to rail B crossing ``fraction_b``
    of its own, judged in ms."""
    tracker = TimingTracker(
        "delay",
        [(names[0], fraction_a, nominal_a), (names[1], fraction_b, nominal_b)],
        low_ms,
        high_ms,
    )
    tracker.feed(names[0], *rail_a)
    tracker.feed(names[1], *rail_b)
    return tracker.finish()


def judge_order(
    rails: Mapping[str, tuple[np.ndarray, np.ndarray, float]],
    low_ms: float | None = None,
    high_ms: float | None = None,
) -> TimingOutcome:
    """Whether ``rails`` (name → (t, v, nominal), in the expected order) reach 90 % of
    their nominals in that order; the smallest gap in ms is judged against the limits."""
    tracker = TimingTracker(
        "order", [(name, ORDER_FRACTION, n) for name, (_, _, n) in rails.items()], low_ms, high_ms
    )
    for name, (t, v, _) in rails.items():
        tracker.feed(name, t, v)
    return tracker.finish()
