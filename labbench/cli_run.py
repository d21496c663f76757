"""The `labbench` commands that record: `run` (a plan, judged), `record` (no plan) and
`reparse` (a stored run rebuilt from its raw bytes with another profile).

Each opens its run through the run session (``labbench.runs.session``), prints what the
session's event stream tells it, and returns the exit code of docs/architecture.md §5.
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys

from labbench.cli import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_RUN_ERROR,
    UsageError,
    load_profile_option,
    open_db,
)
from labbench.criteria.band import describe_limits, g

log = logging.getLogger(__name__)


def record_command(args: argparse.Namespace) -> int:
    from labbench.cli_storage import interrupts, storage_printer, writable
    from labbench.devices.transport import DeviceError
    from labbench.runs.recording import record

    if not args.duration > 0:
        raise UsageError(f"--duration must be a positive number of seconds, not {args.duration}.")
    profile = load_profile_option(args.profile)
    db = open_db(args)
    writable(db)
    try:
        dut = _find_or_register_dut(db, args.dut, args.new_dut)
        stop, give_up = interrupts()
        try:
            summary = record(
                db,
                device=args.device,
                dut=dut,
                duration_s=args.duration,
                profile=profile,
                operator=args.operator,
                station=args.station or socket.gethostname(),
                stop=stop,
                give_up=give_up,
                listener=storage_printer,
            )
        except DeviceError as exc:
            raise UsageError(str(exc)) from None
    finally:
        db.dispose()
    if args.json:
        print(json.dumps(summary.__dict__))
    else:
        print(
            f"run {summary.run_id} {summary.status}: {summary.samples} samples from "
            f"{summary.lines} lines, "
            f"{summary.malformed} malformed, {summary.console} console lines"
            + (
                f", {summary.disconnects} disconnects, {summary.reconnects} reconnects"
                if summary.disconnects
                else ""
            )
            + (f", {summary.storage_stalls} storage stalls" if summary.storage_stalls else "")
        )
        if summary.error:
            print(
                f"labbench: run {summary.run_id} ended as {summary.status} because "
                f"{summary.error}.",
                file=sys.stderr,
            )
    return EXIT_OK if summary.status == "recorded" else EXIT_RUN_ERROR


def reparse_command(args: argparse.Namespace) -> int:
    from labbench.acquisition.record import reparse
    from labbench.storage import RecordError

    profile = load_profile_option(args.profile)
    db = open_db(args)
    try:
        summary = reparse(db, args.run_id, profile, user=args.user, reason=args.reason)
    except RecordError as exc:
        raise UsageError(str(exc)) from None
    finally:
        db.dispose()
    print(
        f"run {summary.run_id} re-parsed with profile {profile.name}: {summary.samples} samples in "
        f"{summary.channels} channels, {summary.malformed} malformed, {summary.console} console "
        "lines"
    )
    return EXIT_OK


def _manual_values(pairs: list[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq or not name.strip():
            raise UsageError(f"--manual {pair!r} must look like NAME=VALUE.")
        values[name.strip()] = value
    return values


def _find_or_register_dut(db, serial: str, new_kind: str | None, plan=None):
    """The DUT ``serial``, registered first with ``--new-dut``; a run its plan would refuse
    (another kind, a new sled with no chips for a plan that judges per chip) registers
    nothing."""
    from labbench.runs.judgement import judges_per_chip
    from labbench.storage import inventory as inventory_store

    dut = inventory_store.find_dut(db, serial)
    if dut is None:
        if not new_kind:
            raise UsageError(
                f"The DUT {serial!r} is not registered; add --new-dut chip (or sled) to register "
                "it."
            )
        if plan is not None and plan.dut_kind != new_kind:
            raise UsageError(
                f"Plan {plan.name!r} is for a {plan.dut_kind}, but --new-dut {new_kind} would "
                f"register {serial} as a {new_kind}; nothing was registered."
            )
        if plan is not None and judges_per_chip(plan):
            raise UsageError(
                f"Plan {plan.name!r} judges per chip, and a new sled {serial} has no chips placed; "
                f"register it and place its chips first (labbench dut add / dut place)."
            )
        dut = inventory_store.add_dut(db, new_kind, serial)
    return dut


def _warn_unfed_channels(plan, profile, device: str) -> None:
    """Before the run starts: each channel the plan judges that the profile (on this rig, when
    its channels are known) cannot produce would end its items as error; say so now."""
    from labbench.runs.compat import check, rig_channels_of

    for mismatch in check(plan, profile, rig_channels_of(device)):
        print(f"warning: {mismatch.sentence()}", file=sys.stderr, flush=True)


def _timing_items(step) -> list[dict]:
    """A step's power-sequencing items for ``--json`` (docs/architecture.md §4)."""
    return [
        {
            "name": c.name,
            "kind": c.stat,
            "channels": c.channel.split(","),
            "value_ms": c.value,
            "low_ms": c.low,
            "high_ms": c.high,
            "verdict": c.verdict,
            "reason": c.text_value,
        }
        for c in step.criteria
        if c.kind == "timing"
    ]


