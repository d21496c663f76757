"""Limits, measurements and verdicts (docs/architecture.md §4).

Rules, as the plan format promises:

* limits are inclusive; a sample is *out* if it is NaN, below ``low`` or above ``high``;
* an excursion is a run of consecutive out samples; its duration runs from its first out
  sample to the first sample back in (or the window's end); the limit **fails** if any
  excursion lasts at least ``hold_s`` (``hold_s = 0``: any out sample fails);
* otherwise it is **marginal** if any judged sample lies in a guard band
  (``low <= v <= marginal_low`` or ``marginal_high <= v <= high``), else **passed**;
* no sample in the window is an **error**: silence is never a pass;
* a measurement's stat is judged like a single sample;
* roll-ups take the worst: error > failed > marginal > passed.

:class:`LimitTracker` and :class:`MeasureTracker` take a window's samples in any number of
pieces and end in exactly the same state as when given them at once, keeping running
accumulators rather than the samples (:mod:`labbench.criteria.stats`); the live evaluation
(pieces as they arrive) and the final one (stored chunks) therefore agree to the bit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from labbench.criteria.band import Band, CriterionError, describe_limits
from labbench.criteria.stats import STATS, RunningStats

__all__ = [
    "STATS",
    "VERDICT_ORDER",
    "Band",
    "CriterionError",
    "Excursion",
    "LimitOutcome",
    "LimitTracker",
    "MeasureOutcome",
    "MeasureTracker",
    "ReportedOutcome",
    "compute_stat",
    "describe_limits",
    "judge_limit",
    "judge_measure",
    "judge_reported",
    "worst",
]

VERDICT_ORDER = ("passed", "marginal", "failed", "error")


def worst(verdicts: Iterable[str]) -> str:
    """The worst verdict (error > failed > marginal > passed); ``passed`` for none."""
    rank = {v: i for i, v in enumerate(VERDICT_ORDER)}
    out = "passed"
    for verdict in verdicts:
        if rank.get(verdict, len(VERDICT_ORDER)) > rank[out]:
            out = verdict
    return out


@dataclass(frozen=True)
class Excursion:
    start_s: float
    end_s: float
    extreme: float
    bound: str  # "low", "high" or "nan"
    failed: bool

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass
class LimitOutcome:
    verdict: str
    count: int
    violations: list[Excursion]
    worst_value: float | None  # the extreme of the worst excursion, or the sample nearest a limit

    @property
    def first_violation_s(self) -> float | None:
        return self.violations[0].start_s if self.violations else None


class LimitTracker:
    """Judges one limit over one step window, fed in time order, in any chunking."""

    def __init__(self, band: Band, window_start: float, settle_s: float, hold_s: float):
        self.band = band
        self.judge_from = window_start + settle_s
        self.hold_s = hold_s
        self.count = 0
        self.marginal = False
        self.excursions: list[Excursion] = []
        # The open excursion: start time, extreme value, its distance out and bound.
        self._open: list | None = None
        self._open_failed = False
        self._nearest: tuple[float, float] | None = None  # (distance to a limit, value)

    def feed(self, t: np.ndarray, v: np.ndarray) -> list[Excursion]:
        """Add samples (inside the window's end; earlier ones than the settle are skipped).

        Returns excursions that became failures with these samples (for live marks)."""
        keep = t >= self.judge_from
        if not keep.all():
            t, v = t[keep], v[keep]
        n = t.size
        if n == 0:
            return []
        self.count += n
        band = self.band
        if self._open is None and self._feed_clean(v):
            return []
        out = band.out_mask(v)
        if not self.marginal and band.guard_mask(v[~out]).any():
            self.marginal = True
        self._track_nearest(v[~out])
        newly: list[Excursion] = []
        distance = band.distance_out(v)
        # Walk the runs of equal out-state.
        edges = np.flatnonzero(np.diff(out.astype(np.int8))) + 1
        starts = np.concatenate(([0], edges))
        ends = np.concatenate((edges, [n]))
        for a, b in zip(starts, ends, strict=True):
            if out[a]:
                seg_d = distance[a:b]
                k = a + int(np.argmax(seg_d))
                if self._open is None:
                    self._open = [
                        float(t[a]),
                        float(v[k]),
                        float(seg_d[k - a]),
                        _bound(band, float(v[k])),
                    ]
                    self._open_failed = False
                elif seg_d[k - a] > self._open[2]:
                    self._open[1:] = [float(v[k]), float(seg_d[k - a]), _bound(band, float(v[k]))]
                # Any sample at or past start + hold_s settles it as failed.
                if not self._open_failed and float(t[b - 1]) - self._open[0] >= self.hold_s:
                    self._open_failed = True
                    newly.append(self._snapshot(float(t[b - 1])))
            elif self._open is not None:
                back_in = float(t[a])  # the first sample back in ends the excursion
                if not self._open_failed and back_in - self._open[0] >= self.hold_s:
                    self._open_failed = True
                    newly.append(self._snapshot(back_in))
                self._close(back_in)
        return newly

    def _feed_clean(self, v: np.ndarray) -> bool:
        """The common case, in two reductions: every sample inside the limits and outside
        the guard bands (none NaN), no excursion open.  Then only the sample nearest a limit
        can change, and the exact per-sample search runs only when this piece holds a
        nearer one; the state ends as the general path would leave it.  False (nothing
        done) when the piece needs the general path."""
        lo, hi = float(v.min()), float(v.max())  # NaN propagates into both
        band = self.band
        floor = band.marginal_low if band.marginal_low is not None else band.low
        ceiling = band.marginal_high if band.marginal_high is not None else band.high
        if lo != lo:
            return False
        if floor is not None and not (lo > floor if band.marginal_low is not None else lo >= floor):
            return False
        if ceiling is not None and not (
            hi < ceiling if band.marginal_high is not None else hi <= ceiling
        ):
            return False
        # The smallest margin of the piece: float subtraction of a constant is monotonic, so
        # it is the margin of the extremes (what _track_nearest's elementwise search finds).
        margin = math.inf
        if band.low is not None:
            margin = lo - band.low
        if band.high is not None:
            margin = min(margin, band.high - hi)
        if self._nearest is None or margin < self._nearest[0]:
            self._track_nearest(v)
        return True

    def _track_nearest(self, inside: np.ndarray) -> None:
        if inside.size == 0:
            return
        band = self.band
        margins = []
        if band.low is not None:
            margins.append(inside - band.low)
        if band.high is not None:
            margins.append(band.high - inside)
        margin = np.minimum.reduce(margins)
        k = int(np.argmin(margin))
        if self._nearest is None or margin[k] < self._nearest[0]:
            self._nearest = (float(margin[k]), float(inside[k]))

    def _snapshot(self, end: float) -> Excursion:
        start, extreme, _, bound = self._open
        return Excursion(start, end, extreme, bound, True)

    def _close(self, end: float) -> None:
        start, extreme, _, bound = self._open
        self.excursions.append(Excursion(start, end, extreme, bound, self._open_failed))
        self._open = None
        self._open_failed = False

    def finish(self, window_end: float) -> LimitOutcome:
        """The verdict once the window is over (an open excursion ends at the window's end)."""
        excursions = list(self.excursions)
        if self._open is not None:
            start, extreme, _, bound = self._open
            failed = self._open_failed or window_end - start >= self.hold_s
            excursions.append(Excursion(start, window_end, extreme, bound, failed))
        violations = [e for e in excursions if e.failed]
        if self.count == 0:
            verdict = "error"
        elif violations:
            verdict = "failed"
        elif self.marginal:
            verdict = "marginal"
        else:
            verdict = "passed"
        if violations:
            worst_value = max(violations, key=lambda e: _severity(self.band, e.extreme)).extreme
        elif excursions:
            worst_value = max(excursions, key=lambda e: _severity(self.band, e.extreme)).extreme
        else:
            worst_value = self._nearest[1] if self._nearest else None
        return LimitOutcome(verdict, self.count, violations, worst_value)


def _bound(band: Band, value: float) -> str:
    if math.isnan(value):
        return "nan"
    if band.low is not None and value < band.low:
        return "low"
    return "high"


def _severity(band: Band, value: float) -> float:
    return float(band.distance_out(np.array([value]))[0])


def judge_limit(
    t: np.ndarray,
    v: np.ndarray,
    band: Band,
    window: tuple[float, float],
    settle_s: float = 0.0,
    hold_s: float = 0.0,
) -> LimitOutcome:
    """Judge a whole window at once (the final evaluation)."""
    start, end = window
    keep = (t >= start) & (t < end)
    tracker = LimitTracker(band, start, settle_s, hold_s)
    tracker.feed(t[keep], v[keep])
    return tracker.finish(end)


def compute_stat(stat: str, v: np.ndarray) -> float | None:
    """A measurement's value over the judged samples; None when there are none."""
    stats = RunningStats()
    stats.feed(v)
    return stats.value(stat)


@dataclass
class MeasureOutcome:
    verdict: str
    value: float | None
    count: int


class MeasureTracker:
    """Judges one measurement over one step window, fed in time order, in any chunking.

    It keeps running accumulators, never the samples, so its memory and the cost of asking
    for the current value do not grow with the step's length."""

    def __init__(
        self,
        stat: str,
        band: Band,
        window_start: float,
        settle_s: float = 0.0,
        stats: RunningStats | None = None,
    ):
        """``stats``: accumulators shared with another tracker of the same channel and
        judging start (the mean and the std of one rail); feed only one of them."""
        if stat not in STATS:
            raise ValueError(f"unknown stat {stat!r}")
        self.stat = stat
        self.band = band
        self.judge_from = window_start + settle_s
        self.stats = stats if stats is not None else RunningStats()

    def feed(self, t: np.ndarray, v: np.ndarray) -> None:
        """Add samples (inside the window's end; earlier ones than the settle are skipped)."""
        keep = t >= self.judge_from
        self.stats.feed(v if keep.all() else v[keep])

    def finish(self) -> MeasureOutcome:
        """The verdict of the samples so far (final once the window's samples are all in)."""
        value = self.stats.value(self.stat)
        if value is None:
            return MeasureOutcome("error", None, 0)
        return MeasureOutcome(self.band.judge_value(value), value, self.stats.count)


def judge_measure(
    t: np.ndarray,
    v: np.ndarray,
    stat: str,
    band: Band,
    window: tuple[float, float],
    settle_s: float = 0.0,
) -> MeasureOutcome:
    """Judge a whole window at once."""
    start, end = window
    keep = t < end
    tracker = MeasureTracker(stat, band, start, settle_s)
    tracker.feed(t[keep], v[keep])
    return tracker.finish()


@dataclass
class ReportedOutcome:
    verdict: str
    value: float | None
    text: str


def judge_reported(text: str | None, band: Band | None, equals: str | None) -> ReportedOutcome:
    """A rig-reported result or a manual entry: None (nothing reported) is an error."""
    if text is None:
        return ReportedOutcome("error", None, "")
    text = text.strip()
    if equals is not None:
        return ReportedOutcome(
            "passed" if text == equals.strip() else "failed", _number(text), text
        )
    value = _number(text)
    if value is None:
        return ReportedOutcome("failed", None, text)
    assert band is not None
    return ReportedOutcome(band.judge_value(value), value, text)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
