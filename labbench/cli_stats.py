"""The ``labbench stats`` commands: lab analytics of one plan from scripts (docs/architecture.md
§5 and §10).

``yield``, ``capability`` and ``pareto`` ask the analytics room, which computes each table in
the database, and print it as a table, as ``{"rows": [...]}`` (``--json``) or write it as CSV
(``--csv FILE``).  A plan, date, grouping, unit or slot the command cannot use is one
sentence naming it, exit code 2, no traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging

from labbench.cli import EXIT_OK, UsageError
from labbench.records import ANALYTICS_GROUPS, YIELD_UNITS, AnalyticsQuery

log = logging.getLogger(__name__)

TABLES = ("yield", "capability", "pareto")


def add_parser(commands, add_db_option) -> None:
    """Register ``stats`` and its tables on the ``labbench`` parser."""
    stats = commands.add_parser("stats", help="lab analytics: yield, capability, failure Pareto")
    tables = stats.add_subparsers(dest="stats_command", metavar="TABLE", required=True)
    for name, text in (
        ("yield", "first-pass and last-pass yield of the plan's units, station losses apart"),
        ("capability", "Cp, Cpk, Pp and Ppk of every numeric item, worst Cpk first"),
        ("pareto", "failed runs by their first failing item, worst first"),
    ):
        table = tables.add_parser(name, help=text)
        table.add_argument("--plan", required=True, metavar="NAME", help="plan name")
        table.add_argument(
            "--since", metavar="D", help="from this ISO date or time (UTC unless it says otherwise)"
        )
        table.add_argument(
            "--until", metavar="D", help="before this ISO time; a bare date includes that day"
        )
        table.add_argument("--by", metavar="GROUP", help=f"group by {'|'.join(ANALYTICS_GROUPS)}")
        table.add_argument(
            "--unit",
            metavar="KIND",
            help="chip|sled: a sled plan's units are its sleds unless this says chip",
        )
        table.add_argument("--station", metavar="NAME")
        table.add_argument("--operator", metavar="NAME")
        table.add_argument("--plan-version", metavar="V")
        table.add_argument("--lot", metavar="L")
        table.add_argument("--wafer", metavar="W")
        table.add_argument("--slot", metavar="N", help="0-based sled slot")
        table.add_argument("--json", action="store_true", help='print {"rows": [...]}')
        table.add_argument("--csv", metavar="FILE", help="write the rows to FILE")
        add_db_option(table)


def run(args: argparse.Namespace, open_db) -> int:
    from labbench.export import stats_csv
    from labbench.storage import RecordError
    from labbench.storage import analytics as store

    query = _query(args)
    if args.json and args.csv:
        raise UsageError("Choose one of --json and --csv.")
    if args.stats_command == "pareto" and query.by is not None:
        raise UsageError("--by does not apply to pareto: it ranks the first failing items.")
    tables = {
        "yield": (store.yield_table, stats_csv.yield_rows, stats_csv.YIELD_COLUMNS, _yield_text),
        "capability": (
            store.capability_table,
            stats_csv.capability_rows,
            stats_csv.CAPABILITY_COLUMNS,
            _capability_text,
        ),
        "pareto": (
            store.pareto_table,
            stats_csv.pareto_rows,
            stats_csv.PARETO_COLUMNS,
            _pareto_text,
        ),
    }
    compute, to_rows, columns, to_text = tables[args.stats_command]
    db = open_db(args)
    try:
        rows = to_rows(compute(db, query))
    except RecordError as exc:
        raise UsageError(str(exc)) from None
    finally:
        db.dispose()
    if args.csv:
        try:
            stats_csv.write_stats_csv(args.csv, columns, rows)
        except OSError as exc:
            raise UsageError(f"Cannot write {args.csv}: {exc.strerror or exc}.") from None
        print(f"{len(rows)} rows written to {args.csv}")
    elif args.json:
        print(json.dumps({"rows": rows}))
    else:
        for line in to_text(rows, query):
            print(line)
    return EXIT_OK


def _query(args: argparse.Namespace) -> AnalyticsQuery:
    if args.by is not None and args.by not in ANALYTICS_GROUPS:
        raise UsageError(
            f"--by {args.by!r} is not a grouping; choose one of {', '.join(ANALYTICS_GROUPS)}."
        )
    if args.unit is not None and args.unit not in YIELD_UNITS:
        raise UsageError(f"--unit {args.unit!r} is not a unit; choose chip or sled.")
    slot = None
    if args.slot is not None:
        try:
            slot = int(args.slot)
        except ValueError:
            raise UsageError(f"--slot {args.slot!r} is not a slot number (0, 1, 2, …).") from None
        if slot < 0:
            raise UsageError(f"--slot {args.slot!r} is not a slot number (0, 1, 2, …).")
    since = _moment("--since", args.since, end_of_day=False)
    until = _moment("--until", args.until, end_of_day=True)
    if since is not None and until is not None and until <= since:
        raise UsageError(f"--until {args.until!r} is not after --since {args.since!r}.")
    return AnalyticsQuery(
        plan=args.plan,
        since=since,
        until=until,
        by=args.by,
        unit=args.unit,
        station=args.station,
        operator=args.operator,
        plan_version=args.plan_version,
        lot=args.lot,
        wafer=args.wafer,
        slot=slot,
    )


def _moment(flag: str, text: str | None, *, end_of_day: bool) -> dt.datetime | None:
    """An ISO date or time, UTC unless it names its offset; a bare date given as the end of
    a period includes that whole day."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{flag} {text!r} is not an ISO date or time (e.g. 2026-11-25 or 2026-11-25T14:00)."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    if end_of_day and len(text.strip()) == 10:  # a bare date: up to the end of that day
        moment += dt.timedelta(days=1)
    return moment


