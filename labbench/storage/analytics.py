"""Analytics: yield, item yield, capability, the failure Pareto and control-chart series of one
plan over many runs (docs/architecture.md §10).

Everything is computed in the database, one statement per table whatever the number of runs:
attempts are numbered with ``ROW_NUMBER()`` over each unit's runs in start order, moving
ranges come from the value before in a window over an item's values in run start order
(capability reads them in that order from an index, revision 0008), and sums, counts and
means are SQL aggregates.  Only window functions and aggregates both SQLite (3.25 and later)
and PostgreSQL have are used, and UTC days and weeks are integer arithmetic on the runs'
``t0_ns``, so both backends give the same numbers.  Python only turns a handful of sums per
row into ratios (:mod:`labbench.criteria.capability`) and evaluates the control-chart rules
over the one series it asked for.

A query names its plan, period, filters and grouping in a
:class:`~labbench.records.AnalyticsQuery`; a plan, grouping or unit the data refuses is a
:class:`~labbench.storage.RecordError` with one sentence.
"""

from __future__ import annotations

import math

from sqlalchemy import case, func, null, select
from sqlalchemy.orm import Session

from labbench.criteria.capability import D2, D4, capability, western_electric
from labbench.records import (
    AnalyticsQuery,
    CapabilityRow,
    ControlChart,
    ControlPoint,
    ItemYieldRow,
    ParetoRow,
    YieldRow,
)
from labbench.storage import analytics_rows as base
from labbench.storage import models as m
from labbench.storage.engine import Database

__all__ = [
    "capability_table",
    "control_chart",
    "item_yield_table",
    "pareto_table",
    "yield_table",
]

# Values outside the finite floats (NaN sorts above every number on PostgreSQL; SQLite
# stores NaN as NULL) are left out of capability: a statistic over a NaN says nothing.
_FINITE = 1.7976931348623157e308
_SAME_COLUMNS = ("key", "start_ns", "run_id", "value")  # an item's values again, by itself
_CAPABILITY_COLUMNS = ("key", "middle", "start_ns", "run_id", "value", "step_position", "item_id")
_PARETO_COLUMNS = (
    "run_id", "slot", "step", "name", "position", "first_violation_s", "item_id", "verdict",
    "unit_outcome",
)  # fmt: skip


def yield_table(db: Database, query: AnalyticsQuery) -> list[YieldRow]:
    """First-pass and last-pass yield of the units whose first attempt lies in the period.

    A unit's attempts are its passed, marginal and failed runs of the plan, in start order,
    up to the end of the period; it counts in the group of its first attempt, and the
    station, operator, plan version and slot filters select units by that first attempt too
    (so a filter gives the same row as that group of ``by``).  Station losses are the
    error, aborted and interrupted runs (a sled run's chips: each chip's) in the period,
    in their own group."""
    with Session(db.engine) as session:
        kind = base.plan_kind(session, query)
        rows = base.unit_rows(query, kind)
        key = base.group_key(query, rows.c)
        ordered = select(
            rows.c.unit_id,
            rows.c.outcome,
            rows.c.started_at,
            key.label("grp"),
            *(rows.c[name] for name in base.unit_filters(query)),
            func.row_number()
            .over(partition_by=rows.c.unit_id, order_by=base.run_order(rows.c))
            .label("attempt_no"),
            # The unit's last attempt, read on its first row: one pass, no self-join.
            func.first_value(rows.c.outcome)
            .over(
                partition_by=rows.c.unit_id,
                order_by=(rows.c.t0_ns.desc(), rows.c.run_id.desc()),
            )
            .label("last_outcome"),
            func.count().over(partition_by=rows.c.unit_id).label("attempts"),
        ).where(rows.c.outcome.in_(base.JUDGED))
        if query.until is not None:
            ordered = ordered.where(rows.c.started_at < query.until)
        first = ordered.subquery("attempts").c
        units = (
            select(
                base.shown_group(query, first.grp),
                func.count(),
                func.sum(base.one_if(first.outcome.in_(base.PASSING))),
                func.sum(base.one_if(first.last_outcome.in_(base.PASSING))),
                func.sum(first.attempts),
            )
            .where(first.attempt_no == 1, *base.group_filters(query, first))
            .group_by(*base.grouping(query, first.grp))
        )
        if query.since is not None:
            units = units.where(first.started_at >= query.since)
        losses = (
            select(key.label("grp"), func.count())
            .where(rows.c.outcome.not_in(base.JUDGED), *base.group_filters(query, rows.c))
            .group_by(*base.grouping(query, key))
        )
        losses = base.period(losses, query, rows.c.started_at)
        # Without a grouping the aggregates give one row even over no runs: a group appears
        # only when it has a unit or a loss.
        counted = {
            grp: (n, first_ok, last_ok, tries)
            for grp, n, first_ok, last_ok, tries in session.execute(units)
            if n
        }
        lost = {grp: n for grp, n in session.execute(losses) if n}
    out = []
    for grp in base.sorted_groups(set(counted) | set(lost)):
        n, first_ok, last_ok, tries = counted.get(grp, (0, 0, 0, 0))
        out.append(
            YieldRow(
                base.label(query.by, grp),
                int(n),
                int(first_ok or 0),
                int(last_ok or 0),
                int(tries or 0),
                int(lost.get(grp, 0)),
            )
        )
    return out


