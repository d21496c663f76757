"""Runs as JUnit XML for CI dashboards (docs/architecture.md §9).

One ``<testsuite>`` per run inside a ``<testsuites>`` root, one ``<testcase>`` per judged
item: ``classname`` is the step, ``name`` the item (``vdd_core[2] [slot 2 CHP-0413]`` for a
sled run's per-chip item). A failed item carries ``<failure>`` with its value, limits and
first violation, an error item ``<error>``; a marginal item passes with a ``<system-out>``
note. Valid against the Jenkins xUnit plugin's JUnit schema (``tests/data/junit-10.xsd``),
with typed values where the stricter Ant schema wants them (integer counts, decimal times,
a timestamp without zone, which is UTC here).
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

from labbench.export.run_context import (
    RunContext,
    error_reason,
    failure_reason,
    iso_utc,
    item_title,
    limits_text,
    load_run,
    open_output,
    value_text,
    violation_lines,
)
from labbench.records import CriterionRecord, StepRecord
from labbench.storage import Database

__all__ = ["junit_suite", "write_junit"]

# XML 1.0 cannot carry these characters at all, not even as references; rig text may hold
# them (a stray bell or escape byte), so each is written as a visible \xNN instead.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# A run that never reached a verdict of its own says so in a test case of its own, so that
# a CI dashboard never shows an aborted or dead run as green.
_UNFINISHED = {
    "aborted": "the operator stopped the run",
    "interrupted": "the run's process died; the run was marked interrupted",
    "running": "the run has not ended",
}


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _element(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, tag, {k: _xml_text(v) for k, v in attrs.items()})
    if text is not None:
        node.text = _xml_text(text)
    return node


def _seconds(value: float | None) -> str:
    return f"{max(value or 0.0, 0.0):.3f}"


def _properties(ctx: RunContext) -> list[tuple[str, str]]:
    run = ctx.run
    pairs = [
        ("run_id", str(run.id)),
        ("verdict", run.status),
        ("dut", ctx.dut.serial),
        ("dut_kind", ctx.dut.kind),
        ("plan", ctx.plan.name if ctx.plan else ""),
        ("plan_version", ctx.plan.version if ctx.plan else ""),
        ("operator", run.operator),
        ("station", ctx.station),
        ("software_version", run.software_version),
        ("device", run.device),
        ("profile", run.profile),
        ("start_utc", iso_utc(run.started_at) or ""),
        ("end_utc", iso_utc(run.ended_at) or ""),
    ]
    pairs += [
        (f"slot {s.slot}", " ".join(x for x in (s.chip_serial, s.chip_verdict) if x))
        for s in ctx.slots
    ]
    return pairs


def _item_case(suite: ET.Element, step: StepRecord, c: CriterionRecord, time: str) -> str:
    case = _element(suite, "testcase", classname=step.name, name=item_title(c), time=time)
    if c.verdict == "failed":
        _element(
            case,
            "failure",
            "\n".join(violation_lines(c)) or None,
            message=failure_reason(c),
            type=f"{c.kind}_failed",
        )
    elif c.verdict == "error":
        _element(case, "error", message=error_reason(c), type=f"{c.kind}_error")
    elif c.verdict == "marginal":
        _element(
            case,
            "system-out",
            f"marginal: {value_text(c)} lies in a guard band of {limits_text(c)}; "
            "counted as a pass.",
        )
    return c.verdict


def junit_suite(ctx: RunContext) -> ET.Element:
    """The ``<testsuite>`` of one run."""
    run = ctx.run
    suite = ET.Element("testsuite")
    properties = _element(suite, "properties")
    for name, value in _properties(ctx):
        _element(properties, "property", name=name, value=value)
    verdicts: list[str] = []
    for step in ctx.steps:
        step_time = _seconds(
            None if step.ended_ns is None else (step.ended_ns - step.started_ns) / 1e9
        )
        for c in step.criteria:
            verdicts.append(_item_case(suite, step, c, step_time))
        if step.verdict == "skipped" and not step.criteria:
            case = _element(suite, "testcase", classname=step.name, name=step.name, time="0.000")
            _element(case, "skipped", message="step not run: the run stopped on a failure")
            verdicts.append("skipped")
    unfinished = _UNFINISHED.get(run.status)
    if unfinished or (run.status == "error" and "error" not in verdicts):
        case = _element(suite, "testcase", classname="run", name=f"run {run.id}", time="0.000")
        message = unfinished or "the run ended in error"
        if run.error_message:
            message += f": {run.error_message}"
        _element(case, "error", message=message, type=f"run_{run.status}")
        verdicts.append("error")
    notes = [f"verdict: {run.status}"] + [
        f"slot {s.slot}: {s.chip_serial} {s.chip_verdict or 'not judged per chip'}"
        for s in ctx.slots
    ]
    _element(suite, "system-out", "\n".join(notes))
    # Attributes are set last, once the counts are known; ElementTree keeps insertion order.
    attributes = {
        "name": ctx.title,
        "tests": str(len(verdicts)),
        "failures": str(verdicts.count("failed")),
        "errors": str(verdicts.count("error")),
        "skipped": str(verdicts.count("skipped")),
        "time": _seconds(ctx.duration_s),
        "timestamp": run.started_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "hostname": ctx.station or run.host or "localhost",
        "id": str(run.id),
    }
    for key, value in attributes.items():
        suite.set(key, _xml_text(value))
    return suite


def write_junit(db: Database, run_ids: int | Iterable[int], path: str | Path) -> dict[str, int]:
    """Write the runs' JUnit XML; returns the totals (tests, failures, errors, skipped).

    Every run is read before the file is opened, so an unknown run writes nothing."""
    ids = [run_ids] if isinstance(run_ids, int) else list(run_ids)
    suites = [junit_suite(load_run(db, run_id)) for run_id in ids]
    root = ET.Element("testsuites", name="labbench")
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    time = 0.0
    for suite in suites:
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
        time += float(suite.get("time", "0"))
    for key in ("tests", "failures", "errors"):  # the schema's <testsuites> has no skipped
        root.set(key, str(totals[key]))
    root.set("time", f"{time:.3f}")
    ET.indent(root)
    with open_output(path) as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        f.write(ET.tostring(root, encoding="unicode"))
        f.write("\n")
    return totals