def _print_shmoo(sweep) -> None:
    """A sweep's grid for people: rows y (ascending), columns x, P/M/F/E/- cells, then Vmin
    and holes per row."""
    from labbench.criteria.shmoo import axis_text

    shmoo = sweep.shmoo
    print(f"shmoo {sweep.name}: x {shmoo.x_name}" + (f", y {shmoo.y_name}" if shmoo.y_name else ""))
    width = max((len(axis_text(y)) for y in shmoo.ys), default=0)
    for y in shmoo.ys:
        holes = [axis_text(x) for x, hy in shmoo.holes if hy == y]
        vmin = shmoo.vmin.get(y)
        print(
            f"  {axis_text(y):>{width}} "
            + "".join(shmoo.cell(x, y) for x in shmoo.xs)
            + f"  vmin {'none' if vmin is None else axis_text(vmin)}"
            + (f"  holes at {' '.join(holes)}" if holes else "")
        )
    print(f"  {'':>{width}} x from {axis_text(shmoo.xs[0])} to {axis_text(shmoo.xs[-1])}")


def run_command(args: argparse.Namespace) -> int:
    from labbench.cli_storage import interrupts, storage_printer, writable
    from labbench.devices.transport import DeviceError
    from labbench.runs.events import StepStarted, ViolationFound
    from labbench.runs.plan import PlanError, load_plan
    from labbench.runs.sequencer import RunRequest, run_plan
    from labbench.storage import RecordError
    from labbench.storage import runs as run_store
    from labbench.storage.sweeps import sweeps_of

    try:
        plan = load_plan(args.plan)
    except PlanError as exc:
        raise UsageError(str(exc)) from None
    profile = load_profile_option(args.profile)
    manual = _manual_values(args.manual)
    known = {m.name for step in plan.steps for m in step.manuals}
    unknown = sorted(set(manual) - known)
    if unknown:
        raise UsageError(
            f"--manual {unknown[0]!r}: the plan {plan.name!r} has no manual entry of that name."
        )
    _warn_unfed_channels(plan, profile, args.device)
    db = open_db(args)
    writable(db)
    stop, give_up = interrupts()

    def on_event(event) -> None:
        storage_printer(event)
        if args.json:
            return
        if isinstance(event, StepStarted):
            step = plan.steps[event.position]
            print(
                f"step {event.position + 1}/{len(plan.steps)} {step.name} ({step.duration_s:g} s)",
                flush=True,
            )
        elif isinstance(event, ViolationFound):
            excursion = event.excursion
            print(
                f"  VIOLATION {event.step}: {event.channel} {excursion.bound} "
                f"at {excursion.start_s:.3f} s (extreme {excursion.extreme!r})",
                flush=True,
            )

    try:
        dut = _find_or_register_dut(db, args.dut, args.new_dut, plan)
        request = RunRequest(
            plan,
            dut,
            args.device,
            profile,
            args.operator,
            args.station or socket.gethostname(),
            manual,
        )
        outcome = run_plan(db, request, stop=stop, listener=on_event, give_up=give_up)
        run = run_store.get_run(db, outcome.run_id)
    except (DeviceError, RecordError) as exc:
        raise UsageError(str(exc)) from None
    finally:
        db.dispose()
    violations = [
        {
            "step": step,
            "channel": v.channel,
            "start_s": v.start_s,
            "end_s": v.end_s,
            "extreme": v.extreme,
            "bound": v.bound,
        }
        for step, v in outcome.violations
    ]
    # A sled run's chips as placed at its start, each with its own verdict (None: the plan
    # judges nothing per chip).
    chips = [
        {"slot": slot, "chip": serial, "verdict": outcome.chip_verdicts.get(slot)}
        for slot, serial in sorted(outcome.slots.items())
    ]
    sweeps = [sweep.as_json() for sweep in sweeps_of(outcome.steps)]
    if args.json:
        summary = {
            "run_id": outcome.run_id,
            "verdict": outcome.status,
            "samples": run.sample_count,
            "malformed": run.malformed_count,
            "violations": violations,
            "steps": [
                {"name": s.name, "verdict": s.verdict, "timing": _timing_items(s)}
                for s in outcome.steps
            ],
            "chips": chips,
        }
        if sweeps:  # the first sweep step's shmoo as `sweep`; every one in `sweeps`
            summary["sweep"] = sweeps[0]
            summary["sweeps"] = sweeps
        print(json.dumps(summary, allow_nan=True))
    else:
        for step in outcome.steps:
            print(f"{step.verdict.upper():9} {step.name}")
            for item in step.criteria:
                if item.kind == "timing":  # measured times are shown, passed or not
                    limits = describe_limits(item.low, item.high, unit="ms") or "no limits"
                    print(
                        f"          {item.verdict:9} timing {item.name}"
                        + ("" if item.value is None else f" = {g(item.value)} ms")
                        + f" ({limits}): {item.text_value}"
                    )
                elif item.verdict != "passed":
                    print(
                        f"          {item.verdict:9} {item.kind} {item.name}"
                        + ("" if item.value is None else f" = {item.value!r}")
                        + (f"  (chip {item.chip})" if item.chip else "")
                    )
        print(
            f"run {outcome.run_id}: {outcome.status.upper()} ({run.sample_count} samples, "
            f"{len(violations)} violations, {run.malformed_count} malformed lines)"
        )
        for sweep in sweeps_of(outcome.steps):
            _print_shmoo(sweep)
        width = max((len(c["chip"]) for c in chips), default=0)
        for c in chips:
            print(
                f"slot {c['slot']:<2} {c['chip']:{width}}  {c['verdict'] or 'not judged per chip'}"
            )
        if run.error_message:
            print(
                f"labbench: run {outcome.run_id} ended as {outcome.status} because "
                f"{run.error_message}.",
                file=sys.stderr,
            )
    return {"passed": EXIT_OK, "marginal": EXIT_OK, "failed": EXIT_FAILED}.get(
        outcome.status, EXIT_RUN_ERROR
    )
