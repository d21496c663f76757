"""Running a plan on a rig: steps in order, commands at step start, verdicts, one final state.

A run ends in exactly one recorded state whatever happens: passed / marginal / failed by
its verdicts, ``aborted`` when the operator stops it, ``error`` when the rig is lost for
longer than the profile's reconnect window or something breaks.  Everything recorded
before that is kept (docs/architecture.md §4).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from labbench.acquisition.pipeline import Acquisition, AcquisitionStats
from labbench.acquisition.record import storage_wait_teller
from labbench.acquisition.rigs import make_rig
from labbench.criteria.limits import Excursion, worst
from labbench.protocols.profile import Profile
from labbench.records import DutInfo, StepRecord, ViolationRecord
from labbench.runs.evaluation import LiveEvaluator, disagreement, final_records
from labbench.runs.plan import ManualSpec, Plan, Step
from labbench.storage import Database, RecordError
from labbench.storage import events as event_store
from labbench.storage import inventory as inventory_store
from labbench.storage import plans as plan_store
from labbench.storage import results as result_store
from labbench.storage import runs as run_store

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

    @property
    def violations(self) -> list[tuple[str, ViolationRecord]]:
        return [(s.name, v) for s in self.steps for c in s.criteria for v in c.violations]


class PlanMismatch(RecordError):
    pass


def run_plan(
    db: Database,
    request: RunRequest,
    *,
    stop: threading.Event | None = None,
    on_violation: Callable[[int, str, Excursion], None] | None = None,
    on_step: Callable[[int, Step], None] | None = None,
    ask_manual: Callable[[Step, ManualSpec], str | None] | None = None,
    on_started: Callable[[int, Acquisition, LiveEvaluator], None] | None = None,
    failure: list[str] | None = None,
    give_up: threading.Event | None = None,
    on_storage: Callable[[str, str], None] | None = None,
) -> RunOutcome:
    """Execute ``request.plan`` on its rig.  DeviceError / RecordError before the run exists.

    ``stop`` ends the run as aborted, unless ``failure`` holds a message by then (the GUI
    crashed, say): then it ends as error with that message.  While the database stalls the
    run goes on (``on_storage`` hears "storage_stall" / "storage_back" / "storage_wait"); at
    its end it waits for the database unless ``give_up`` is set."""
    plan, profile = request.plan, request.profile
    if plan.dut_kind != request.dut.kind:
        raise RecordError(
            f"Plan {plan.name!r} is for a {plan.dut_kind}, but {request.dut.serial} is a {request.dut.kind}."
        )
    stored_plan = plan_store.store_plan_version(
        db, plan.name, plan.version, plan.dut_kind, plan.text
    )
    rig = make_rig(request.device, profile)
    transport = rig.open()  # a rig that cannot be opened: no run is created
    station_id = inventory_store.ensure_station(db, request.station).id if request.station else None
    run = run_store.start_run(
        db,
        request.dut.id,
        plan_id=stored_plan.id,
        station_id=station_id,
        operator=request.operator,
        device=request.device,
        profile=profile.name,
        pid=os.getpid(),
    )
    stop = stop or threading.Event()
    evaluator = LiveEvaluator(plan, run.t0_ns, on_violation)
    acquisition = Acquisition(db, run.id, run.t0_ns, rig, profile, units=plan.channel_units)
    acquisition.add_listener(evaluator.on_batch)
    if on_storage is not None:
        acquisition.add_storage_listener(on_storage)
    give_up = give_up or threading.Event()
    manual: list[dict[str, str]] = []
    stopped_on_fail = False
    status = None
    error = ""
    try:
        acquisition.start(transport)
        if on_started:
            on_started(run.id, acquisition, evaluator)
        for position, step in enumerate(plan.steps):
            started_ns = time.time_ns()
            evaluator.begin_step(position, started_ns, (started_ns - run.t0_ns) / 1e9)
            acquisition.record_event(started_ns, "step_start", step.name)
            if on_step:
                on_step(position, step)
            for line in step.send:
                acquisition.send(line)
            manual.append(_manual_entries(acquisition, step, request.manual_values, ask_manual))
            deadline = time.monotonic() + step.duration_s
            while not stop.is_set() and not acquisition.link_gone.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                stop.wait(min(left, 0.05))
            ended_ns = time.time_ns()
            evaluator.end_step(ended_ns, (ended_ns - run.t0_ns) / 1e9)
            evaluator.wait_for_emit_after(ended_ns, STEP_SETTLE_TIMEOUT_S)
            acquisition.record_event(ended_ns, "step_end", step.name)
            if stop.is_set():
                status = "error" if failure else "aborted"
                error = "; ".join(failure) if failure else ""
                break
            if acquisition.link_gone.is_set():
                status, error = (
                    "error",
                    "the rig was lost and did not come back within the reconnect window",
                )
                break
            if (
                plan.stop_on_fail
                and evaluator.step_record(position, manual[position]).verdict == "failed"
            ):
                acquisition.record_event(
                    time.time_ns(), "stop_on_fail", f"step {step.name!r} failed"
                )
                stopped_on_fail = True
                break
    except KeyboardInterrupt:
        status = "aborted"
    except BaseException as exc:
        status, error = "error", f"{type(exc).__name__}: {exc}"
        log.exception("run %s failed", run.id)
        raise
    finally:
        if evaluator.windows and not evaluator.windows[-1].closed:
            ended_ns = time.time_ns()
            evaluator.end_step(ended_ns, (ended_ns - run.t0_ns) / 1e9)
        stats = acquisition.stop(give_up=give_up, on_wait=storage_wait_teller(on_storage))
        if stats.errors and status not in ("aborted",):
            status, error = "error", "; ".join(stats.errors)
        live = [
            evaluator.step_record(i, manual[i] if i < len(manual) else {})
            for i in range(len(evaluator.windows))
        ]
        final = final_records(
            db,
            run.id,
            plan,
            evaluator.windows,
            profile,
            run.t0_ns,
            [manual[i] if i < len(manual) else {} for i in range(len(evaluator.windows))],
        )
        mismatch = disagreement(live, final)
        agrees = mismatch is None
        if not agrees:
            log.error("run %s: live and final evaluation disagree: %s", run.id, mismatch)
            event_store.add_run_event(
                db,
                run.id,
                "evaluation_mismatch",
                f"live and final evaluation disagree ({mismatch}); the final one is stored",
            )
        verdict = worst(step.verdict for step in final) if final else "error"
        if stopped_on_fail:  # the steps never run are recorded as skipped, after the verdict
            final += [
                StepRecord(i, s.name, time.time_ns(), None, "skipped")
                for i, s in enumerate(plan.steps)
                if i >= len(final)
            ]
        result_store.store_results(db, run.id, final)
        if status is None:
            status = verdict
        violations = sum(len(c.violations) for s in final for c in s.criteria)
        failed_items = sum(1 for s in final for c in s.criteria if c.verdict in ("failed", "error"))
        run_store.finish_run_when_possible(
            db,
            run.id,
            status,
            error_message=error,
            give_up=give_up,
            violation_count=violations,
            failed_items=failed_items,
        )
    return RunOutcome(
        run.id,
        status,
        verdict,
        final,
        stats,
        agrees,
        [lat for *_, lat in evaluator.live_violations],
    )


def _manual_entries(
    acquisition: Acquisition, step: Step, given: dict[str, str], ask
) -> dict[str, str]:
    values: dict[str, str] = {}
    for spec in step.manuals:
        value = given.get(spec.name)
        if value is None and ask is not None:
            value = ask(step, spec)
        if value is not None:
            values[spec.name] = str(value)
            acquisition.record_event(time.time_ns(), "manual", f"{spec.name} = {value}")
    return values
