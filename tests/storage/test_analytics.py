"""Lab analytics against hand-computed tables, on SQLite and PostgreSQL alike: attempts and
station losses, FPY and LPY by group, per-chip units of sled runs, item yield, capability
(two-sided, one-sided, n < 2, σ = 0), the failure Pareto and the control chart with its
rules.  Every run is made through the repository functions a real run goes through."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from labbench.criteria.capability import western_electric
from labbench.records import AnalyticsQuery, CriterionRecord, StepRecord, ViolationRecord
from labbench.storage import RecordError, inventory, plans, results
from labbench.storage import analytics as stats
from labbench.storage import runs as run_store

T0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def item(name, value=None, verdict="passed", *, low=None, high=None, first_s=None, slot=None,
         chip=""):  # fmt: skip
    violations = (
        () if first_s is None else (ViolationRecord("vdd", first_s, first_s + 0.1, 0.0, "low"),)
    )
    return CriterionRecord(
        "measure", name, "vdd", "V", "mean", value, "", low, high, None, None, None, 0.0, 0.0,
        10, verdict, violations, slot, chip,
    )  # fmt: skip


def make_run(db, dut, plan, when, status, steps=(), *, station=None, operator="ana",
             chip_verdicts=None):  # fmt: skip
    """A finished run: started, its results stored, its final state written."""
    run = run_store.start_run(
        db, dut.id, plan_id=plan.id, station_id=station, operator=operator, started_at=when
    )
    if steps:
        records = [
            StepRecord(position, name, run.t0_ns, run.t0_ns + 1, "passed", tuple(items))
            for position, (name, items) in enumerate(steps)
        ]
        results.store_results(db, run.id, records, chip_verdicts)
    run_store.finish_run(db, run.id, status, ended_at=when + dt.timedelta(minutes=5))
    return run


@pytest.fixture
def chip_plan(db):
    return plans.store_plan_version(db, "power-on", "1", "chip", "power-on v1")


def chips(db, *serials, **fields):
    return [inventory.add_dut(db, "chip", s, **fields) for s in serials]


def table(db, **query):
    return stats.yield_table(db, AnalyticsQuery("power-on", **query))


def counts(row):
    return (row.group, row.units, row.first_passed, row.last_passed, row.attempts,
            row.station_losses)  # fmt: skip


# --- yield --------------------------------------------------------------------------------


def test_attempts_marginal_passes_and_station_losses(db, chip_plan):
    a, b, c, d, e = chips(db, "A", "B", "C", "D", "E")
    other = plans.store_plan_version(db, "burn-in", "1", "chip", "burn-in v1")
    # A: three attempts, failed twice then passed.
    make_run(db, a, chip_plan, at(0), "failed")
    make_run(db, a, chip_plan, at(1), "failed")
    make_run(db, a, chip_plan, at(2), "passed")
    make_run(db, b, chip_plan, at(0.5), "marginal")  # marginal counts as a pass
    make_run(db, c, chip_plan, at(0.2), "error")  # a station loss, not C's first attempt
    make_run(db, c, chip_plan, at(0.4), "passed")
    make_run(db, d, chip_plan, at(0.3), "aborted")  # D never had an attempt: no unit
    make_run(db, d, chip_plan, at(0.6), "interrupted")
    make_run(db, e, chip_plan, at(0.7), "failed")
    make_run(db, e, other, at(0.8), "passed")  # another plan's pass is not E's
    run_store.start_run(db, e.id, plan_id=chip_plan.id, started_at=at(0.9))  # still running

    (row,) = table(db)
    # Units A B C E; first passed B C; last passed A B C; attempts 3+1+1+1; losses C D D.
    assert counts(row) == ("all", 4, 2, 3, 6, 3)
    assert (row.fpy, row.lpy) == (0.5, 0.75)


def test_period_counts_units_whose_first_attempt_lies_in_it(db, chip_plan):
    a, b = chips(db, "A", "B")
    make_run(db, a, chip_plan, at(0), "failed")
    make_run(db, a, chip_plan, at(5), "passed")
    make_run(db, b, chip_plan, at(6), "failed")
    make_run(db, b, chip_plan, at(8), "passed")
    make_run(db, b, chip_plan, at(9), "error")
    # A's first attempt lies before the period: only B counts, and B's last attempt before
    # the end of the period is its failure; the error after the period is not counted.
    (row,) = table(db, since=at(4), until=at(7))
    assert counts(row) == ("all", 1, 0, 0, 1, 0)
    (row,) = table(db, since=at(4))
    assert counts(row) == ("all", 1, 0, 1, 2, 1)
    assert table(db, since=at(10)) == []


def test_grouped_by_day_and_week_in_utc_across_midnight(db, chip_plan):
    a, b, c = chips(db, "A", "B", "C")
    late = dt.datetime(2026, 11, 22, 23, 59, 59, tzinfo=dt.UTC)  # Sunday, ISO week 47
    make_run(db, a, chip_plan, late, "passed")
    # 00:30 in UTC+01:00 is still Sunday 23:30 UTC.
    make_run(
        db,
        b,
        chip_plan,
        dt.datetime(2026, 11, 23, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        "failed",
    )
    make_run(db, c, chip_plan, late + dt.timedelta(seconds=2), "passed")  # Monday, week 48
    make_run(db, c, chip_plan, late + dt.timedelta(hours=1), "aborted")
    assert [counts(r) for r in table(db, by="day")] == [
        ("2026-11-22", 2, 1, 1, 2, 0),
        ("2026-11-23", 1, 1, 1, 1, 1),
    ]
    assert [counts(r) for r in table(db, by="week")] == [
        ("2026-W47", 2, 1, 1, 2, 0),
        ("2026-W48", 1, 1, 1, 1, 1),
    ]


def test_grouped_by_station_by_first_attempt_and_filter_gives_that_row(db, chip_plan):
    s1 = inventory.ensure_station(db, "bench-1").id
    s2 = inventory.ensure_station(db, "bench-2").id
    a, b, c = chips(db, "A", "B", "C", lot="L7")
    make_run(db, a, chip_plan, at(0), "failed", station=s1)
    make_run(db, a, chip_plan, at(1), "passed", station=s2)  # A stays bench-1's unit
    make_run(db, b, chip_plan, at(2), "passed", station=s2, operator="ben")
    make_run(db, c, chip_plan, at(3), "error", station=s1)
    make_run(db, c, chip_plan, at(4), "marginal", station=s2)
    assert [counts(r) for r in table(db, by="station")] == [
        ("bench-1", 1, 0, 1, 2, 1),
        ("bench-2", 2, 2, 2, 2, 0),
    ]
    assert [counts(r) for r in table(db, station="bench-1")] == [("all", 1, 0, 1, 2, 1)]
    assert [counts(r) for r in table(db, by="operator")] == [
        ("ana", 2, 1, 2, 3, 1),
        ("ben", 1, 1, 1, 1, 0),
    ]
    assert [counts(r) for r in table(db, by="lot")] == [("L7", 3, 2, 3, 4, 1)]
    assert table(db, lot="L8") == []


@pytest.fixture
def sled_runs(db):
    """A sled of three chips, run three times: once failed with per-chip verdicts, once
    lost (error), once passed after the failing chip was reseated."""
    plan = plans.store_plan_version(db, "sled-power-on", "3", "sled", "sled v3")
    sled = inventory.add_dut(db, "sled", "SLD-1", slot_count=4)
    c0, c1, c2 = chips(db, "C0", "C1", "C2", wafer="W05")
    for slot, chip in enumerate((c0, c1, c2)):
        inventory.place_chip(db, chip.id, sled.id, slot)

    def per_chip(verdicts):
        return [
            ("rails", [item(f"vdd_mean[{s}]", 0.75, v, slot=s, chip=f"C{s}", low=0.7, high=0.8,
                            first_s=1.0 if v == "failed" else None)
                       for s, v in verdicts.items()] + [item("fan", 1.0)]),
        ]  # fmt: skip

    first = {0: "passed", 1: "failed", 2: "marginal"}
    make_run(db, sled, plan, at(0), "failed", per_chip(first), chip_verdicts=first)
    make_run(db, sled, plan, at(1), "error")
    last = {0: "passed", 1: "passed", 2: "passed"}
    make_run(db, sled, plan, at(2), "passed", per_chip(last), chip_verdicts=last)
    return db


def test_chips_of_sled_runs_are_units_by_their_own_verdicts(sled_runs):
    db = sled_runs
    query = AnalyticsQuery("sled-power-on", unit="chip")
    (row,) = stats.yield_table(db, query)
    # C0 and C2 pass first time, C1 on its second attempt; the lost run is lost for all 3.
    assert counts(row) == ("all", 3, 2, 3, 6, 3)
    by_slot = stats.yield_table(db, AnalyticsQuery("sled-power-on", unit="chip", by="slot"))
    assert [counts(r) for r in by_slot] == [
        (0, 1, 1, 1, 2, 1),
        (1, 1, 0, 1, 2, 1),
        (2, 1, 1, 1, 2, 1),
    ]
    assert [
        counts(r)
        for r in stats.yield_table(db, AnalyticsQuery("sled-power-on", unit="chip", slot=1))
    ] == [("all", 1, 0, 1, 2, 1)]
    # The sled as the unit (the plan's own kind, the default): one unit, failed first.
    for unit in ("sled", None):
        (row,) = stats.yield_table(db, AnalyticsQuery("sled-power-on", unit=unit))
        assert counts(row) == ("all", 1, 0, 1, 2, 1)
    (pareto,) = stats.pareto_table(db, AnalyticsQuery("sled-power-on", unit="chip"))
    assert (pareto.name, pareto.count, pareto.cumulative_pct) == ("vdd_mean[1]", 1, 100.0)
    cap = stats.capability_table(db, AnalyticsQuery("sled-power-on", unit="chip", wafer="W05"))
    assert sorted((r.name, r.n) for r in cap) == [
        ("vdd_mean[0]", 2), ("vdd_mean[1]", 2), ("vdd_mean[2]", 2),
    ]  # fmt: skip


def test_plan_names_list_each_stored_plan_once_with_its_kind(db, chip_plan):
    plans.store_plan_version(db, "power-on", "2", "chip", "power-on v2")
    plans.store_plan_version(db, "burn-in", "1", "sled", "burn-in v1")
    assert plans.plan_names(db) == [("burn-in", "sled"), ("power-on", "chip")]


def test_refused_queries_say_what_is_wrong(db, chip_plan):
    with pytest.raises(RecordError, match="no plan named 'nope'"):
        stats.yield_table(db, AnalyticsQuery("nope"))
    with pytest.raises(RecordError, match="group by 'month'"):
        stats.yield_table(db, AnalyticsQuery("power-on", by="month"))
    with pytest.raises(RecordError, match="runs on chips"):
        stats.pareto_table(db, AnalyticsQuery("power-on", unit="sled"))


# --- items --------------------------------------------------------------------------------


@pytest.fixture
def measured(db, chip_plan):
    """Four counted runs of one chip, stored out of start order, and one error run whose
    values must not count.  In start order the 'spread' values are 1, 2, 4, 3."""
    (a,) = chips(db, "A")
    values = {0: 1.0, 2: 4.0, 1: 2.0, 3: 3.0}  # hour -> value, stored in this order
    status = {0: "passed", 1: "marginal", 2: "failed", 3: "passed"}
    for hour, value in values.items():
        make_run(db, a, chip_plan, at(hour), status[hour], [
            ("measure", [
                item("spread", value, "passed", low=0.0, high=6.0),
                item("ceiling", value, "passed", high=6.0),
                item("floor", value, "passed", low=0.5),
                item("flat", 5.0, "passed", low=4.0, high=6.0),
                item("loose", value),
            ]),
            ("later", [item("once", 0.5, low=0.0, high=1.0)] if hour == 0 else []),
        ])  # fmt: skip
    make_run(
        db, a, chip_plan, at(4), "error", [("measure", [item("spread", 100.0, low=0.0, high=6.0)])]
    )
    return db


def test_capability_against_hand_computed_figures(measured):
    rows = {r.name: r for r in stats.capability_table(measured, AnalyticsQuery("power-on"))}
    # Values 1 2 4 3: mean 2.5; deviations ±1.5 ±0.5 -> σ overall = sqrt(5/3);
    # moving ranges 1 2 1 -> mean 4/3, σ within = (4/3) / 1.128.
    sw, so = (4 / 3) / 1.128, math.sqrt(5 / 3)
    spread = rows["spread"]
    assert (spread.n, spread.mean, spread.low, spread.high) == (4, 2.5, 0.0, 6.0)
    assert spread.sigma_within == pytest.approx(sw)
    assert spread.sigma_overall == pytest.approx(so)
    assert spread.cp == pytest.approx(6 / (6 * sw))  # 0.8460
    assert spread.cpk == pytest.approx(2.5 / (3 * sw))  # 0.7050
    assert spread.pp == pytest.approx(6 / (6 * so))  # 0.7746
    assert spread.ppk == pytest.approx(2.5 / (3 * so))  # 0.6455
    assert spread.flagged
    ceiling, floor = rows["ceiling"], rows["floor"]  # one-sided: that side only, no Cp / Pp
    assert (ceiling.cp, ceiling.pp, floor.cp, floor.pp) == (None, None, None, None)
    assert ceiling.cpk == pytest.approx(3.5 / (3 * sw))
    assert ceiling.ppk == pytest.approx(3.5 / (3 * so))
    assert floor.cpk == pytest.approx(2.0 / (3 * sw))
    assert floor.ppk == pytest.approx(2.0 / (3 * so))
    flat = rows["flat"]  # σ = 0: no figure
    assert (flat.n, flat.mean, flat.sigma_within, flat.sigma_overall) == (4, 5.0, 0.0, 0.0)
    assert (flat.cp, flat.cpk, flat.pp, flat.ppk, flat.flagged) == (None,) * 4 + (False,)
    once = rows["once"]  # n < 2: no σ, no figure
    assert (once.n, once.mean, once.sigma_within, once.sigma_overall) == (1, 0.5, None, None)
    assert (once.cp, once.cpk, once.pp, once.ppk) == (None,) * 4
    loose = rows["loose"]  # no limits: σ but no index
    assert loose.sigma_within == pytest.approx(sw) and loose.cpk is None
    # Worst Cpk first, then the items without one in plan order.
    assert [r.name for r in rows.values()] == [
        "floor",
        "spread",
        "ceiling",
        "flat",
        "loose",
        "once",
    ]


def test_item_yield_counts_marginal_as_passed(db, chip_plan):
    (a,) = chips(db, "A")
    for hour, verdict in enumerate(("passed", "marginal", "failed", "passed")):
        status = "failed" if verdict == "failed" else "passed"
        make_run(
            db, a, chip_plan, at(hour), status, [("s", [item("x", 1.0, verdict), item("y", 1.0)])]
        )
    make_run(db, a, chip_plan, at(9), "error", [("s", [item("x", 1.0, "failed")])])
    rows = stats.item_yield_table(db, AnalyticsQuery("power-on"))
    assert [(r.step, r.name, r.judged, r.passed, r.item_yield) for r in rows] == [
        ("s", "x", 4, 3, 0.75),
        ("s", "y", 4, 4, 1.0),
    ]


def test_pareto_counts_each_failed_run_once_for_its_first_failing_item(db, chip_plan):
    (a,) = chips(db, "A")
    failing = [
        # (step 0 items, step 1 items): the first failing item is earliest step, then
        # earliest violation.
        ([item("a", 0, "failed", first_s=2.0)], [item("b", 0, "failed", first_s=0.1)]),  # a
        ([item("a", 0, "failed", first_s=3.0), item("c", 0, "failed", first_s=1.0)], []),  # c
        ([item("a", 1)], [item("b", 0, "failed", first_s=5.0)]),  # b
        ([item("c", 0, "failed", first_s=4.0)], []),  # c
    ]
    for hour, (first, second) in enumerate(failing):
        make_run(db, a, chip_plan, at(hour), "failed", [("s0", first), ("s1", second)])
    make_run(db, a, chip_plan, at(8), "error", [("s0", [item("a", 0, "failed", first_s=1.0)])])
    make_run(db, a, chip_plan, at(9), "passed", [("s0", [item("a", 1)])])
    rows = stats.pareto_table(db, AnalyticsQuery("power-on"))
    assert [(r.step, r.name, r.count, r.cumulative_pct) for r in rows] == [
        ("s0", "c", 2, 50.0),
        ("s0", "a", 1, 75.0),
        ("s1", "b", 1, 100.0),
    ]
    assert stats.pareto_table(db, AnalyticsQuery("power-on", until=at(0))) == []


def test_control_chart_series_limits_and_rules(measured):
    chart = stats.control_chart(measured, AnalyticsQuery("power-on"), "measure", "spread")
    assert [p.value for p in chart.points] == [1.0, 2.0, 4.0, 3.0]
    assert [p.moving_range for p in chart.points] == [None, 1.0, 2.0, 1.0]
    assert [p.started_at for p in chart.points] == [at(h) for h in range(4)]
    assert chart.centre == 2.5
    assert chart.mr_mean == pytest.approx(4 / 3)
    assert chart.sigma == pytest.approx((4 / 3) / 1.128)
    assert chart.lower_limit == pytest.approx(2.5 - 3 * (4 / 3) / 1.128)
    assert chart.upper_limit == pytest.approx(2.5 + 3 * (4 / 3) / 1.128)
    assert chart.mr_upper_limit == pytest.approx(3.267 * 4 / 3)
    assert all(p.rules == () for p in chart.points)
    single = stats.control_chart(measured, AnalyticsQuery("power-on"), "later", "once")
    assert (len(single.points), single.centre, single.sigma, single.upper_limit) == (
        1,
        0.5,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.5, 3.5, -3.2], [(), (1,), (1,)]),  # beyond 3σ, either side
        ([2.5, 0.0, 2.5], [(), (), (2,)]),  # 2 of 3 beyond 2σ
        ([2.5, -2.5, 0.0], [(), (), ()]),  # not on one side
        ([1.5, 1.5, 0.0, 1.5, 1.5], [(), (), (), (), (3,)]),  # 4 of 5 beyond 1σ
        ([-1.5, -1.5, -1.5, 0.5, -1.5], [(), (), (), (), (3,)]),
        ([0.5] * 7, [()] * 7),
        ([0.5] * 8, [()] * 7 + [(4,)]),  # 8 in a row on one side
        ([0.5] * 4 + [0.0] + [0.5] * 7, [()] * 12),  # the centre line breaks the row
        ([2.5, 2.5, 3.5], [(), (2,), (1, 2)]),
    ],
)
def test_western_electric_rules(values, expected):
    assert western_electric(values, 0.0, 1.0) == expected


def test_western_electric_without_spread_flags_nothing():
    assert western_electric([1.0, 5.0], 1.0, 0.0) == [(), ()]


# --- storage around analytics -------------------------------------------------------------


def test_analytics_index_migration_up_down_up(db, chip_plan):
    """Revision 0005 adds the index analytics read a plan's runs by; down and up again keep
    the runs and the figures."""
    from alembic import command
    from sqlalchemy import inspect

    from labbench.storage import engine as storage_engine

    def indexes():
        return {ix["name"] for ix in inspect(db.engine).get_indexes("runs")}

    (a,) = chips(db, "A")
    make_run(db, a, chip_plan, at(0), "failed")
    make_run(db, a, chip_plan, at(1), "passed")
    assert "ix_runs_plan_status_started" in indexes()
    with db.engine.connect() as conn, conn.begin():
        command.downgrade(storage_engine.alembic_config(conn), "0004_criterion_slots")
    assert "ix_runs_plan_status_started" not in indexes()
    assert [counts(r) for r in table(db)] == [("all", 1, 0, 1, 2, 0)]
    storage_engine.upgrade(db.engine)
    assert "ix_runs_plan_status_started" in indexes()
    assert storage_engine.current_revision(db.engine) == storage_engine.head_revision()
    assert [counts(r) for r in table(db)] == [("all", 1, 0, 1, 2, 0)]


def test_results_stored_in_batches_read_back_in_order(db, chip_plan):
    """store_results inserts each level (steps, items, violations) as one batch: the items
    and their violations still come back in the order they were judged."""
    (a,) = chips(db, "A")
    steps = [
        ("first", [item(f"i{n}", float(n), "failed" if n % 3 == 0 else "passed",
                        first_s=0.5 * n if n % 3 == 0 else None) for n in range(12)]),
        ("second", []),
        ("third", [item(f"j{n}", float(n)) for n in range(5)]),
    ]  # fmt: skip
    run = make_run(db, a, chip_plan, at(0), "failed", steps)
    stored = results.run_results(db, run.id)
    assert [(s.position, s.name) for s in stored] == [(0, "first"), (1, "second"), (2, "third")]
    assert [c.name for c in stored[0].criteria] == [f"i{n}" for n in range(12)]
    assert [c.first_violation_s for c in stored[0].criteria] == [
        0.5 * n if n % 3 == 0 else None for n in range(12)
    ]
    assert [c.name for c in stored[2].criteria] == [f"j{n}" for n in range(5)]


def test_capability_leaves_out_nan_and_infinite_values(db, chip_plan):
    """A statistic over a NaN is NaN (PostgreSQL keeps it, SQLite stores NULL), and an
    infinite reading says nothing about spread: neither enters n, μ or σ."""
    (a,) = chips(db, "A")
    for hour, value in enumerate((1.0, math.nan, 3.0, math.inf, 2.0)):
        verdict = "passed" if math.isfinite(value) else "failed"
        make_run(
            db,
            a,
            chip_plan,
            at(hour),
            verdict,
            [("s", [item("x", value, verdict, low=0.0, high=4.0)])],
        )
    (row,) = stats.capability_table(db, AnalyticsQuery("power-on"))
    # 1, 3, 2: mean 2, moving ranges 2 and 1.
    assert (row.n, row.mean) == (3, 2.0)
    assert row.sigma_within == pytest.approx(1.5 / 1.128)
    assert row.sigma_overall == pytest.approx(1.0)
    chart = stats.control_chart(db, AnalyticsQuery("power-on"), "s", "x")
    assert [p.value for p in chart.points] == [1.0, 3.0, 2.0]
    assert [p.moving_range for p in chart.points] == [None, 2.0, 1.0]


def test_capability_by_station_takes_moving_ranges_within_each_group(db, chip_plan):
    s1 = inventory.ensure_station(db, "bench-1").id
    s2 = inventory.ensure_station(db, "bench-2").id
    (a,) = chips(db, "A")
    for hour, (value, station) in enumerate(((1.0, s1), (2.0, s2), (4.0, s1), (3.0, s2))):
        make_run(
            db,
            a,
            chip_plan,
            at(hour),
            "passed",
            [("s", [item("x", value, low=0.0, high=6.0)])],
            station=station,
        )
    rows = stats.capability_table(db, AnalyticsQuery("power-on", by="station"))
    by_group = {r.group: r for r in rows}
    # bench-1 reads 1 then 4: mean 2.5, one moving range of 3, σ overall sqrt(4.5).
    one, two = by_group["bench-1"], by_group["bench-2"]
    assert (one.n, one.mean, two.n, two.mean) == (2, 2.5, 2, 2.5)
    assert one.sigma_within == pytest.approx(3 / 1.128)
    assert one.sigma_overall == pytest.approx(math.sqrt(4.5))
    assert two.sigma_within == pytest.approx(1 / 1.128)
    assert two.sigma_overall == pytest.approx(math.sqrt(0.5))
    assert [r.group for r in rows] == ["bench-1", "bench-2"]  # worst Cpk first
    (only,) = stats.capability_table(db, AnalyticsQuery("power-on", station="bench-2"))
    assert (only.group, only.n, only.sigma_within) == ("all", 2, two.sigma_within)


def test_chip_plan_has_no_slots(db, chip_plan):
    """A chip run sat in no slot: grouped by slot it is in the one group None, and a slot
    filter matches none of it (on PostgreSQL too, where an untyped NULL would be text)."""
    (a,) = chips(db, "A")
    make_run(db, a, chip_plan, at(0), "passed", [("s", [item("x", 1.0)])])
    assert [counts(r) for r in table(db, by="slot")] == [(None, 1, 1, 1, 1, 0)]
    assert table(db, slot=1) == []
    assert stats.capability_table(db, AnalyticsQuery("power-on", slot=1)) == []
    assert stats.pareto_table(db, AnalyticsQuery("power-on", slot=1)) == []


def test_item_order_migration_backfills_keys_and_keeps_the_figures(db, chip_plan):
    """Revision 0007 keys each stored item (plan name, step, name, channel, unit, limits) and
    copies its run's start and its step's position onto its row: what store_results writes
    for new items, the migration writes for the items stored before it, so capability gives
    the same table after down and up again.  Versions of a plan share keys unless the limits
    changed; another plan with the same item names has keys of its own."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import inspect, text

    from labbench.storage import engine as storage_engine
    from labbench.storage.models import Base

    v2 = plans.store_plan_version(db, "power-on", "2", "chip", "power-on v2")
    other = plans.store_plan_version(db, "other", "1", "chip", "other v1")
    a, b = chips(db, "A", "B")
    # Stored out of start order, on two versions (v2 moved the limits of 'x'), and another
    # plan with the same items.
    for hour, plan, dut, value in (
        (3, chip_plan, a, 3.0), (0, chip_plan, b, 1.0), (2, v2, a, 4.0), (1, chip_plan, a, 2.0),
        (4, v2, b, 2.5), (5, other, a, 9.0),
    ):  # fmt: skip
        high = 6.0 if plan is chip_plan else 7.0
        make_run(db, dut, plan, at(hour), "passed", [
            ("warm", [item("t", value, first_s=0.5)]),  # with a violation referring to it
            ("s", [item("x", value, low=0.0, high=high), item("y", value, high=8.0)]),
        ])  # fmt: skip
    # A run the station lost: its item is keyed but not judged, so capability leaves it out.
    make_run(db, b, chip_plan, at(7), "error", [("s", [item("x", 50.0, low=0.0, high=6.0)])])

    def stored():
        with db.engine.connect() as conn:
            return conn.execute(
                text(
                    "SELECT c.id, k.plan, k.step, k.name, k.channel, k.unit, k.has_low, k.low,"
                    " k.has_high, k.high, k.middle, c.run_t0_ns, c.step_position, c.run_judged,"
                    " r.t0_ns, s.position, r.status"
                    " FROM criterion_results c JOIN criterion_keys k ON k.id = c.item_key"
                    " JOIN runs r ON r.id = c.run_id JOIN step_results s"
                    " ON s.id = c.step_result_id ORDER BY c.id"
                )
            ).all()

    def keys():
        with db.engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM criterion_keys")).scalar_one()

    def figures():
        return [
            stats.capability_table(db, AnalyticsQuery(plan, by=by))
            for plan in ("power-on", "other")
            for by in (None, "plan_version", "day")
        ]

    rows, before = stored(), figures()
    assert len(rows) == 19 and all(r.run_t0_ns == r.t0_ns for r in rows)
    assert all(r.step_position == r.position for r in rows)
    assert [bool(r.run_judged) for r in rows] == [r.status == "passed" for r in rows]
    assert sum(not r.run_judged for r in rows) == 1
    assert {(r.name, r.high, r.middle) for r in rows if r.plan == "power-on"} == {
        ("t", 0.0, None), ("x", 6.0, 3.0), ("x", 7.0, 3.5), ("y", 8.0, 8.0)
    }  # fmt: skip
    # power-on: t, x (two sets of limits), y; other: t, x, y.
    assert keys() == 7
    assert {(r.plan, r.name, r.high) for r in rows if r.name == "x"} == {
        ("power-on", "x", 6.0), ("power-on", "x", 7.0), ("other", "x", 7.0)
    }  # fmt: skip
    # No limits: flags false and 0, so the unique constraint sees them.
    assert {(bool(r.has_low), r.low, bool(r.has_high), r.high) for r in rows if r.name == "t"} == {
        (False, 0.0, False, 0.0)
    }

    config = storage_engine.alembic_config
    for _ in range(2):
        with db.engine.connect() as conn, conn.begin():
            command.downgrade(config(conn), "0007_sweep_points")
        assert "criterion_keys" not in inspect(db.engine).get_table_names()
        columns = {c["name"] for c in inspect(db.engine).get_columns("criterion_results")}
        assert not {"item_key", "run_t0_ns", "step_position"} & columns
        storage_engine.upgrade(db.engine)
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        # The backfilled keys say what the stored ones said, item by item.
        assert [tuple(r)[1:] for r in stored()] == [tuple(r)[1:] for r in rows]
        assert keys() == 7
        assert figures() == before

    # A run stored after the migration finds the backfilled keys.
    make_run(db, b, chip_plan, at(6), "passed", [("s", [item("x", 5.0, low=0.0, high=6.0)])])
    assert keys() == 7
    (x,) = [r for r in stats.capability_table(db, AnalyticsQuery("power-on")) if r.high == 6.0]
    assert (x.n, x.mean) == (4, 11.0 / 4)


