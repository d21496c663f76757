"""A run as one JSON record for MES systems and scripts (docs/architecture.md §9).

The record holds what the CSV report holds (run metadata, the chips a sled ran with, every
judged item with its limits, value and verdict) plus the steps, every violation, a summary of
the run's events and the operator's notes. Its shape is the JSON Schema
``docs/record-schema.json`` (``format`` and ``schema_version`` name it in every record).

Strict JSON: a NaN or infinite number is written ``null`` (the item's verdict still says
what it was judged), and text is plain data: no cell escaping as in CSV.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from labbench.export.run_context import (
    RunContext,
    finite,
    iso_utc,
    limits_text,
    load_run,
    open_output,
)
from labbench.records import CriterionRecord, SweepCoordinates
from labbench.storage import Database
from labbench.storage import events as event_store
from labbench.storage.sweeps import sweeps_of
from labbench.storage.telemetry import PARSED_EVENT_KINDS

__all__ = ["RECORD_FORMAT", "SCHEMA_ID", "SCHEMA_VERSION", "run_record", "write_json_record"]

RECORD_FORMAT = "labbench-run-record"
# Bumped with docs/record-schema.json: the minor number when fields are added, the major
# number when a field changes meaning or goes away.
SCHEMA_VERSION = "1.2"  # 1.1: items of kind timing; 1.2: sweeps, and steps' sweep_point
SCHEMA_ID = "urn:labbench:schema:run-record:1"


def _item(step: str, position: int, c: CriterionRecord) -> dict:
    return {
        "step": step,
        "step_position": position,
        "kind": c.kind,
        "name": c.name,
        "channel": c.channel,
        "unit": c.unit,
        "stat": c.stat,
        "slot": c.slot,
        "chip": c.chip or None,
        "low": finite(c.low),
        "high": finite(c.high),
        "marginal_low": finite(c.marginal_low),
        "marginal_high": finite(c.marginal_high),
        "equals": c.equals,
        "limits": limits_text(c),
        "value": finite(c.value),
        "text_value": c.text_value,
        "verdict": c.verdict,
        "sample_count": c.sample_count,
        "settle_s": finite(c.settle_s),
        "hold_s": finite(c.hold_s),
        "violations": len(c.violations),
        "first_violation_s": finite(c.first_violation_s),
    }


def _point(point: SweepCoordinates | None) -> dict | None:
    if point is None:
        return None
    return {
        "sweep": point.sweep,
        "x_name": point.x_name,
        "x": finite(point.x),
        "y_name": point.y_name,
        "y": finite(point.y),
        "order": point.order,
    }


def _events(db: Database, ctx: RunContext) -> dict:
    # The rig's own text (console lines, malformed lines, results) may number millions: it
    # is counted in the database, never listed; everything else that happened is listed.
    listed = event_store.run_events(db, ctx.run.id, except_kinds=PARSED_EVENT_KINDS)
    return {
        "counts": event_store.event_counts(db, ctx.run.id),
        "listed": [
            {"kind": e.kind, "t_s": ctx.seconds(e.at_ns), "detail": e.detail} for e in listed
        ],
        "counted_only": sorted(PARSED_EVENT_KINDS),
    }


def run_record(db: Database, run_id: int) -> dict:
    """The record of one run as plain JSON data (no NaN, no infinity)."""
    ctx = load_run(db, run_id)
    run, dut, plan = ctx.run, ctx.dut, ctx.plan
    items = [_item(s.name, s.position, c) for s in ctx.steps for c in s.criteria]
    violations = [
        {
            "step": s.name,
            "item": c.name,
            "channel": v.channel,
            "slot": c.slot,
            "chip": c.chip or None,
            "start_s": finite(v.start_s),
            "end_s": finite(v.end_s),
            "extreme": finite(v.extreme),
            "bound": v.bound,
        }
        for s in ctx.steps
        for c in s.criteria
        for v in c.violations
    ]
    notes = [
        {"at_utc": iso_utc(a.at), "user": a.user, "text": a.reason}
        for a in event_store.audit_trail(db, "run", run_id)
        if a.action == "note"
    ]
    return {
        "format": RECORD_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "run": {
            "id": run.id,
            "status": run.status,
            "error_message": run.error_message,
            "dut": {
                "serial": dut.serial,
                "kind": dut.kind,
                "part": dut.part,
                "lot": dut.lot,
                "wafer": dut.wafer,
                "wafer_x": dut.wafer_x,
                "wafer_y": dut.wafer_y,
            },
            "plan": None
            if plan is None
            else {"name": plan.name, "version": plan.version, "sha256": plan.sha256},
            "station": ctx.station,
            "host": run.host,
            "operator": run.operator,
            "device": run.device,
            "profile": run.profile,
            "software_version": run.software_version,
            "start_utc": iso_utc(run.started_at),
            "end_utc": iso_utc(run.ended_at),
            "duration_s": finite(ctx.duration_s),
            "t0_ns": run.t0_ns,
            "samples": run.sample_count,
            "malformed_lines": run.malformed_count,
            "console_lines": run.console_count,
            "violation_count": run.violation_count,
            "failed_items": run.failed_items,
        },
        "chips": [
            {"slot": s.slot, "chip": s.chip_serial, "verdict": s.chip_verdict} for s in ctx.slots
        ],
        "steps": [
            {
                "position": s.position,
                "name": s.name,
                "verdict": s.verdict,
                "start_s": None if s.verdict == "skipped" else ctx.seconds(s.started_ns),
                "end_s": ctx.seconds(s.ended_ns),
                "items": len(s.criteria),
                "sweep_point": _point(s.point),
            }
            for s in ctx.steps
        ],
        "sweeps": [sweep.as_json() for sweep in sweeps_of(ctx.steps)],
        "items": items,
        "violations": violations,
        "events": _events(db, ctx),
        "notes": notes,
    }


def write_json_record(db: Database, run_ids: int | Iterable[int], path: str | Path) -> int:
    """Write one run's record (a JSON object), or several runs' as a JSON array; returns the
    number of items written. Every run is read before the file is opened."""
    single = isinstance(run_ids, int)
    records = [run_record(db, run_id) for run_id in ([run_ids] if single else run_ids)]
    text = json.dumps(
        records[0] if single else records, ensure_ascii=False, allow_nan=False, indent=2
    )
    with open_output(path) as f:
        f.write(text + "\n")
    return sum(len(r["items"]) for r in records)
