"""Judging a run's steps: live (batches as they arrive) and final (from stored data).

Both paths feed one :class:`~labbench.runs.judgement.Judgement` through the same methods:
the live one with the batches of the reader thread, the final one by replaying the run's
stored link events, result lines and telemetry chunks.  The accumulators do not depend on
how the samples are chunked, so the two agree exactly; :func:`disagreement` compares their
structured records and the sequencer records any difference.

The live evaluator pushes what changes (an item's verdict, a failed excursion) to its
listeners as it happens.  A batch costs the items it fed: only their verdicts are looked at
(nothing else changes a limit's or a measurement's verdict but a step's end, a link gap or a
rig result, which rebuild their step at once).  The step records :meth:`LiveEvaluator.snapshot`
hands out are rebuilt when a verdict changed, a step began or ended, and otherwise at most
every :data:`RECORD_REFRESH_S`: their verdicts are always current, their values at most that
old, and a display's refresh costs the same whatever the step's length.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping

from labbench.acquisition.pipeline import SampleBatch
from labbench.criteria.limits import Excursion
from labbench.protocols.profile import Profile
from labbench.records import StepRecord
from labbench.runs.events import ItemVerdictChanged, ViolationFound
from labbench.runs.judgement import Judgement, StepWindow, window_has_gap
from labbench.runs.plan import Plan
from labbench.storage import Database
from labbench.storage import events as event_store
from labbench.storage.telemetry_read import iter_channel_chunks

__all__ = [
    "EvaluationEvent",
    "ItemVerdictChanged",
    "LiveEvaluator",
    "StepWindow",
    "ViolationFound",
    "disagreement",
    "final_records",
    "window_has_gap",
]

log = logging.getLogger(__name__)

# How old the values (not the verdicts) of a snapshot's records may be.
RECORD_REFRESH_S = 0.1


EvaluationEvent = ItemVerdictChanged | ViolationFound


class LiveEvaluator:
    """Follows the run as batches arrive (on the reader thread); thread-safe.

    Listeners added with :meth:`add_listener` are called on the thread that judged the
    change (the reader thread for batches; the caller of :meth:`snapshot` for a measurement
    whose verdict is caught up after the batches went quiet), outside the evaluator's lock,
    in order."""

    def __init__(
        self,
        plan: Plan,
        t0_ns: int,
        on_violation: Callable[[int, str, Excursion], None] | None = None,
        slots: Mapping[int, str] | None = None,
        refresh_s: float = RECORD_REFRESH_S,
    ):
        self.plan = plan
        self.refresh_s = refresh_s
        self.t0_ns = t0_ns
        self.on_violation = on_violation
        self._judgement = Judgement(plan, slots)
        self._records: list[StepRecord] = []  # as of the last rebuild, without manual entries
        # The steps whose values (not verdicts) changed since their record was rebuilt.
        self._stale: set[int] = set()
        self._rebuilt_at = time.monotonic()  # of the last periodic rebuild
        self._listeners: list[Callable[[EvaluationEvent], None]] = []
        self._lock = threading.Lock()
        self._emitted = threading.Condition(self._lock)
        self._last_emit_ns = 0
        self.live_violations: list[
            tuple[int, str, Excursion, float]
        ] = []  # + seconds after its completing sample

    @property
    def windows(self) -> list[StepWindow]:
        return self._judgement.windows

    @property
    def reported(self) -> list[dict[str, str]]:
        with self._lock:
            return [self._judgement.reported(k) for k in range(len(self._records))]

    def add_listener(self, listener: Callable[[EvaluationEvent], None]) -> None:
        """Hear every :class:`ItemVerdictChanged` and :class:`ViolationFound` as it happens."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[EvaluationEvent], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def begin_step(self, position: int, started_ns: int, start_s: float) -> None:
        with self._lock:
            self._judgement.begin(position, started_ns, start_s)
            self._records.append(None)
            events = self._refresh([len(self._records) - 1])
        self._publish(events, [])

    def end_step(self, ended_ns: int, end_s: float) -> None:
        with self._lock:
            self._judgement.end(ended_ns, end_s)
            events = self._refresh([len(self._records) - 1])
        self._publish(events, [])

    def wait_for_emit_after(self, ns: int, timeout: float) -> bool:
        """True once a batch emitted after ``ns`` has been judged (so the step has all its data)."""
        with self._emitted:
            return self._emitted.wait_for(lambda: self._last_emit_ns > ns, timeout)

    def on_batch(self, batch: SampleBatch) -> None:
        judgement = self._judgement
        with self._lock:
            rebuild: set[int] = set()
            for at_ns, change in batch.link_changes:
                rebuild.update(judgement.link_change(at_ns, change))
            for received_ns, name, value in batch.results:
                rebuild.update(judgement.result(received_ns, name, value))
            found = []
            for channel, (t, v) in batch.samples.items():
                for k, excursion in judgement.samples(channel, t, v):
                    position = judgement.windows[k].position
                    latency = (time.time_ns() - self.t0_ns) / 1e9 - excursion.end_s
                    self.live_violations.append((position, channel, excursion, latency))
                    found.append(
                        ViolationFound(position, self.plan.steps[position].name, channel, excursion)
                    )
            now = time.monotonic()
            due = now - self._rebuilt_at >= self.refresh_s
            # Limits are looked at every batch (a violation is marked the moment it
            # happens); measurements (a mean or std costs up to a block of work to read)
            # when records are rebuilt anyway: a verdict changed, or they are due.
            changed, fed = judgement.fed_changes(measures=due)
            if (changed or rebuild) and not due:
                changed |= judgement.fed_changes(measures=True)[0]
            rebuild |= changed
            self._stale |= fed - rebuild
            if self._stale and due:
                rebuild |= self._stale
                self._rebuilt_at = now
            events = self._refresh(sorted(rebuild))
            judgement.settled(batch.emitted_ns)
            self._last_emit_ns = batch.emitted_ns
            self._emitted.notify_all()
        self._publish(events, found)

    def snapshot(self) -> list[StepRecord]:
        """The live results of every step begun so far (for displays; manual entries aside).

        Their verdicts are those of the last judged batch; their values at most
        ``refresh_s`` older (rebuilt here if the batches have gone quiet)."""
        events: list[ItemVerdictChanged] = []
        with self._lock:
            now = time.monotonic()
            if self._stale and now - self._rebuilt_at >= self.refresh_s:
                self._rebuilt_at = now
                self._judgement.fed_changes(measures=True)  # the measurements left for later
                events = self._refresh(sorted(self._stale))
                self._stale.clear()
            records = list(self._records)
        self._publish(events, [])  # a measurement's verdict may have changed with them
        return records

    def step_record(self, position: int, manual: dict[str, str]) -> StepRecord:
        """The live verdict of a step (final once it ended and a later batch was judged)."""
        with self._lock:
            return self._judgement.record(position, manual)

    def _refresh(self, steps: list[int]) -> list[ItemVerdictChanged]:
        """Recompute the records of ``steps`` (lock held); the item verdicts that changed."""
        events = []
        for k in steps:
            record = self._judgement.record(k, {}, cached=True)
            before = self._records[k]
            previous = (
                {} if before is None else {(c.kind, c.name): c.verdict for c in before.criteria}
            )
            for item in record.criteria:
                old = previous.get((item.kind, item.name))
                if old != item.verdict:
                    events.append(
                        ItemVerdictChanged(
                            record.position, record.name, item, old, record.verdict, record.point
                        )
                    )
            self._records[k] = record
            self._stale.discard(k)
        return events

    def _publish(self, changes: list[ItemVerdictChanged], found: list[ViolationFound]) -> None:
        if not changes and not found:
            return
        listeners = list(self._listeners)
        for event in found:
            if self.on_violation:
                try:
                    self.on_violation(event.position, event.channel, event.excursion)
                except Exception:
                    log.exception("violation listener failed")
        for event in [*found, *changes]:
            for listener in listeners:
                try:
                    listener(event)
                except Exception:
                    log.exception("evaluation listener failed")


