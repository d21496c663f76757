"""One derivation of a run's step verdicts, fed by whatever the rig produced.

:class:`Judgement` takes step windows, link changes, rig-reported results and samples, and
keeps, per step, one :class:`~labbench.criteria.limits.LimitTracker` per limit and one
:class:`~labbench.criteria.limits.MeasureTracker` per measurement: running accumulators,
never the samples.  The live evaluation feeds it batches as they arrive; the final one
replays the stored events and telemetry through the very same methods, so link gaps, rig
results and every stat are derived by one piece of code (docs/architecture.md §4).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from labbench.criteria.limits import (
    Band,
    Excursion,
    LimitOutcome,
    LimitTracker,
    MeasureOutcome,
    MeasureTracker,
    judge_reported,
    worst,
)
from labbench.criteria.stats import RunningStats
from labbench.criteria.timing import TimingOutcome, TimingTracker
from labbench.protocols.slots import join_slot
from labbench.records import CriterionRecord, StepRecord, ViolationRecord
from labbench.runs.plan import LimitSpec, MeasureSpec, Plan, TimingSpec


@dataclass
class StepWindow:
    position: int
    start_s: float
    started_ns: int
    end_s: float = math.inf
    ended_ns: int | None = None
    # The rig was disconnected during part of the window: its limits and measurements saw
    # silence there, and silence is never a pass.
    link_gap: bool = False

    @property
    def closed(self) -> bool:
        return self.ended_ns is not None


def window_has_gap(window: StepWindow, down: list[tuple[int, float]]) -> bool:
    """Whether the rig was away during part of the window: it went away inside the window,
    or the window began while it was away.  ``down`` holds (disconnect ns, reconnect ns)."""
    end = math.inf if window.ended_ns is None else window.ended_ns
    return any(window.started_ns <= d < end or d <= window.started_ns < r for d, r in down)


def _band_columns(band: Band | None) -> dict:
    if band is None:
        return {"low": None, "high": None, "marginal_low": None, "marginal_high": None}
    return {
        "low": band.low,
        "high": band.high,
        "marginal_low": band.marginal_low,
        "marginal_high": band.marginal_high,
    }


def _violations(channel: str, excursions: list[Excursion]) -> tuple[ViolationRecord, ...]:
    return tuple(
        ViolationRecord(channel, e.start_s, e.end_s, e.extreme, e.bound) for e in excursions
    )


class _Item:
    """One judged limit, measurement or timing item of a step window: a plan item on one
    channel, a per-slot plan item on one occupied slot's channel (``vdd_core[2]``), or a
    timing item on the rails it names (its channel is their names joined by commas)."""

    __slots__ = ("channel", "chip", "feeds", "kind", "name", "slot", "spec", "tracker")

    def __init__(
        self,
        kind: str,
        spec: LimitSpec | MeasureSpec | TimingSpec,
        tracker: LimitTracker | MeasureTracker | TimingTracker,
        slot: int | None,
        chip: str,
    ):
        self.kind, self.spec, self.tracker = kind, spec, tracker
        self.slot, self.chip = slot, chip
        # False for a measurement whose accumulators another item of the step feeds.
        self.feeds = True
        self.channel = join_slot(spec.channel, slot)
        # A limit is named by the channel it judges; a measurement by its name and the slot.
        self.name = self.channel if kind == "limit" else join_slot(spec.name, slot)


class _StepState:
    """The accumulators of one step window, indexed by the channel each one judges, so a
    batch costs the trackers of its own channels only."""

    def __init__(self, plan: Plan, window: StepWindow, slots: Mapping[int, str]):
        step = plan.steps[window.position]
        self.window = window
        start = window.start_s

        def places(channel: str) -> list[tuple[int | None, str]]:
            if plan.is_per_slot(channel):
                return [(slot, slots[slot]) for slot in sorted(slots)]
            return [(None, "")]

        self.items: list[_Item] = []
        for s in step.limits:
            for slot, chip in places(s.channel):
                tracker = LimitTracker(s.band, start, s.settle_s, s.hold_s)
                self.items.append(_Item("limit", s, tracker, slot, chip))
        # Measurements of one channel from one judging start share their accumulators
        # (a rail's mean and std): fed once, read by each.
        shared: dict[tuple[str, float], RunningStats] = {}
        for s in step.measures:
            for slot, chip in places(s.channel):
                key = (join_slot(s.channel, slot), s.settle_s)
                stats = shared.get(key)
                tracker = MeasureTracker(s.stat, s.band, start, s.settle_s, stats)
                item = _Item("measure", s, tracker, slot, chip)
                item.feeds = stats is None
                shared.setdefault(key, tracker.stats)
                self.items.append(item)
        # Timing items (power sequencing) are sled-level: they name the rails they judge.
        for s in step.timings:
            self.items.append(_Item("timing", s, s.tracker(), None, ""))
        self.by_channel: dict[str, list[int]] = {}
        for i, item in enumerate(self.items):
            rails = item.spec.rails if item.kind == "timing" else (item.channel,)
            for rail in rails:
                self.by_channel.setdefault(rail, []).append(i)
        # Each item's outcome when last asked (None: ask again), and the items fed since.
        self.outcomes: list[LimitOutcome | MeasureOutcome | TimingOutcome | None] = [None] * len(
            self.items
        )
        self.fed: set[int] = set()
        self.reported: dict[str, str] = {}
        self.last_t = -math.inf  # the latest sample judged in this window

    def takes(self, at_ns: int) -> bool:
        w = self.window
        return w.started_ns <= at_ns and (w.ended_ns is None or at_ns < w.ended_ns)


def _finish(item: _Item, end_s: float) -> LimitOutcome | MeasureOutcome | TimingOutcome:
    if item.kind == "limit":
        return item.tracker.finish(end_s)
    return item.tracker.finish()


def judges_per_chip(plan: Plan) -> bool:
    """Whether some limit or measurement of ``plan`` is on a per-slot channel (a run of it
    needs chips placed in its sled)."""
    return any(
        plan.is_per_slot(s.channel) for step in plan.steps for s in (*step.limits, *step.measures)
    )


def chip_verdicts(steps: Iterable[StepRecord], slots: Mapping[int, str]) -> dict[int, str]:
    """Each occupied slot's verdict in a sled run: the worst of its chip's items (per-chip
    items carry the slot).  A slot with no per-chip item (a plan with no per-slot channel,
    or no step judged yet) is left out: it was not judged per chip."""
    by_slot: dict[int, list[str]] = {}
    for step in steps:
        for item in step.criteria:
            if item.slot is not None and item.slot in slots:
                by_slot.setdefault(item.slot, []).append(item.verdict)
    return {slot: worst(verdicts) for slot, verdicts in sorted(by_slot.items())}


class Judgement:
    """Step verdicts of one run, from its windows, link changes, results and samples.

    ``slots`` is a sled run's placement (slot → chip serial): every limit and measurement
    on a ``per_slot`` channel of the plan is judged once per occupied slot, on that slot's
    channel (docs/architecture.md §4 "Per-chip verdicts").  Not thread-safe by itself: the
    live evaluator guards it with its lock."""

    def __init__(self, plan: Plan, slots: Mapping[int, str] | None = None):
        self.plan = plan
        self.slots = dict(sorted((slots or {}).items()))
        if not self.slots and judges_per_chip(plan):
            raise ValueError(f"plan {plan.name!r} judges per chip, but no chips are placed")
        self._steps: list[_StepState] = []
        self._down: list[tuple[int, float]] = []  # (disconnect ns, reconnect ns or inf)
        self._settled_ns = 0  # every sample received before this has been fed
        self._latest_t: dict[str, float] = {}  # each channel's latest sample time fed
        # Samples fed while no step is open, timed after the last one's end (all of them
        # before the first step): a batch judged between the sequencer's reading of a step's
        # start time and its begin, or a rig clock ahead of arrival, times them into the next
        # step, where the final replay judges them, so they are kept for it (at most the
        # pause between two steps, or from the acquisition's start to the first step).
        self._pending: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        self._open: list[int] = []  # open_steps(), kept up to date
        self._complete_steps: set[int] = set()  # never reopened, so never looked at again

    @property
    def windows(self) -> list[StepWindow]:
        return [state.window for state in self._steps]

    def channels(self) -> list[str]:
        """Every channel some step begun so far judges (``vdd_core[2]`` for a per-slot one)."""
        return sorted({c for state in self._steps for c in state.by_channel})

    def begin(self, position: int, started_ns: int, start_s: float) -> StepWindow:
        if self._steps and not self._steps[-1].window.closed:
            raise RuntimeError("end the current step first")
        if self._steps and self._steps[-1].window.end_s > start_s:
            # The previous window was stretched over samples timed after this start (a rig
            # clock ahead of arrival): they stay there, and this window begins after them,
            # so that no sample is judged in two steps, live or final.
            start_s = self._steps[-1].window.end_s
        window = StepWindow(position, start_s, started_ns)
        window.link_gap = window_has_gap(window, self._down)
        self._steps.append(_StepState(self.plan, window, self.slots))
        self._update_open()
        pending, self._pending = self._pending, {}
        for channel, pieces in pending.items():
            for t, v in pieces:
                self.samples(channel, t, v)
        return window

    def end(self, ended_ns: int, end_s: float) -> StepWindow:
        """Close the open window.  Samples already judged in it stay in it: a batch cut just
        after ``ended_ns`` may have been judged before the step could be closed, and what was
        judged cannot be taken back, so the window then ends just after its latest sample
        (the final replay uses this same end, so both judge the same samples)."""
        state = self._steps[-1]
        window = state.window
        if state.last_t >= end_s:
            end_s = float(np.nextafter(state.last_t, math.inf))
        window.end_s, window.ended_ns = end_s, ended_ns
        window.link_gap = window_has_gap(window, self._down)
        state.outcomes = [None] * len(state.items)  # an open excursion now ends at end_s
        self._update_open()
        return window

    def link_change(self, at_ns: int, change: str) -> list[int]:
        """A disconnect or reconnect; returns the steps whose link gap it changed."""
        if change == "disconnect":
            self._down.append((at_ns, math.inf))
        elif self._down and math.isinf(self._down[-1][1]):
            self._down[-1] = (self._down[-1][0], at_ns)
        changed = []
        for k, state in enumerate(self._steps):
            gap = window_has_gap(state.window, self._down)
            if gap != state.window.link_gap:
                state.window.link_gap = gap
                changed.append(k)
        return changed

    def settled(self, before_ns: int) -> None:
        """Every sample received before ``before_ns`` has been fed: steps that ended earlier,
        and whose channels have been fed samples timed at or after their end, are complete
        and need not look at later samples.  A rig's own clock may lag the arrival times,
        so samples timed inside a window can arrive after it ended; the final replay judges
        them, so the live judgement waits for them too."""
        self._settled_ns = before_ns
        self._update_open()

    def _complete(self, k: int) -> bool:
        if k in self._complete_steps:
            return True
        window = self._steps[k].window
        if not (window.closed and self._settled_ns > window.ended_ns):
            return False
        latest = self._latest_t
        # A channel never fed at all does not hold the step open (a rig that does not send it).
        if all(latest.get(c, math.inf) >= window.end_s for c in self._steps[k].by_channel):
            self._complete_steps.add(k)
            return True
        return False

    def _update_open(self) -> None:
        self._open = [k for k in range(len(self._steps)) if not self._complete(k)]

    def open_steps(self) -> list[int]:
        """The steps that can still change with new samples or results."""
        return list(self._open)

    def result(self, received_ns: int, name: str, value: str) -> list[int]:
        """A rig-reported result; returns the steps whose window holds it (the last one wins)."""
        taken = []
        for k in self._open:
            state = self._steps[k]
            if state.takes(received_ns):
                state.reported[name] = value
                taken.append(k)
        return taken

    def samples(self, channel: str, t: np.ndarray, v: np.ndarray) -> list[tuple[int, Excursion]]:
        """Samples of one channel in time order; returns (step, excursion) for every
        excursion that became a failure with them.  Costs a dict lookup per open step for
        a channel nothing judges."""
        failed: list[tuple[int, Excursion]] = []
        if not t.size:
            return failed
        if float(t[-1]) > self._latest_t.get(channel, -math.inf):
            self._latest_t[channel] = float(t[-1])
        if not self._steps or self._steps[-1].window.closed:
            self._keep_for_next_step(channel, t, v)
        for k in self._open:
            state = self._steps[k]
            indices = state.by_channel.get(channel)
            if indices is None:
                continue
            window = state.window
            first, last = float(t[0]), float(t[-1])
            if first >= window.start_s and last < window.end_s:
                tk, vk = t, v  # the whole batch is inside the window (the usual case)
            else:
                if last < window.start_s or first >= window.end_s:
                    continue
                keep = (t >= window.start_s) & (t < window.end_s)
                if not keep.any():
                    continue
                tk, vk = t[keep], v[keep]
                last = float(tk[-1])
            if last > state.last_t:
                state.last_t = last
            items = state.items
            for i in indices:
                item = items[i]
                if item.kind == "limit":
                    newly = item.tracker.feed(tk, vk)
                    if newly:
                        failed.extend((k, e) for e in newly)
                elif item.kind == "timing":
                    item.tracker.feed(channel, tk, vk)
                elif item.feeds:
                    item.tracker.feed(tk, vk)
            state.fed.update(indices)
        return failed

    def _keep_for_next_step(self, channel: str, t: np.ndarray, v: np.ndarray) -> None:
        if self._steps:
            last = self._steps[-1].window
            if last.position + 1 >= len(self.plan.steps) or float(t[-1]) < last.end_s:
                return
            keep = t >= last.end_s
            t, v = t[keep], v[keep]
        self._pending.setdefault(channel, []).append((t, v))

    def fed_changes(self, measures: bool = True) -> tuple[set[int], set[int]]:
        """Look again at the items fed since the last call, the only ones whose verdict
        samples can have changed: (the steps where one's verdict changed, the steps fed).
        Their outcomes are kept, so ``record(k, {}, cached=True)`` need not ask again.
        ``measures=False`` looks at limits only and keeps the fed measurements for a later
        call (a mean or std costs up to a block of work to read; a limit's verdict is cheap
        and is what marks a violation the moment it happens)."""
        changed, fed = set(), set()
        for k in self._open:
            state = self._steps[k]
            if not state.fed:
                continue
            fed.add(k)
            outcomes, end_s = state.outcomes, state.window.end_s
            later = set()
            for i in state.fed:
                if not measures and state.items[i].kind == "measure":
                    later.add(i)
                    continue
                before = outcomes[i]
                after = _finish(state.items[i], end_s)
                outcomes[i] = after
                if before is None or before.verdict != after.verdict:
                    changed.add(k)
            state.fed = later
        return changed, fed

    def record(self, k: int, manual: dict[str, str], *, cached: bool = False) -> StepRecord:
        """The verdict of the k-th executed step so far (final once all its data is in).
        ``cached``: reuse the outcomes :meth:`fed_changes` kept (current as of its last call)."""
        state = self._steps[k]
        window, plan = state.window, self.plan
        step = plan.steps[window.position]
        gap = window.link_gap
        outcomes = state.outcomes
        items = []
        for i, item in enumerate(state.items):
            outcome = outcomes[i] if cached else None
            if outcome is None:
                outcome = outcomes[i] = _finish(item, window.end_s)
            items.append(self._tracked(item, outcome, gap))
        for kind, specs, source in (
            ("result", step.results, state.reported),
            ("manual", step.manuals, manual),
        ):
            for spec in specs:
                outcome = judge_reported(source.get(spec.name), spec.band, spec.equals)
                items.append(
                    CriterionRecord(
                        kind=kind,
                        name=spec.name,
                        channel="",
                        unit=getattr(spec, "unit", ""),
                        stat="",
                        value=outcome.value,
                        text_value=outcome.text,
                        **_band_columns(spec.band),
                        equals=spec.equals,
                        settle_s=0.0,
                        hold_s=0.0,
                        sample_count=0 if source.get(spec.name) is None else 1,
                        verdict=outcome.verdict,
                    )
                )
        verdict = worst(item.verdict for item in items)
        return StepRecord(
            window.position,
            step.name,
            window.started_ns,
            window.ended_ns,
            verdict,
            tuple(items),
            step.point,
        )

    def _tracked(
        self, item: _Item, outcome: LimitOutcome | MeasureOutcome | TimingOutcome, gap: bool
    ) -> CriterionRecord:
        spec = item.spec
        if item.kind == "timing":
            # The value is the measured time in ms, the limits low_ms/high_ms, the text the
            # reason; stat names the timing kind (docs/architecture.md §4 "Power sequencing").
            return CriterionRecord(
                kind="timing",
                name=item.name,
                channel=item.channel,
                unit="ms",
                stat=spec.kind,
                value=outcome.value_ms,
                text_value=outcome.reason,
                low=spec.low_ms,
                high=spec.high_ms,
                marginal_low=None,
                marginal_high=None,
                equals=None,
                settle_s=0.0,
                hold_s=0.0,
                sample_count=outcome.count,
                verdict="error" if gap else outcome.verdict,
            )
        if item.kind == "limit":
            limit = outcome
            return CriterionRecord(
                kind="limit",
                name=item.name,
                channel=item.channel,
                unit=self.plan.unit(spec.channel),
                stat="",
                value=limit.worst_value,
                text_value="",
                **_band_columns(spec.band),
                equals=None,
                settle_s=spec.settle_s,
                hold_s=spec.hold_s,
                sample_count=limit.count,
                verdict="error" if gap else limit.verdict,
                violations=_violations(item.channel, limit.violations),
                slot=item.slot,
                chip=item.chip,
            )
        measure = outcome
        return CriterionRecord(
            kind="measure",
            name=item.name,
            channel=item.channel,
            unit="" if spec.stat == "count" else self.plan.unit(spec.channel),
            stat=spec.stat,
            value=measure.value,
            text_value="",
            **_band_columns(spec.band),
            equals=None,
            settle_s=spec.settle_s,
            hold_s=0.0,
            sample_count=measure.count,
            verdict="error" if gap else measure.verdict,
            slot=item.slot,
            chip=item.chip,
        )

    def reported(self, k: int) -> dict[str, str]:
        return dict(self._steps[k].reported)