def test_capability_counts_an_item_once_its_run_ends_judged(db, chip_plan):
    """Results are stored while the run is still running: capability reads the copy of the
    run's state on each item (revision 0007), so an item counts from the moment its run
    ends passed, marginal or failed, and never for a run that ended otherwise or was
    found interrupted."""
    a, b = chips(db, "A", "B")

    def start(dut, hours, value):
        run = run_store.start_run(db, dut.id, plan_id=chip_plan.id, started_at=at(hours))
        steps = [StepRecord(0, "s", run.t0_ns, run.t0_ns + 1, "passed", (
            item("x", value, low=0.0, high=6.0),
        ))]  # fmt: skip
        results.store_results(db, run.id, steps)
        return run

    def figures():
        return [(r.n, r.mean) for r in stats.capability_table(db, AnalyticsQuery("power-on"))]

    first = start(a, 0, 1.0)
    second = start(b, 1, 3.0)
    assert figures() == []  # both still running
    run_store.finish_run(db, second.id, "marginal")
    assert figures() == [(1, 3.0)]
    run_store.finish_run(db, first.id, "failed")
    assert figures() == [(2, 2.0)]
    lost = start(a, 2, 100.0)
    run_store.finish_run(db, lost.id, "aborted")
    dead = start(b, 3, 200.0)
    assert run_store.mark_interrupted_runs(db, host=dead.host, is_alive=lambda pid: False) == [
        dead.id
    ]
    assert figures() == [(2, 2.0)]