def final_records(
    db: Database,
    run_id: int,
    plan: Plan,
    windows: list[StepWindow],
    profile: Profile,
    t0_ns: int,
    manual: list[dict[str, str]],
    slots: Mapping[int, str] | None = None,
) -> list[StepRecord]:
    """Judge every executed step again by replaying the stored link events, result lines and
    telemetry through the same :class:`Judgement` the live evaluation used (with the same
    ``slots``, the placement the run started with)."""
    judgement = Judgement(plan, slots)
    for w in windows:
        judgement.begin(w.position, w.started_ns, w.start_s)
        if w.closed:
            judgement.end(w.ended_ns, w.end_s)
        elif w is not windows[-1]:
            raise ValueError(f"step {w.position} of run {run_id} never ended")
    for event in event_store.run_events(db, run_id):
        if event.kind in ("disconnect", "reconnect"):
            judgement.link_change(event.at_ns, event.kind)
        elif event.kind == "result" and profile.result_pattern is not None:
            match = profile.result_pattern.search(event.detail)
            if match:
                judgement.result(event.at_ns, match.group("name"), match.group("value"))
    channels = judgement.channels()
    if windows:
        first = min(w.start_s for w in windows)
        last = max(w.end_s for w in windows)
        for channel in channels:
            chunks = iter_channel_chunks(
                db, run_id, channel, first, None if math.isinf(last) else last
            )
            try:
                for t, v in chunks:
                    judgement.samples(channel, t, v)
            except KeyError:  # the rig never sent this channel
                continue
    return [judgement.record(k, manual[k]) for k in range(len(windows))]


def _same(a: object, b: object) -> bool:
    if dataclasses.is_dataclass(a) and type(a) is type(b):
        return all(_same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))  # NaN is a value here (a NaN stat)
    return type(a) is type(b) and a == b


def disagreement(live: list[StepRecord], final: list[StepRecord]) -> str | None:
    """None when the live and final records are identical (field by field, NaN equal to
    NaN); otherwise one sentence naming the first step and item that differ."""
    if len(live) != len(final):
        return f"live judged {len(live)} steps, final {len(final)}"
    for a, b in zip(live, final, strict=True):
        if _same(a, b):
            continue
        for x, y in zip(a.criteria, b.criteria, strict=False):
            if not _same(x, y):
                return (
                    f"step {a.name!r} item {x.name!r}: "
                    f"live {x.verdict} ({x.value!r}, {x.sample_count} samples), "
                    f"final {y.verdict} ({y.value!r}, {y.sample_count} samples)"
                )
        return f"step {a.name!r}: live {a.verdict}, final {b.verdict}"
    return None