def item_yield_table(db: Database, query: AnalyticsQuery) -> list[ItemYieldRow]:
    """Passed (or marginal) judgements of each item out of all its judgements, in plan order,
    over the passed, marginal and failed runs of the period."""
    with Session(db.engine) as session:
        kind = base.plan_kind(session, query)
        items = base.item_rows(query, kind, ("step", "name", "verdict", "position", "item_id"))
        stmt = (
            select(
                items.c.step,
                items.c.name,
                func.count(),
                func.sum(base.one_if(items.c.verdict.in_(base.PASSING))),
            )
            .group_by(items.c.step, items.c.name)
            .order_by(func.min(items.c.position), func.min(items.c.item_id))
        )
        return [
            ItemYieldRow(step, name, int(n), int(ok or 0))
            for step, name, n, ok in session.execute(stmt)
        ]


def capability_table(db: Database, query: AnalyticsQuery) -> list[CapabilityRow]:
    """Capability of every numeric item (step, name, channel, unit and its spec limits; an
    item whose limits changed between plan versions gives one row per set of limits), worst
    Cpk first, then the items without a Cpk in plan order.  Values come from the passed,
    marginal and failed runs of the period, in run start order."""
    with Session(db.engine) as session:
        kind = base.plan_kind(session, query)
        found = [
            *session.execute(_capability_sums(query, kind, limited=True)),
            *session.execute(_capability_sums(query, kind, limited=False)),
        ]
    rows = []
    for (
        grp,
        step,
        name,
        channel,
        unit,
        low,
        high,
        n,
        mean,
        shifted,
        squares,
        mr,
        position,
        first,
    ) in found:
        squares = squares - shifted * shifted / n
        figures = capability(n, mean, squares, mr, low, high)
        row = CapabilityRow(
            base.label(query.by, grp),
            step,
            name,
            channel,
            unit,
            int(n),
            mean,
            figures.sigma_within,
            figures.sigma_overall,
            low,
            high,
            figures.cp,
            figures.cpk,
            figures.pp,
            figures.ppk,
        )
        rows.append(((row.cpk is None, row.cpk or 0.0, base.group_sort(grp), position, first), row))
    rows.sort(key=lambda pair: pair[0])
    return [row for _, row in rows]


def _capability_sums(query: AnalyticsQuery, kind: str, *, limited: bool):
    """Per item: n, mean, the sum and sum of squares of values around a shift, the mean
    moving range, and its plan position.

    An item is its key (revision 0008: plan name, step, name, channel, unit and limits as
    one integer), and its values are read from the index on (key, judged, run start, run id,
    value, step position, id) in that order: without a grouping the sums are aggregates
    over the rows as the index hands them over, nothing sorted.  The mean moving range is a
    correlated subquery per item (and group): a window over that item's values in run start
    order (a one-row frame, the value before: cheaper than ``LAG`` on SQLite, the same
    number), again straight from the index.  The names and limits are the key's.

    The squared deviations are summed around a shift and moved to the mean afterwards:
    around the middle of the item's limits (or its one limit) for items with limits, where
    the values sit within a few σ of it; around the item's first value in run start order
    for items without any, whose values may lie anywhere."""
    k = m.CriterionKey
    which = k.middle.is_not(None) if limited else k.middle.is_(None)
    items = base.item_rows(query, kind, _CAPABILITY_COLUMNS, keyed=which)
    if query.by is not None:
        # The group as a column of its own: PostgreSQL lets a correlated subquery refer to
        # a grouped column of the outer query, not to a grouped expression (a UTC day).
        key = base.group_key(query, items.c)
        items = select(*items.c, key.label("grp")).subquery("grouped")
        grp = items.c.grp
    else:
        grp = base.group_key(query, items.c)
    c = items.c

    def same_item(other):
        """The values of the outer row's item (and group), from a second copy of the rows."""
        o = other.c
        same = [o.key == c.key, o.value.between(-_FINITE, _FINITE)]
        if query.by is not None:
            same.append(base.group_key(query, o).is_not_distinct_from(grp))
        # A day or week is also a range of starts: a range of the index, not a filter.
        days = {"day": (0, 1), "week": (-3, 4)}.get(query.by)
        if days is not None:
            first_day = grp if query.by == "day" else grp * 7
            same.append(o.start_ns >= (first_day + days[0]) * base.DAY_NS)
            same.append(o.start_ns < (first_day + days[1]) * base.DAY_NS)
        return o, same

    o, same = same_item(base.item_rows(query, kind, _SAME_COLUMNS, which, "ranged", c.key))
    before = func.sum(o.value).over(order_by=(o.start_ns, o.run_id), rows=(-1, -1))
    steps = select((o.value - before).label("step_change")).where(*same).correlate(items)
    steps = steps.subquery("steps")
    mr = select(func.avg(func.abs(steps.c.step_change))).scalar_subquery()
    if limited:
        shift = c.middle
    else:
        f, first = same_item(base.item_rows(query, kind, _SAME_COLUMNS, which, "first", c.key))
        shift = (
            select(f.value)
            .where(*first)
            .order_by(f.start_ns, f.run_id)
            .limit(1)
            .correlate(items)
            .scalar_subquery()
        )
    shifted = c.value - shift
    sums = (
        select(
            base.shown_group(query, grp).label("grp"),
            c.key,
            func.count(c.value).label("n"),
            func.avg(c.value).label("mean"),
            func.sum(shifted).label("shifted"),
            func.sum(shifted * shifted).label("squares"),
            mr.label("mr"),
            func.min(c.step_position).label("position"),
            func.min(c.item_id).label("first"),
        )
        .where(c.value.between(-_FINITE, _FINITE))
        .group_by(*base.grouping(query, grp), c.key)
        .subquery("sums")
    )
    t = sums.c
    return select(
        t.grp,
        k.step,
        k.name,
        k.channel,
        k.unit,
        case((k.has_low, k.low), else_=null()),
        case((k.has_high, k.high), else_=null()),
        t.n,
        t.mean,
        t.shifted,
        t.squares,
        t.mr,
        t.position,
        t.first,
    ).join_from(sums, k, k.id == t.key)