# --- tables for people --------------------------------------------------------------------


def _pct(fraction: float | None) -> str:
    return "-" if fraction is None else f"{100 * fraction:.1f} %"


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _yield_text(rows: list[dict], query: AnalyticsQuery) -> list[str]:
    if not rows:
        return [f"no finished runs of plan {query.plan!r} match"]
    lines = [f"{query.by or 'group':<14} {'units':>7} {'FPY':>8} {'LPY':>8} {'attempts':>9} "
             f"{'station losses':>15}"]  # fmt: skip
    lines += [
        f"{r['group']!s:<14} {r['units']:>7} {_pct(r['fpy']):>8} {_pct(r['lpy']):>8} "
        f"{r['attempts']:>9} {r['station_losses']:>15}"
        for r in rows
    ]
    return lines


def _capability_text(rows: list[dict], query: AnalyticsQuery) -> list[str]:
    if not rows:
        return [f"no numeric items of plan {query.plan!r} match"]
    grouped = query.by is not None
    head = f"{query.by:<12} " if grouped else ""
    lines = [
        head + f"{'step':<16} {'item':<22} {'n':>6} {'mean':>10} {'σ within':>10} "
        f"{'σ overall':>10} {'low':>8} {'high':>8} {'Cp':>6} {'Cpk':>6} {'Pp':>6} {'Ppk':>6}"
    ]
    for r in rows:
        group = f"{r['group']!s:<12} " if grouped else ""
        lines.append(
            group + f"{r['step']:<16} {r['name']:<22} {r['n']:>6} {_figure(r['mean']):>10} "
            f"{_figure(r['sigma_within']):>10} {_figure(r['sigma_overall']):>10} "
            f"{_figure(r['low']):>8} {_figure(r['high']):>8} {_figure(r['cp']):>6} "
            f"{_figure(r['cpk']):>6} {_figure(r['pp']):>6} {_figure(r['ppk']):>6}"
            + ("  Cpk < 1.33" if r["flagged"] else "")
        )
    return lines


def _pareto_text(rows: list[dict], query: AnalyticsQuery) -> list[str]:
    if not rows:
        return [f"no failed runs of plan {query.plan!r} match"]
    lines = [f"{'step':<16} {'item':<22} {'count':>7} {'cumulative':>11}"]
    lines += [
        f"{r['step']:<16} {r['name']:<22} {r['count']:>7} {r['cumulative_pct']:>9.1f} %"
        for r in rows
    ]
    return lines
