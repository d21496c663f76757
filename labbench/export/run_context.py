"""What the JUnit and JSON writers say about one run, read once through the storage rooms
(docs/architecture.md §9), and the words both use for why an item did not pass.

A run's results are small (one record per judged item); its samples and console text are
never loaded here: events are counted by kind in the database, and only the events that are
not the rig's own text are listed.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

from labbench.criteria.band import describe_limits, g
from labbench.export.csv_report import ExportError
from labbench.records import CriterionRecord, DutInfo, PlanVersion, RunInfo, RunSlotInfo, StepRecord
from labbench.storage import Database, RecordError
from labbench.storage import inventory as inventory_store
from labbench.storage import plans as plan_store
from labbench.storage import results as result_store
from labbench.storage import runs as run_store


@dataclass(frozen=True)
class RunContext:
    """A run with its DUT, plan version, station, the chips it ran with, and its results."""

    run: RunInfo
    dut: DutInfo
    plan: PlanVersion | None
    station: str
    slots: tuple[RunSlotInfo, ...]
    steps: tuple[StepRecord, ...]

    @property
    def title(self) -> str:
        """``sled-power-on run 42``; a recording without a plan is ``recording run 42``."""
        return f"{self.plan.name if self.plan else 'recording'} run {self.run.id}"

    def seconds(self, t_ns: int | None) -> float | None:
        """Epoch nanoseconds as seconds since the run's t0 (the time base of samples)."""
        return None if t_ns is None else (t_ns - self.run.t0_ns) / 1e9

    @property
    def duration_s(self) -> float | None:
        run = self.run
        return None if run.ended_at is None else (run.ended_at - run.started_at).total_seconds()


def load_run(db: Database, run_id: int) -> RunContext:
    """Everything but samples and events; an unknown run is an :class:`ExportError`."""
    try:
        run = run_store.get_run(db, run_id)
    except RecordError as exc:
        raise ExportError(str(exc)) from None
    return RunContext(
        run=run,
        dut=inventory_store.get_dut(db, run.dut_id),
        plan=plan_store.get_plan_version(db, run.plan_id) if run.plan_id else None,
        station=inventory_store.station_name(db, run.station_id),
        slots=tuple(run_store.run_slots(db, run_id)),
        steps=tuple(result_store.run_results(db, run_id)),
    )


def open_output(path: str | Path):
    """A UTF-8 text file for writing; a path that cannot be written is one sentence."""
    try:
        return open(path, "w", encoding="utf-8", newline="\n")
    except OSError as exc:
        raise ExportError(f"Cannot write {path}: {exc.strerror or exc}.") from None


def iso_utc(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.UTC).isoformat()


def finite(x: float | None) -> float | None:
    """A number strict JSON can carry: NaN and infinities become None (null)."""
    return None if x is None or not math.isfinite(x) else float(x)


# --- why an item did not pass -------------------------------------------------------------


def limits_text(c: CriterionRecord) -> str:
    """What the item was judged against, as the CSV report's ``limits`` column says it."""
    return describe_limits(
        c.low, c.high, c.marginal_low, c.marginal_high, equals=c.equals, unit=c.unit
    )


def value_text(c: CriterionRecord) -> str:
    """The item's value as people read it: ``0.68 V``, ``'FAIL'``, ``nan``, ``nothing``."""
    if c.value is not None:
        number = g(c.value) if math.isfinite(c.value) else str(c.value)
        return f"{number} {c.unit}".rstrip()
    return f"'{c.text_value}'" if c.text_value else "nothing"


def item_title(c: CriterionRecord) -> str:
    """The item's name, with ``[slot N CHIP]`` for a sled run's per-chip item."""
    if c.slot is None:
        return c.name
    return f"{c.name} [slot {c.slot}{' ' + c.chip if c.chip else ''}]"


def failure_reason(c: CriterionRecord) -> str:
    """One sentence: the value against its limits and, for a limit, its first violation."""
    if c.kind == "timing":  # the judgement's own reason names the rails, the time and limits
        return f"{c.name}: {c.text_value}."
    what = {
        "limit": "worst sample",
        "measure": c.stat or "value",
        "result": "reported",
        "manual": "entered",
    }.get(c.kind, "value")
    if c.equals is not None:
        text = f"{c.name}: {what} '{c.text_value}', expected '{c.equals}'"
    elif c.value is None and c.kind in ("result", "manual"):
        text = f"{c.name}: {what} '{c.text_value}', not a number within {limits_text(c)}"
    else:
        # A limit or measurement with no value failed on NaN (which SQLite stores as NULL).
        value = value_text(c) if c.value is not None else f"nan {c.unit}".rstrip()
        text = f"{c.name}: {what} {value} outside {limits_text(c) or 'its limits'}"
    if c.violations:
        v = c.violations[0]
        text += (
            f"; first violation at {v.start_s:.3f} s ({len(c.violations)} in all, "
            f"extreme {g(v.extreme)} {c.unit}".rstrip()
            + f", {v.bound} bound)"
        )
    return text + "."


def error_reason(c: CriterionRecord) -> str:
    """Why an item could not be judged: silence is never a pass (docs/architecture.md §4)."""
    if c.kind in ("result", "manual"):
        source = "reported by the rig" if c.kind == "result" else "entered"
        return f"{c.name}: nothing was {source}."
    if c.sample_count == 0:
        return f"{c.name}: no samples of {c.channel} in its window."
    if c.kind == "timing" and c.text_value.startswith("no samples"):
        return f"{c.name}: {c.text_value}."
    return (
        f"{c.name}: the rig was disconnected during the step "
        f"({c.sample_count} samples of {c.channel} judged)."
    )


def violation_lines(c: CriterionRecord) -> list[str]:
    return [
        f"{v.channel} out from {v.start_s:.6g} s to {v.end_s:.6g} s, "
        f"extreme {g(v.extreme)} {c.unit}".rstrip()
        + f" ({v.bound} bound)"
        for v in c.violations
    ]