def pareto_table(db: Database, query: AnalyticsQuery) -> list[ParetoRow]:
    """Each failed run of the period counted once, for its first failing item (earliest step,
    then earliest violation, then the order the items were stored in), worst first, with
    the cumulative percentage.  With chips as the unit of a sled plan each failed chip of a
    sled run counts once, for its own first failing item."""
    with Session(db.engine) as session:
        kind = base.plan_kind(session, query)
        items = base.item_rows(query, kind, _PARETO_COLUMNS)
        c = items.c
        failed_unit = (c.run_id, c.slot) if base.per_chip(query, kind) else (c.run_id,)
        ranked = (
            select(
                c.step,
                c.name,
                c.position,
                func.row_number()
                .over(
                    partition_by=failed_unit,
                    order_by=(
                        c.position,
                        c.first_violation_s.is_(None),
                        c.first_violation_s,
                        c.item_id,
                    ),
                )
                .label("failing_no"),
            )
            .where(c.verdict == "failed", c.unit_outcome == "failed")
            .subquery("ranked")
        )
        r = ranked.c
        counts = (
            select(
                r.step, r.name, func.count().label("failures"), func.min(r.position).label("pos")
            )
            .where(r.failing_no == 1)
            .group_by(r.step, r.name)
            .subquery("counts")
        )
        k = counts.c
        order = (k.failures.desc(), k.pos, k.step, k.name)
        stmt = select(
            k.step,
            k.name,
            k.failures,
            func.sum(k.failures).over(order_by=order, rows=(None, 0)),
            func.sum(k.failures).over(),
        ).order_by(*order)
        return [
            ParetoRow(step, name, int(n), 100.0 * int(running) / int(total))
            for step, name, n, running, total in session.execute(stmt)
        ]


def control_chart(db: Database, query: AnalyticsQuery, step: str, name: str) -> ControlChart:
    """The individuals and moving-range series of one item in run start order (one query),
    with its centre, limits and the Western Electric rules each point completes."""
    with Session(db.engine) as session:
        kind = base.plan_kind(session, query)
        c = base.item_rows(
            query, kind, ("run_id", "t0_ns", "started_at", "step", "name", "value")
        ).c
        stmt = (
            select(
                c.run_id,
                c.started_at,
                c.value,
                func.abs(c.value - func.lag(c.value).over(order_by=base.run_order(c))),
            )
            .where(c.step == step, c.name == name, c.value.between(-_FINITE, _FINITE))
            .order_by(*base.run_order(c))
        )
        series = session.execute(stmt).all()
    values = [float(v) for _, _, v, _ in series]
    ranges = [float(mr) for _, _, _, mr in series if mr is not None]
    centre = math.fsum(values) / len(values) if values else None
    mr_mean = math.fsum(ranges) / len(ranges) if ranges else None
    sigma = None if mr_mean is None else mr_mean / D2
    rules = (
        western_electric(values, centre, sigma)
        if centre is not None and sigma is not None
        else [() for _ in values]
    )
    points = tuple(
        ControlPoint(run_id, base.aware(at), float(v), None if mr is None else float(mr), flags)
        for (run_id, at, v, mr), flags in zip(series, rules, strict=True)
    )
    limits = (None, None) if sigma is None else (centre - 3 * sigma, centre + 3 * sigma)
    return ControlChart(
        step,
        name,
        points,
        centre,
        sigma,
        limits[0],
        limits[1],
        mr_mean,
        None if mr_mean is None else D4 * mr_mean,
    )
