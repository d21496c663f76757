"""Lab analytics over many runs: yield, capability of every item and the failure Pareto of one
plan, computed in the database, next to pandas computing the same from the same rows.

    python benchmarks/analytics.py [--runs 100000] [--db URL] [--cache FILE] [--repeat 3]

The database holds ``--runs`` finished runs of chips on 4 chip plans (a quarter each), 20
judged numeric items a run (4 steps of 5 measurements, 2 M items at 100 k runs; a few
one-sided), with retries of failed chips, station losses (error, aborted, interrupted),
4 stations, 3 operators and 30 days of start times.  It is written through the repository
functions a run really goes through (``inventory.add_dut``, ``runs.start_run``,
``results.store_results``, ``runs.finish_run``), so the rows, their order and their indexes
are the product's own.  That takes minutes (about 10 ms a run on tmpfs), so a SQLite database
is generated once and cached in ``--cache`` (default
``$LABBENCH_BENCH_CACHE/analytics-<runs>.sqlite3``, that folder defaulting to
``~/.cache/labbench-bench``); ``--db postgresql+psycopg://…`` fills an empty PostgreSQL
database instead (every time).

Timed, each the best of ``--repeat``: ``analytics.yield_table``, ``analytics.capability_table``
(every numeric item) and ``analytics.pareto_table`` for one plan; the baseline reads the same
rows with ``pandas.read_sql`` and computes the same figures in pandas (attempts by sort and
``groupby().cumcount()``, moving ranges by ``groupby().diff()``).  The two answers are
compared before anything is printed.  Target (docs/architecture.md §7): <= 1 s each.
"""

from __future__ import annotations

import argparse
import datetime as dt
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


def measure(target: str, repeat: int) -> None:
    raise NotImplementedError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--db", help="an empty PostgreSQL database URL to fill and measure")
    parser.add_argument("--cache", type=Path, help="the cached SQLite file (made if missing)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args()
    if args.db:
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
