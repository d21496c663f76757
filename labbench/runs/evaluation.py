"""Judging a run's steps: live (batches as they arrive) and final (from stored data).

Both paths feed the same :class:`~labbench.criteria.limits.LimitTracker` with the same
samples (the stored arrays are the very arrays the live path saw), so they agree exactly;
the sequencer compares them and records any disagreement.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from labbench.acquisition.pipeline import SampleBatch
from labbench.criteria.limits import (
    Band,
    Excursion,
    LimitTracker,
    judge_measure,
    judge_reported,
    worst,
)
from labbench.protocols.profile import Profile
from labbench.runs.plan import Plan, Step
from labbench.storage import Database
from labbench.storage import repository as repo
from labbench.storage.telemetry import read_channel

log = logging.getLogger(__name__)


@dataclass
class StepWindow:
    position: int
    start_s: float
    started_ns: int
    end_s: float = math.inf
    ended_ns: Optional[int] = None
    # The rig was disconnected during part of the window: its limits and measurements saw
    # silence there, and silence is never a pass.
    link_gap: bool = False

    @property
    def closed(self) -> bool:
        return self.ended_ns is not None


def _band_columns(band: Optional[Band]) -> dict:
    if band is None:
        return dict(low=None, high=None, marginal_low=None, marginal_high=None)
    return dict(low=band.low, high=band.high, marginal_low=band.marginal_low, marginal_high=band.marginal_high)


def _violations(channel: str, excursions: list[Excursion]) -> tuple[repo.ViolationRecord, ...]:
    return tuple(repo.ViolationRecord(channel, e.start_s, e.end_s, e.extreme, e.bound) for e in excursions)


def judge_step(
    step: Step,
    window: StepWindow,
    plan: Plan,
    channel_data: Callable[[str, float, float], tuple[np.ndarray, np.ndarray]],
    reported: dict[str, str],
    manual: dict[str, str],
    limit_trackers: Optional[dict[str, LimitTracker]] = None,
) -> repo.StepRecord:
    gap = window.link_gap
    """One step's results.  ``channel_data(name, start, end)`` gives the channel's samples of
    the window; live evaluation passes its own trackers instead for the limits."""
    items = []
    for spec in step.limits:
        if limit_trackers is not None:
            outcome = limit_trackers[spec.channel].finish(window.end_s)
        else:
            t, v = channel_data(spec.channel, window.start_s, window.end_s)
            tracker = LimitTracker(spec.band, window.start_s, spec.settle_s, spec.hold_s)
            tracker.feed(t, v)
            outcome = tracker.finish(window.end_s)
        items.append(repo.CriterionRecord(
            kind="limit", name=spec.name, channel=spec.channel, unit=plan.unit(spec.channel), stat="",
            value=outcome.worst_value, text_value="", **_band_columns(spec.band), equals=None,
            settle_s=spec.settle_s, hold_s=spec.hold_s, sample_count=outcome.count,
            verdict="error" if gap else outcome.verdict, violations=_violations(spec.channel, outcome.violations),
        ))
    for spec in step.measures:
        t, v = channel_data(spec.channel, window.start_s, window.end_s)
        outcome = judge_measure(t, v, spec.stat, spec.band, (window.start_s, window.end_s), spec.settle_s)
        unit = "" if spec.stat == "count" else plan.unit(spec.channel)
        items.append(repo.CriterionRecord(
            kind="measure", name=spec.name, channel=spec.channel, unit=unit, stat=spec.stat, value=outcome.value,
            text_value="", **_band_columns(spec.band), equals=None, settle_s=spec.settle_s, hold_s=0.0,
            sample_count=outcome.count, verdict="error" if gap else outcome.verdict,
        ))
    for kind, specs, source in (("result", step.results, reported), ("manual", step.manuals, manual)):
        for spec in specs:
            outcome = judge_reported(source.get(spec.name), spec.band, spec.equals)
            items.append(repo.CriterionRecord(
                kind=kind, name=spec.name, channel="", unit=getattr(spec, "unit", ""), stat="", value=outcome.value,
                text_value=outcome.text, **_band_columns(spec.band), equals=spec.equals, settle_s=0.0, hold_s=0.0,
                sample_count=0 if source.get(spec.name) is None else 1, verdict=outcome.verdict,
            ))
    verdict = worst(item.verdict for item in items)
    return repo.StepRecord(window.position, step.name, window.started_ns, window.ended_ns, verdict, tuple(items))


class LiveEvaluator:
    """Follows the run as batches arrive (on the reader thread); thread-safe."""

    def __init__(self, plan: Plan, t0_ns: int, on_violation: Optional[Callable[[int, str, Excursion], None]] = None):
        self.plan = plan
        self.t0_ns = t0_ns
        self.on_violation = on_violation
        self.windows: list[StepWindow] = []
        self._trackers: list[dict[str, LimitTracker]] = []
        self.reported: list[dict[str, str]] = []
        self._measure_data: list[dict[str, list]] = []
        self._down: list[tuple[int, float]] = []  # (disconnect ns, reconnect ns or inf)
        self._lock = threading.Lock()
        self._emitted = threading.Condition(self._lock)
        self._last_emit_ns = 0
        self.live_violations: list[tuple[int, str, Excursion, float]] = []  # + seconds after its completing sample

    def begin_step(self, position: int, started_ns: int, start_s: float) -> None:
        with self._lock:
            if self.windows and not self.windows[-1].closed:
                raise RuntimeError("end the current step first")
            step = self.plan.steps[position]
            window = StepWindow(position, start_s, started_ns)
            window.link_gap = window_has_gap(window, self._down)
            self.windows.append(window)
            self._trackers.append({s.channel: LimitTracker(s.band, start_s, s.settle_s, s.hold_s) for s in step.limits})
            # Measurements need the step's samples of their channels (bounded by the step's length).
            self._measure_data.append({s.channel: [] for s in step.measures})
            self.reported.append({})

    def end_step(self, ended_ns: int, end_s: float) -> None:
        with self._lock:
            window = self.windows[-1]
            window.end_s, window.ended_ns = end_s, ended_ns
            window.link_gap = window_has_gap(window, self._down)

    def wait_for_emit_after(self, ns: int, timeout: float) -> bool:
        """True once a batch emitted after ``ns`` has been judged (so the step has all its data)."""
        with self._emitted:
            return self._emitted.wait_for(lambda: self._last_emit_ns > ns, timeout)

    def on_batch(self, batch: SampleBatch) -> None:
        emitted_ns = batch.emitted_ns
        with self._lock:
            for at_ns, change in batch.link_changes:
                if change == "disconnect":
                    self._down.append((at_ns, math.inf))
                elif self._down and math.isinf(self._down[-1][1]):
                    self._down[-1] = (self._down[-1][0], at_ns)
            if batch.link_changes:
                for window in self.windows:
                    window.link_gap = window_has_gap(window, self._down)
            for k, window in enumerate(self.windows):
                if window.closed and self._last_emit_ns > window.ended_ns:
                    continue  # complete: nothing of this batch can belong to it
                for channel, parts in self._measure_data[k].items():
                    data = batch.samples.get(channel)
                    if data is not None:
                        keep = (data[0] >= window.start_s) & (data[0] < window.end_s)
                        if keep.any():
                            parts.append((data[0][keep], data[1][keep]))
                for channel, tracker in self._trackers[k].items():
                    data = batch.samples.get(channel)
                    if data is None:
                        continue
                    t, v = data
                    keep = (t >= window.start_s) & (t < window.end_s)
                    if not keep.any():
                        continue
                    for excursion in tracker.feed(t[keep], v[keep]):
                        latency = (time.time_ns() - self.t0_ns) / 1e9 - excursion.end_s
                        self.live_violations.append((window.position, channel, excursion, latency))
                        if self.on_violation:
                            try:
                                self.on_violation(window.position, channel, excursion)
                            except Exception:
                                log.exception("violation listener failed")
                for received_ns, name, value in batch.results:
                    if window.started_ns <= received_ns and (window.ended_ns is None or received_ns < window.ended_ns):
                        self.reported[k][name] = value
            self._last_emit_ns = emitted_ns
            self._emitted.notify_all()

    def snapshot(self) -> list[repo.StepRecord]:
        """The live results of every step begun so far (for displays; manual entries aside)."""
        return [self.step_record(i, {}) for i in range(len(self.windows))]

    def step_record(self, position: int, manual: dict[str, str]) -> repo.StepRecord:
        """The live verdict of a step (final once it ended and a later batch was judged)."""
        with self._lock:
            window = self.windows[position]
            seen = self._measure_data[position]

            def channel_data(channel: str, start: float, end: float):
                parts = seen.get(channel) or []
                if not parts:
                    return np.empty(0), np.empty(0)
                t = np.concatenate([p[0] for p in parts])
                v = np.concatenate([p[1] for p in parts])
                keep = (t >= start) & (t < end)
                return t[keep], v[keep]

            return judge_step(self.plan.steps[position], window, self.plan, channel_data, self.reported[position], manual,
                              limit_trackers=self._trackers[position])


def final_records(
    db: Database, run_id: int, plan: Plan, windows: list[StepWindow], profile: Profile, t0_ns: int, manual: list[dict[str, str]]
) -> list[repo.StepRecord]:
    """Judge every executed step again, from stored telemetry and stored console lines."""
    reported = _stored_results(db, run_id, profile, windows)
    windows = _with_stored_link_gaps(db, run_id, windows)

    def channel_data(name: str, start: float, end: float):
        try:
            t, v = read_channel(db, run_id, name, start, None if math.isinf(end) else end)
        except KeyError:  # the rig never sent this channel
            return np.empty(0), np.empty(0)
        keep = (t >= start) & (t < end)
        return t[keep], v[keep]

    return [
        judge_step(plan.steps[w.position], w, plan, channel_data, reported[i], manual[i])
        for i, w in enumerate(windows)
    ]


def _with_stored_link_gaps(db: Database, run_id: int, windows: list[StepWindow]) -> list[StepWindow]:
    """The windows with ``link_gap`` set from the stored disconnect/reconnect events."""
    down: list[tuple[int, float]] = []
    since: Optional[int] = None
    for event in repo.run_events(db, run_id):
        if event.kind == "disconnect":
            since = event.at_ns
        elif event.kind == "reconnect" and since is not None:
            down.append((since, event.at_ns))
            since = None
    if since is not None:
        down.append((since, math.inf))
    return [StepWindow(w.position, w.start_s, w.started_ns, w.end_s, w.ended_ns, window_has_gap(w, down)) for w in windows]


def window_has_gap(window: StepWindow, down: list[tuple[int, float]]) -> bool:
    """Whether the rig was away during part of the window: it went away inside the window,
    or the window began while it was away.  ``down`` holds (disconnect ns, reconnect ns)."""
    end = math.inf if window.ended_ns is None else window.ended_ns
    return any(window.started_ns <= d < end or d <= window.started_ns < r for d, r in down)


def _stored_results(db: Database, run_id: int, profile: Profile, windows: list[StepWindow]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = [{} for _ in windows]
    if profile.result_pattern is None:
        return out
    for event in repo.run_events(db, run_id):
        if event.kind != "result":
            continue
        match = profile.result_pattern.search(event.detail)
        if not match:
            continue
        for i, w in enumerate(windows):
            if w.started_ns <= event.at_ns and (w.ended_ns is None or event.at_ns < w.ended_ns):
                out[i][match.group("name")] = match.group("value")
    return out
