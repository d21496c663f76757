"""The rows lab analytics start from (docs/architecture.md §10): one row per unit and run of a
plan, or one per judged item of its runs, with the columns every filter and grouping needs,
as subqueries :mod:`labbench.storage.analytics` aggregates in the database.  Also how a
group is keyed in SQL (UTC days and weeks as integers) and labelled for people.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, literal_column, null, select, true
from sqlalchemy.orm import Session

from labbench.records import ANALYTICS_GROUPS, YIELD_UNITS, AnalyticsQuery
from labbench.storage import models as m
from labbench.storage.runs import to_epoch_ns
from labbench.storage.session import RecordError

# A run that ended with a verdict is an attempt; marginal counts as a pass.
JUDGED = m.JUDGED_STATUSES
PASSING = ("passed", "marginal")
# Runs the station lost: counted apart, never as attempts.
LOSSES = ("error", "aborted", "interrupted")
DAY_NS = 86_400 * 10**9
_EPOCH_DAY = dt.date(1970, 1, 1)
ALL = "all"


# --- the rows every table starts from -----------------------------------------------------


def plan_kind(session: Session, query: AnalyticsQuery) -> str:
    """The DUT kind of the plan, after checking the query's plan, grouping and unit."""
    kind = session.scalar(select(m.Plan.dut_kind).where(m.Plan.name == query.plan).limit(1))
    if kind is None:
        raise RecordError(f"There is no plan named {query.plan!r} in this database.")
    if query.by is not None and query.by not in ANALYTICS_GROUPS:
        raise RecordError(
            f"Cannot group by {query.by!r}; choose one of {', '.join(ANALYTICS_GROUPS)}."
        )
    if query.unit is not None and query.unit not in YIELD_UNITS:
        raise RecordError(f"Unknown unit {query.unit!r}; choose chip or sled.")
    if query.unit == "sled" and kind == "chip":
        raise RecordError(f"Plan {query.plan!r} runs on chips, so its units cannot be sleds.")
    return kind


def of_plan(query: AnalyticsQuery):
    """The runs of the plan's versions, by plan id: so the planner starts from the index of a
    plan's runs by status and start (revision 0005), not from every run with that status."""
    return m.Run.plan_id.in_(select(m.Plan.id).where(m.Plan.name == query.plan))


def per_chip(query: AnalyticsQuery, kind: str) -> bool:
    """Chips of sled runs are the units: by their own verdicts and their own items."""
    return kind == "sled" and query.unit == "chip"


def unit_rows(query: AnalyticsQuery, kind: str):
    """One row per (unit, run) of the plan that ended: the unit's outcome in that run and
    when, with the columns the query groups or filters its units by (where, by whom, which
    plan version or slot; lot and wafer filter inside).  For chips of sled runs the outcome
    is the chip's own verdict (the run's when the plan judged nothing per chip), and a run
    the station lost is lost for each of its chips.  As for :func:`item_rows`, only what is
    needed is selected and joined: the rows are sorted under the window functions."""
    run, plan, station, dut = m.Run, m.Plan, m.Station, m.Dut
    chips = per_chip(query, kind)
    if chips:
        unit_id, slot = m.RunSlot.chip_id, m.RunSlot.slot
        outcome = case(
            (run.status.in_(LOSSES), run.status),
            else_=func.coalesce(m.RunSlot.chip_verdict, run.status),
        )
    else:
        # A typed NULL: PostgreSQL reads an untyped one as text, which no slot number equals.
        unit_id, slot, outcome = run.dut_id, cast(null(), Integer), run.status
    columns = {
        "station": func.coalesce(station.name, ""),
        "operator": run.operator,
        "plan_version": plan.version,
        "lot": dut.lot,
        "wafer": dut.wafer,
        "slot": slot,
    }
    extra = sorted({group_column(query), *unit_filters(query)} - {None, "t0_ns"})
    stmt = (
        select(
            run.id.label("run_id"),
            unit_id.label("unit_id"),
            outcome.label("outcome"),
            run.started_at.label("started_at"),
            run.t0_ns.label("t0_ns"),
            *(columns[name].label(name) for name in extra),
        )
        .select_from(run)
        .where(of_plan(query), run.status.in_(JUDGED + LOSSES))
    )
    needs = set(extra) | {n for n in ("lot", "wafer") if getattr(query, n) is not None}
    if "plan_version" in needs:
        stmt = stmt.join(plan, plan.id == run.plan_id)
    if "station" in needs:
        stmt = stmt.outerjoin(station, station.id == run.station_id)
    if chips:
        stmt = stmt.join(m.RunSlot, m.RunSlot.run_id == run.id)
    if needs & {"lot", "wafer"}:
        stmt = stmt.join(dut, dut.id == unit_id)
    for name in ("lot", "wafer"):
        if getattr(query, name) is not None:
            stmt = stmt.where(columns[name] == getattr(query, name))
    return stmt.subquery("unit_runs")


