"""Lab analytics over many runs: yield, capability of every item and the failure Pareto of one
plan, computed in the database, next to pandas computing the same from the same rows.

    python benchmarks/analytics.py [--runs 100000] [--db URL [--no-generate]] [--cache FILE]
                                   [--repeat 3] [--generate-only]

The database holds ``--runs`` finished runs of chips on 4 chip plans (a quarter each), 20
judged numeric items a run (4 steps of 5 measurements, a fifth of them one-sided; 1.96 M items
at 100 k runs, since aborted and interrupted runs store none), retries of failed chips,
station losses (error, aborted, interrupted), 4 stations, 3 operators and 30 days of start
times.  It is written through the repository functions a run really goes through
(``inventory.add_dut``, ``runs.start_run``, ``results.store_results``, ``runs.finish_run``),
so the rows, their order and their indexes are the product's own.  That takes a while (about
28 ms a run on tmpfs on the loaded 2-core machine: 47 min for 100 k runs on SQLite, 74 min on
PostgreSQL), so a SQLite database is generated once and cached in ``--cache`` (default
``$LABBENCH_BENCH_CACHE/analytics-<runs>.sqlite3``, that folder defaulting to
``~/.cache/labbench-bench``); ``--db postgresql+psycopg://…`` fills an empty PostgreSQL
database instead, and ``--no-generate`` measures one filled before.  A database filled
before revision 0008 is upgraded when it is opened (24 s on SQLite, 3.5 min on PostgreSQL at
100 k runs); on PostgreSQL ``VACUUM ANALYZE criterion_results`` afterwards (or autovacuum)
lets capability read its index alone.

Timed, each the best of ``--repeat``: ``analytics.yield_table``, ``analytics.capability_table``
(every numeric item) and ``analytics.pareto_table`` for one plan; the baseline reads the same
rows with ``pandas.read_sql`` and computes the same figures in pandas (attempts by sort and
``groupby().first()/last()``, moving ranges by ``groupby().diff()``).  The two answers are
compared before anything is printed.  Target (docs/architecture.md §7): <= 1 s each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labbench.records import CriterionRecord, StepRecord, ViolationRecord  # noqa: E402
from labbench.storage import inventory, open_database, plans, results  # noqa: E402
from labbench.storage import runs as run_store  # noqa: E402

PLANS = 4
STEPS = 4
ITEMS_PER_STEP = 5
STATIONS = ("bench-1", "bench-2", "bench-3", "bench-4")
OPERATORS = ("ana", "ben", "chen")
BEGIN = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
DAYS = 30
# Outcomes of a run and their odds: mostly passes, some marginal, failures that are retried,
# and a few station losses.
OUTCOMES = ("passed", "marginal", "failed", "error", "aborted", "interrupted")
ODDS = (0.80, 0.06, 0.09, 0.03, 0.01, 0.01)


def plan_name(index: int) -> str:
    return f"bench-plan-{index}"


def _item_limits(step: int, item: int) -> tuple[float | None, float | None]:
    # Every fifth item is one-sided (a ceiling), as a current or temperature limit is.
    if item == 4:
        return None, 1.0 + step
    return 0.70 + 0.1 * step, 0.80 + 0.1 * step


def _steps(rng: np.random.Generator, outcome: str, t0_ns: int) -> list[StepRecord]:
    failing = set()
    if outcome == "failed":
        failing = {
            (int(rng.integers(STEPS)), int(rng.integers(ITEMS_PER_STEP)))
            for _ in range(int(rng.integers(1, 3)))
        }
    steps = []
    for s in range(STEPS):
        criteria = []
        for i in range(ITEMS_PER_STEP):
            low, high = _item_limits(s, i)
            centre = (high - 0.25) if low is None else (low + high) / 2
            value = float(rng.normal(centre, 0.012 * (1 + i)))
            verdict = "passed"
            violations: tuple[ViolationRecord, ...] = ()
            if (s, i) in failing:
                value = (high + 0.02) if low is None else (low - 0.02)
                verdict = "failed"
                start = float(rng.uniform(0.1, 4.0))
                violations = (
                    ViolationRecord(
                        f"ch{i}", start, start + 0.2, value, "high" if low is None else "low"
                    ),
                )
            elif outcome == "marginal" and (s, i) == (0, 0):
                verdict = "marginal"
            criteria.append(
                CriterionRecord(
                    kind="measure",
                    name=f"m{s}_{i}",
                    channel=f"ch{i}",
                    unit="V",
                    stat="mean",
                    value=value,
                    text_value="",
                    low=low,
                    high=high,
                    marginal_low=None,
                    marginal_high=None,
                    equals=None,
                    settle_s=0.0,
                    hold_s=0.0,
                    sample_count=1000,
                    verdict=verdict,
                    violations=violations,
                )
            )
        verdict = "failed" if any(c.verdict == "failed" for c in criteria) else "passed"
        start = t0_ns + s * 5_000_000_000
        steps.append(
            StepRecord(s, f"step-{s}", start, start + 5_000_000_000, verdict, tuple(criteria))
        )
    return steps


def generate(target: str, runs: int, seed: int = 13) -> None:
    """Fill an empty database with ``runs`` finished runs through the repository functions."""
    rng = np.random.default_rng(seed)
    db = open_database(target)
    try:
        stations = [inventory.ensure_station(db, name, "bench").id for name in STATIONS]
        plan_ids = [
            plans.store_plan_version(db, plan_name(p), str(v), "chip", f"plan {p} v{v}").id
            for p in range(PLANS)
            for v in (1, 2)
        ]
        span_ns = DAYS * 86_400 * 10**9
        begin_ns = run_store.to_epoch_ns(BEGIN)
        made, chip_no, began = 0, 0, time.perf_counter()
        while made < runs:
            # A new chip: attempts until it passes (at most 3), station losses in between.
            chip_no += 1
            plan = int(rng.integers(PLANS))
            chip = inventory.add_dut(
                db,
                "chip",
                f"BCH-{chip_no:06d}",
                lot=f"LOT-{chip_no % 7}",
                wafer=f"W{chip_no % 25:02d}",
            )
            at_ns = begin_ns + int(rng.integers(span_ns))
            tries = 0
            while made < runs and tries < 3:
                outcome = OUTCOMES[int(rng.choice(len(OUTCOMES), p=ODDS))]
                started = run_store.from_epoch_ns(at_ns)
                run = run_store.start_run(
                    db,
                    chip.id,
                    plan_id=plan_ids[2 * plan + int(at_ns > begin_ns + span_ns // 2)],
                    station_id=stations[int(rng.integers(len(stations)))],
                    operator=OPERATORS[int(rng.integers(len(OPERATORS)))],
                    started_at=started,
                )
                if outcome not in ("aborted", "interrupted"):
                    results.store_results(db, run.id, _steps(rng, outcome, run.t0_ns))
                run_store.finish_run(
                    db, run.id, outcome, ended_at=started + dt.timedelta(seconds=20)
                )
                made += 1
                at_ns += int(rng.integers(600, 86_400)) * 10**9
                if outcome in ("passed", "marginal"):
                    break
                if outcome == "failed":
                    tries += 1
            if made % 2000 < 3:
                rate = made / (time.perf_counter() - began)
                print(
                    f"  {made:,} runs written ({rate:.0f} runs/s, "
                    f"{(runs - made) / rate / 60:.1f} min to go)",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        db.dispose()


def cached_sqlite(runs: int, cache: Path | None) -> Path:
    folder = Path(os.environ.get("LABBENCH_BENCH_CACHE", Path.home() / ".cache/labbench-bench"))
    path = cache or folder / f"analytics-{runs}.sqlite3"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    for stale in partial.parent.glob(partial.name + "*"):
        stale.unlink()
    print(f"generating {runs:,} runs into {path} (once) …", file=sys.stderr)
    generate(str(partial), runs)
    partial.rename(path)
    return path


# --- the same figures in pandas, from the same rows ---------------------------------------

_RUNS_SQL = """
SELECT r.id, r.dut_id, r.status, r.started_at FROM runs r JOIN plans p ON p.id = r.plan_id
WHERE p.name = %(plan)s AND r.status IN ('passed', 'marginal', 'failed', 'error', 'aborted',
'interrupted')"""
_ITEMS_SQL = """
SELECT sr.name AS step, cr.name, cr.channel, cr.unit, cr.low, cr.high, cr.value, r.started_at,
r.id AS run_id FROM criterion_results cr JOIN runs r ON r.id = cr.run_id
JOIN step_results sr ON sr.id = cr.step_result_id JOIN plans p ON p.id = r.plan_id
WHERE p.name = %(plan)s AND r.status IN ('passed', 'marginal', 'failed')
AND cr.value IS NOT NULL"""
_FAILED_SQL = """
SELECT r.id AS run_id, sr.position, sr.name AS step, cr.name, cr.first_violation_s,
cr.id AS item_id FROM criterion_results cr JOIN runs r ON r.id = cr.run_id
JOIN step_results sr ON sr.id = cr.step_result_id JOIN plans p ON p.id = r.plan_id
WHERE p.name = %(plan)s AND r.status = 'failed' AND cr.verdict = 'failed'"""


def _read(engine, sql: str, plan: str):
    import pandas
    from sqlalchemy import text

    bind = sql.replace("%(plan)s", ":plan")
    with engine.connect() as conn:
        return pandas.read_sql(text(bind), conn, params={"plan": plan})


def pandas_yield(engine, plan: str) -> tuple:
    runs = _read(engine, _RUNS_SQL, plan)
    losses = int((~runs["status"].isin(["passed", "marginal", "failed"])).sum())
    tries = runs[runs["status"].isin(["passed", "marginal", "failed"])]
    tries = tries.sort_values(["dut_id", "started_at", "id"])
    ok = tries["status"].isin(["passed", "marginal"])
    by_unit = ok.groupby(tries["dut_id"])
    return (
        int(by_unit.ngroups),
        int(by_unit.first().sum()),
        int(by_unit.last().sum()),
        len(tries),
        losses,
    )


def pandas_capability(engine, plan: str) -> dict:
    items = _read(engine, _ITEMS_SQL, plan).sort_values(["started_at", "run_id"])
    keys = ["step", "name", "channel", "unit", "low", "high"]
    groups = items.groupby(keys, dropna=False, sort=False)["value"]
    moving = groups.diff().abs()
    table = groups.agg(["count", "mean", "std"])
    table["mr"] = moving.groupby([items[k] for k in keys], dropna=False, sort=False).mean()
    out = {}
    for key, row in table.iterrows():
        sw = row["mr"] / 1.128
        low, high = key[4], key[5]
        sides = []
        if not math.isnan(high):
            sides.append(high - row["mean"])
        if not math.isnan(low):
            sides.append(row["mean"] - low)
        cpk = min(sides) / (3 * sw) if sides and sw > 0 else None
        out[(key[0], key[1])] = (int(row["count"]), row["mean"], row["std"], sw, cpk)
    return out


def pandas_pareto(engine, plan: str) -> list[tuple]:
    failed = _read(engine, _FAILED_SQL, plan)
    failed["no_violation"] = failed["first_violation_s"].isna()
    failed = failed.sort_values(
        ["run_id", "position", "no_violation", "first_violation_s", "item_id"]
    )
    first = failed.groupby("run_id").head(1)
    counts = first.groupby(["step", "name"]).size().sort_values(ascending=False)
    return [(step, name, int(n)) for (step, name), n in counts.items()]


# --- timing -------------------------------------------------------------------------------


def _best(repeat: int, work):
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - began)
    return min(times), result


def measure(target: str, repeat: int) -> None:
    from labbench.records import AnalyticsQuery
    from labbench.storage import analytics
    from labbench.storage import history as history_store

    db = open_database(target)
    try:
        sizes = history_store.counts(db, ("runs", "criterion_results"))
        plan = plan_name(1)
        query = AnalyticsQuery(plan)
        print(
            f"{db.describe()}: {sizes['runs']:,} runs, {sizes['criterion_results']:,} judged "
            f"items; plan {plan!r}"
        )
        rows = []
        t, ours = _best(repeat, lambda: analytics.yield_table(db, query))
        b, theirs = _best(repeat, lambda: pandas_yield(db.engine, plan))
        (row,) = ours
        mine = (row.units, row.first_passed, row.last_passed, row.attempts, row.station_losses)
        assert mine == theirs, (mine, theirs)
        rows.append(("yield", t, b, f"{row.units:,} units, FPY {row.fpy:.3f}, LPY {row.lpy:.3f}"))

        t, ours = _best(repeat, lambda: analytics.capability_table(db, query))
        b, theirs = _best(repeat, lambda: pandas_capability(db.engine, plan))
        assert len(ours) == len(theirs), (len(ours), len(theirs))
        for r in ours:
            n, mean, so, sw, cpk = theirs[(r.step, r.name)]
            assert r.n == n and math.isclose(r.mean, mean, rel_tol=1e-9), (
                r,
                theirs[(r.step, r.name)],
            )
            assert math.isclose(r.sigma_overall, so, rel_tol=1e-6)
            assert math.isclose(r.sigma_within, sw, rel_tol=1e-9)
            assert math.isclose(r.cpk, cpk, rel_tol=1e-6)
        n = sum(r.n for r in ours)
        rows.append(("capability", t, b, f"{len(ours)} items, {n:,} values"))

        t, ours = _best(repeat, lambda: analytics.pareto_table(db, query))
        b, theirs = _best(repeat, lambda: pandas_pareto(db.engine, plan))
        assert sorted((r.step, r.name, r.count) for r in ours) == sorted(theirs)
        rows.append(("pareto", t, b, f"{sum(r.count for r in ours):,} failed runs"))
    finally:
        db.dispose()
    print(f"{'table':<11} {'labbench (SQL)':>15} {'pandas':>10} {'ratio':>7}   (best of {repeat})")
    for name, t, b, what in rows:
        verdict = "ok" if t <= 1.0 else "OVER 1 s"
        print(
            f"{name:<11} {t * 1000:>12.0f} ms {b * 1000:>7.0f} ms {b / t:>6.1f}x   "
            f"{verdict}; {what}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--db", help="an empty PostgreSQL database URL to fill and measure")
    parser.add_argument("--cache", type=Path, help="the cached SQLite file (made if missing)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument(
        "--no-generate",
        action="store_true",
        help="measure the --db database as it is (filled before)",
    )
    args = parser.parse_args()
    if args.db and args.no_generate:
        target = args.db
    elif args.db:
        began = time.perf_counter()
        generate(args.db, args.runs)
        print(f"generated in {time.perf_counter() - began:.0f} s", file=sys.stderr)
        target = args.db
    else:
        target = str(cached_sqlite(args.runs, args.cache))
    if args.generate_only:
        return
    measure(target, args.repeat)


if __name__ == "__main__":
    main()
