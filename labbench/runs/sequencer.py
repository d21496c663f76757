"""Running a plan on a rig: steps in order, commands at step start, verdicts, one final state.

A run ends in exactly one recorded state whatever happens: passed / marginal / failed by
its verdicts, ``aborted`` when the operator stops it, ``error`` when the rig is lost for
longer than the profile's reconnect window or something breaks.  Everything recorded
before that is kept (docs/architecture.md §4).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace

from labbench.acquisition.pipeline import AcquisitionStats
from labbench.criteria.limits import worst
from labbench.protocols.profile import Profile
from labbench.records import DutInfo, StepRecord, ViolationRecord
from labbench.runs.evaluation import disagreement, final_records
from labbench.runs.events import StepStarted
from labbench.runs.judgement import chip_verdicts, judges_per_chip
from labbench.runs.plan import Plan, Step
from labbench.runs.session import Conclusion, Listener, RunSession
from labbench.storage import Database, RecordError
from labbench.storage import events as event_store
from labbench.storage import inventory as inventory_store
from labbench.storage import plans as plan_store
from labbench.storage import results as result_store

log = logging.getLogger(__name__)

# How long to wait, after a step ends, for the batch that proves all its samples were judged.
STEP_SETTLE_TIMEOUT_S = 1.0


@dataclass
class RunRequest:
    plan: Plan
    dut: DutInfo
    device: str
    profile: Profile
    operator: str = ""
    station: str | None = None
    manual_values: dict[str, str] = field(default_factory=dict)


@dataclass
class RunOutcome:
    run_id: int
    status: str
    verdict: str
    steps: list[StepRecord]
    stats: AcquisitionStats
    live_agrees: bool
    live_violation_latencies_s: list[float]
    # A sled run's placement (slot → chip serial) and each chip's own verdict (slot →
    # verdict: the worst of its per-chip items); empty for other runs.
    slots: dict[int, str] = field(default_factory=dict)
    chip_verdicts: dict[int, str] = field(default_factory=dict)

    @property
    def violations(self) -> list[tuple[str, ViolationRecord]]:
        return [(s.name, v) for s in self.steps for c in s.criteria for v in c.violations]


class PlanMismatch(RecordError):
    pass


def plan_session(
    db: Database,
    request: RunRequest,
    *,
    stop: threading.Event | None = None,
    give_up: threading.Event | None = None,
) -> RunSession:
    """The session a plan run goes through: the plan checked against the DUT and its version
    stored (RecordError before the rig is touched)."""
    plan = request.plan
    if plan.dut_kind != request.dut.kind:
        raise RecordError(
            f"Plan {plan.name!r} is for a {plan.dut_kind}, "
            f"but {request.dut.serial} is a {request.dut.kind}."
        )
    if judges_per_chip(plan) and not inventory_store.sled_slots(db, request.dut.id):
        raise RecordError(
            f"sled {request.dut.serial} has no chips placed: plan {plan.name!r} judges per chip"
        )
    stored_plan = plan_store.store_plan_version(
        db, plan.name, plan.version, plan.dut_kind, plan.text
    )
    return RunSession(
        db,
        device=request.device,
        dut=request.dut,
        profile=request.profile,
        operator=request.operator,
        station=request.station,
        plan=plan,
        plan_id=stored_plan.id,
        stop=stop,
        give_up=give_up,
    )


def run_plan(
    db: Database,
    request: RunRequest,
    *,
    session: RunSession | None = None,
    stop: threading.Event | None = None,
    listener: Listener | None = None,
    give_up: threading.Event | None = None,
) -> RunOutcome:
    """Execute ``request.plan`` on its rig through a :class:`RunSession` (``session``, made
    with :func:`plan_session`, or a new one).  DeviceError / RecordError before the run
    exists.

    ``stop`` (the session's, or ``session.stop()``) ends the run as aborted,
    ``session.fail(message)`` as error.  ``listener`` hears the run's events
    (:mod:`labbench.runs.events`).  While the database stalls the run goes on; at its end
    it waits for the database unless ``give_up`` is set."""
    session = session or plan_session(db, request, stop=stop, give_up=give_up)
    if listener is not None:
        session.subscribe(listener)
    stepping = _PlanStepping(request, session)
    return session.execute(stepping.run, stepping.conclude)


class _PlanStepping:
    """The steps of one plan run: commands at step start, manual entries, stop-on-fail, and
    at the end the final evaluation from stored data."""

    def __init__(self, request: RunRequest, session: RunSession):
        self.request, self.session = request, session
        self.manual: list[dict[str, str]] = []
        self.stopped_on_fail = False
        self.cut_point: int | None = None  # a sweep point whose dwell a stop cut short

    def run(self, session: RunSession) -> tuple[str | None, str]:
        plan, evaluator = self.request.plan, session.evaluator
        for position, step in enumerate(plan.steps):
            started_ns = time.time_ns()
            start_s = session.seconds(started_ns)
            # Told first: the verdicts of the step's items follow its start in the stream.
            session.publish(StepStarted(position, step.name, started_ns, start_s, step.point))
            evaluator.begin_step(position, started_ns, start_s)
            session.record_event(started_ns, "step_start", step.name)
            for line in step.send:
                session.send(line)
            self.manual.append(self._manual_entries(position, step))
            session.wait(step.duration_s)
            ended_ns = time.time_ns()
            evaluator.end_step(ended_ns, session.seconds(ended_ns))
            session.request_batch(ended_ns)  # the proof below: one read away, not one interval
            evaluator.wait_for_emit_after(ended_ns, STEP_SETTLE_TIMEOUT_S)
            session.record_event(ended_ns, "step_end", step.name)
            early = session.ended_early()
            if early is not None:
                if step.point is not None:
                    self.cut_point = position
                return early
            if (
                plan.stop_on_fail
                and evaluator.step_record(position, self.manual[position]).verdict == "failed"
            ):
                session.record_event(time.time_ns(), "stop_on_fail", f"step {step.name!r} failed")
                self.stopped_on_fail = True
                break
        return None, ""

    def conclude(self, stats: AcquisitionStats, status: str | None, error: str) -> Conclusion:
        session, plan = self.session, self.request.plan
        evaluator = session.evaluator
        if evaluator.windows and not evaluator.windows[-1].closed:
            ended_ns = time.time_ns()
            evaluator.end_step(ended_ns, session.seconds(ended_ns))
        run_id = session.run_id
        manual = [
            self.manual[i] if i < len(self.manual) else {} for i in range(len(evaluator.windows))
        ]
        live = [evaluator.step_record(i, manual[i]) for i in range(len(evaluator.windows))]
        final = final_records(
            session.db,
            run_id,
            plan,
            evaluator.windows,
            self.request.profile,
            session.t0_ns,
            manual,
            session.slots,
        )
        mismatch = disagreement(live, final)
        if mismatch is not None:
            log.error("run %s: live and final evaluation disagree: %s", run_id, mismatch)
            event_store.add_run_event(
                session.db,
                run_id,
                "evaluation_mismatch",
                f"live and final evaluation disagree ({mismatch}); the final one is stored",
            )
        verdict = worst(step.verdict for step in final) if final else "error"
        # Recorded as skipped, after the verdict: every step never run when a failed step
        # stopped the run, and whatever ended it, every sweep point never run, so that its
        # shmoo shows them as not run (never as passed) with their coordinates.
        final += [
            StepRecord(i, s.name, time.time_ns(), None, "skipped", point=s.point)
            for i, s in enumerate(plan.steps)
            if i >= len(final) and (self.stopped_on_fail or s.point is not None)
        ]
        if self.cut_point is not None and self.cut_point < len(final):
            # A point whose dwell the stop (or a lost rig) cut short was not run: its items
            # stay as judged, but its cell is "-", since a part of a dwell may pass where the
            # whole would not, and a point at the largest x decides Vmin.
            final[self.cut_point] = replace(final[self.cut_point], verdict="skipped")
        chips = chip_verdicts(final, session.slots)
        result_store.store_results(session.db, run_id, final, chips)
        status = status or verdict
        violations = sum(len(c.violations) for s in final for c in s.criteria)
        failed_items = sum(1 for s in final for c in s.criteria if c.verdict in ("failed", "error"))
        outcome = RunOutcome(
            run_id,
            status,
            verdict,
            final,
            stats,
            mismatch is None,
            [lat for *_, lat in evaluator.live_violations],
            dict(session.slots),
            chips,
        )
        return Conclusion(status, error, violations, failed_items, outcome)

    def _manual_entries(self, position: int, step: Step) -> dict[str, str]:
        values: dict[str, str] = {}
        for spec in step.manuals:
            value = self.request.manual_values.get(spec.name)
            if value is None:
                value = self.session.ask_manual(position, step, spec)
            if value is not None:
                values[spec.name] = str(value)
                self.session.record_event(time.time_ns(), "manual", f"{spec.name} = {value}")
        return values