def unit_filters(query: AnalyticsQuery) -> list[str]:
    """The filters that pick a unit by its first attempt (or a loss by its own run)."""
    return [
        name
        for name in ("station", "operator", "plan_version", "slot")
        if getattr(query, name) is not None
    ]


def item_rows(
    query: AnalyticsQuery,
    kind: str,
    wanted: Sequence[str],
    keyed=None,
    name: str = "items",
    one_key=None,
):
    """One row per judged item of the plan's passed, marginal and failed runs in the period,
    matching every filter, with the ``wanted`` columns (and the group's).  With chips as the
    unit of a sled plan only per-chip items count, with their chip's lot, wafer and verdict.

    Only what is asked for is selected and joined: the rows are sorted for the window
    functions above them, and every column carried costs on each of hundreds of thousands.
    ``keyed``, a condition on the plan's :class:`~labbench.storage.models.CriterionKey`
    rows, reads the items from those keys on (``key``, the key's ``middle`` of its limits;
    ``start_ns`` and ``step_position`` are the copies revision 0008 keeps on each item's
    row, in the order of its index).  ``one_key``, an expression, reads the items of that one
    key alone, straight from the index (no key row joined to each value)."""
    run, plan, station, crit, step = m.Run, m.Plan, m.Station, m.CriterionResult, m.StepResult
    chips = per_chip(query, kind)
    dut, key = m.Dut, m.CriterionKey
    wanted = set(wanted) | {group_column(query)} - {None}
    filters = {
        name for name in ("station", "operator", "plan_version", "lot", "wafer", "slot")
        if getattr(query, name) is not None
    }  # fmt: skip
    needs = wanted | filters
    columns = {
        "run_id": run.id,
        "started_at": run.started_at,
        "t0_ns": run.t0_ns,
        "station": func.coalesce(station.name, ""),
        "operator": run.operator,
        "plan_version": plan.version,
        "lot": dut.lot,
        "wafer": dut.wafer,
        "slot": crit.slot,
        "unit_outcome": m.RunSlot.chip_verdict if chips else run.status,
        "position": step.position,
        "step": step.name,
        "item_id": crit.id,
        "name": crit.name,
        "channel": crit.channel,
        "unit": crit.unit,
        "value": crit.value,
        "low": crit.low,
        "high": crit.high,
        "verdict": crit.verdict,
        "first_violation_s": crit.first_violation_s,
        "key": key.id,
        "middle": key.middle,
        "start_ns": crit.run_t0_ns,
        "step_position": crit.step_position,
    }
    if keyed is None:
        stmt = (
            select(*(columns[name].label(name) for name in sorted(wanted)))
            .select_from(crit)
            .join(run, run.id == crit.run_id)
            .where(of_plan(query), run.status.in_(JUDGED))
        )
        stmt = period(stmt, query, run.started_at)
    else:
        # From the plan's keys (a scan of the small key table, in id order) to each key's
        # items in the index on (key, judged, start, run): the plan, the run's status and
        # the period are read from the item's own row, so the items come in run start order
        # and no run is looked up unless a filter or the grouping needs one.
        columns |= {"run_id": crit.run_id, "t0_ns": crit.run_t0_ns}
        if one_key is None:
            stmt = (
                select(*(columns[name].label(name) for name in sorted(wanted)))
                .select_from(key)
                .join(crit, crit.item_key == key.id)
                .where(key.plan == query.plan, keyed)
            )
        else:
            columns["key"] = crit.item_key
            stmt = (
                select(*(columns[name].label(name) for name in sorted(wanted)))
                .select_from(crit)
                .where(crit.item_key == one_key)
            )
        stmt = stmt.where(crit.run_judged == true())
        if query.since is not None:
            stmt = stmt.where(crit.run_t0_ns >= to_epoch_ns(query.since))
        if query.until is not None:
            stmt = stmt.where(crit.run_t0_ns < to_epoch_ns(query.until))
        if chips or needs & {"started_at", "station", "operator", "plan_version", "lot", "wafer"}:
            stmt = stmt.join(run, run.id == crit.run_id)
    if needs & {"position", "step"}:
        stmt = stmt.join(step, step.id == crit.step_result_id)
    if "plan_version" in needs:
        stmt = stmt.join(plan, plan.id == run.plan_id)
    if "station" in needs:
        stmt = stmt.outerjoin(station, station.id == run.station_id)
    if chips:
        stmt = stmt.join(m.RunSlot, and_(m.RunSlot.run_id == run.id, m.RunSlot.slot == crit.slot))
    if needs & {"lot", "wafer"}:
        stmt = stmt.join(dut, dut.id == (m.RunSlot.chip_id if chips else run.dut_id))
    for name in sorted(filters):
        stmt = stmt.where(columns[name] == getattr(query, name))
    if one_key is not None:
        # ``one_key`` belongs to an enclosing query: refer to it there, do not join it here.
        stmt = stmt.correlate_except(crit, run, plan, station, dut, step, m.RunSlot)
    return stmt.subquery(name)


def group_column(query: AnalyticsQuery) -> str | None:
    """The row column a grouping reads (days and weeks are computed from ``t0_ns``)."""
    if query.by in ("day", "week"):
        return "t0_ns"
    return query.by


# --- filters, groups and labels -----------------------------------------------------------


def group_filters(query: AnalyticsQuery, c) -> list:
    """The first-attempt filters as conditions on a row of :func:`unit_rows`."""
    return [c[name] == getattr(query, name) for name in unit_filters(query)]


def period(stmt, query: AnalyticsQuery, started_at):
    if query.since is not None:
        stmt = stmt.where(started_at >= query.since)
    if query.until is not None:
        stmt = stmt.where(started_at < query.until)
    return stmt


def run_order(c) -> tuple:
    """Run start order: ``t0_ns`` is the start in integer nanoseconds (cheaper to sort than
    a stored time), then the run id for runs started at the same instant."""
    return (c.t0_ns, c.run_id)


def one_if(condition):
    return case((condition, 1), else_=0)


def group_key(query: AnalyticsQuery, c):
    """The SQL value a row is grouped by: UTC day or week numbers as integers (days since
    the epoch; weeks counted from Monday 1969-12-29), or the column itself."""
    if query.by is None:
        return literal_column(f"'{ALL}'")
    if query.by == "day":
        return c.t0_ns // DAY_NS
    if query.by == "week":
        return (c.t0_ns // DAY_NS + 3) // 7
    return c[query.by]


def grouping(query: AnalyticsQuery, key) -> tuple:
    """What to GROUP BY or PARTITION BY for the group key: nothing without a grouping (a
    constant there is refused by PostgreSQL, or read as a column position)."""
    return () if query.by is None else (key,)


def shown_group(query: AnalyticsQuery, column):
    """The group column of an outer query: without a grouping the constant itself, since
    PostgreSQL refuses an ungrouped column of a subquery next to aggregates."""
    return column if query.by is not None else literal_column(f"'{ALL}'")


def label(by: str | None, grp: Any) -> str | int | None:
    """A group as people read it: 2026-11-27 for a day, 2026-W48 for an ISO week."""
    if by == "day":
        return (_EPOCH_DAY + dt.timedelta(days=int(grp))).isoformat()
    if by == "week":
        year, week, _ = (_EPOCH_DAY + dt.timedelta(days=int(grp) * 7 - 3)).isocalendar()
        return f"{year}-W{week:02d}"
    return grp


def group_sort(grp: Any) -> tuple:
    return (grp is None, grp if isinstance(grp, int) else 0, "" if grp is None else str(grp))


def sorted_groups(groups: set) -> list:
    return sorted(groups, key=group_sort)


def aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
