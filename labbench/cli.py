"""The ``labbench`` command (docs/architecture.md §5).

Only argument handling and printing live here; the work is done by the layers below, so
the GUI can call the same functions.  Exit codes: 0 passed/marginal/ok, 1 failed, 2 bad
usage or bad input, 3 run error, aborted or interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

from labbench import __version__

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_RUN_ERROR = 3


class UsageError(Exception):
    """Bad input from the user: printed as one sentence, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own errors: same exit code, one line
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"labbench: error: {message}\n")


def _add_db_option(parser: argparse.ArgumentParser, *, top_level: bool = False) -> None:
    # Sub-commands accept --db too; SUPPRESS keeps them from overwriting one given before them.
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None if top_level else argparse.SUPPRESS,
        help="database: a SQLite file path or a SQLAlchemy URL "
        "(default: $LABBENCH_DB, else the user data directory)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="labbench", description="Silicon bring-up workbench.")
    parser.add_argument("--version", action="version", version=f"labbench {__version__}")
    parser.add_argument(
        "--demo", action="store_true", help="open the app on a scratch database with example data"
    )
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="open the main window offscreen, run a short plan on a simulated rig, "
        "exit 0 if all works",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    _add_db_option(parser, top_level=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(
        dest="db_command", metavar="ACTION", required=True, parser_class=_Parser
    )
    for name, text in (
        ("upgrade", "bring the database schema up to date"),
        ("current", "print the database's schema revision"),
        ("path", "print which database labbench would open"),
    ):
        _add_db_option(db_commands.add_parser(name, help=text))
    ports = commands.add_parser("ports", help="list serial ports")
    ports.add_argument("--json", action="store_true", help="print a JSON list")

    mock = commands.add_parser(
        "mock-rig", help="serve a simulated rig on a pseudo-terminal (prints its path first)"
    )
    mock.add_argument(
        "--scenario",
        default="nominal",
        help="nominal, rail-droop, overtemp, noisy, disconnect, garbage, slow-rail; "
        "parameters as SCENARIO?key=value&...",
    )
    mock.add_argument(
        "--rate", type=float, help="telemetry lines per second (0.1 to 20000; default 100)"
    )
    mock.add_argument("--seed", type=int, help="random seed (default 0)")
    mock.add_argument(
        "--slots", type=int, help="serve a sled of this many chips (1 to 64), channels name[slot]"
    )
    mock.add_argument(
        "--slot", type=int, help="aim the scenario's fault at this chip of the sled only"
    )
    mock.add_argument(
        "--link", help="path of the symlink to create (default: a new temporary folder)"
    )
    mock.add_argument(
        "--duration", type=float, help="stop after this many seconds (default: until interrupted)"
    )

    rec = commands.add_parser("record", help="record telemetry into a run without a plan")
    rec.add_argument("--device", required=True, help="serial port, pyserial URL or mock://SCENARIO")
    rec.add_argument(
        "--dut", required=True, metavar="SERIAL", help="serial number of the sled or chip"
    )
    rec.add_argument("--duration", required=True, type=float, metavar="S", help="seconds to record")
    rec.add_argument("--profile", help="rig profile name or .toml path (default: default)")
    rec.add_argument(
        "--new-dut", choices=("sled", "chip"), help="register the DUT as this kind if it is unknown"
    )
    rec.add_argument("--operator", default=os.environ.get("USER", ""))
    rec.add_argument("--station", help="station name (default: this host's name)")
    rec.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    _add_db_option(rec)

    run = commands.add_parser("run", help="run a test plan headless")
    run.add_argument("--plan", required=True, metavar="FILE", help="plan file (TOML)")
    run.add_argument(
        "--dut", required=True, metavar="SERIAL", help="serial number of the sled or chip"
    )
    run.add_argument("--device", required=True, help="serial port, pyserial URL or mock://SCENARIO")
    run.add_argument("--profile", help="rig profile name or .toml path (default: default)")
    run.add_argument("--operator", default=os.environ.get("USER", ""))
    run.add_argument("--station", help="station name (default: this host's name)")
    run.add_argument(
        "--manual",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="value of a manual entry of the plan (repeatable)",
    )
    run.add_argument(
        "--new-dut", choices=("sled", "chip"), help="register the DUT as this kind if it is unknown"
    )
    run.add_argument(
        "--json", action="store_true", help="print one JSON object instead of the summary"
    )
    _add_db_option(run)

    plan = commands.add_parser("plan", help="test plans")
    plan_commands = plan.add_subparsers(
        dest="plan_command", metavar="ACTION", required=True, parser_class=_Parser
    )
    check = plan_commands.add_parser("check", help="validate a plan file")
    check.add_argument("file", metavar="FILE")

    from labbench import cli_export

    cli_export.add_parser(commands, _add_db_option)

    runs = commands.add_parser("runs", help="list runs")
    runs.add_argument("--dut", metavar="SERIAL")
    runs.add_argument("--plan", metavar="NAME")
    runs.add_argument(
        "--verdict",
        metavar="STATUS",
        help="passed, marginal, failed, error, aborted, interrupted, recorded, running",
    )
    runs.add_argument(
        "--since", metavar="DATE", help="ISO date or time (UTC unless it says otherwise)"
    )
    runs.add_argument("--csv", metavar="FILE", help="write one row per run to FILE")
    runs.add_argument("--json", action="store_true", help="print a JSON list")
    _add_db_option(runs)

    rep = commands.add_parser("reparse", help="rebuild a run's telemetry from its raw bytes")
    rep.add_argument("run_id", type=int, metavar="RUN_ID")
    rep.add_argument("--profile", required=True, help="rig profile name or .toml path")
    rep.add_argument(
        "--user", default=os.environ.get("USER", "") or "unknown", help="who does it (audit trail)"
    )
    rep.add_argument("--reason", default="", help="why (audit trail)")
    _add_db_option(rep)

    from labbench import cli_dut, cli_stats

    cli_dut.add_parser(commands, _add_db_option)
    cli_stats.add_parser(commands, _add_db_option)
    return parser


def _db_target(args: argparse.Namespace) -> str | None:
    return getattr(args, "db", None)


def _cmd_db(args: argparse.Namespace) -> int:
    from labbench.storage import engine

    if args.db_command == "path":
        url = engine.resolve_url(_db_target(args))
        print(
            url.database
            if url.get_backend_name() == "sqlite"
            else url.render_as_string(hide_password=True)
        )
        return EXIT_OK
    if args.db_command == "current":
        db = engine.open_database(_db_target(args), migrate=False)
        try:
            revision = db.schema_revision()
            head = engine.head_revision()
            state = (
                "up to date"
                if revision == head
                else f"labbench {__version__} upgrades it to {head}"
            )
            print(f"{revision or '(empty)'} ({state})")
        finally:
            db.dispose()
        return EXIT_OK
    db = engine.open_database(_db_target(args))
    try:
        print(f"{db.describe()} is at schema revision {db.schema_revision()}")
    finally:
        db.dispose()
    return EXIT_OK


def load_profile_option(name: str | None):
    from labbench.protocols.profile import ProfileError, load_profile

    try:
        return load_profile(name)
    except ProfileError as exc:
        raise UsageError(str(exc)) from None


def _cmd_ports(args: argparse.Namespace) -> int:
    from labbench.devices.transport import list_ports

    ports = list_ports()
    if args.json:
        print(
            json.dumps(
                [{"device": d, "description": desc, "hwid": hwid} for d, desc, hwid in ports]
            )
        )
        return EXIT_OK
    if not ports:
        print("no serial ports found (simulated rigs: mock://nominal, mock://rail-droop, ...)")
    for device, description, hwid in ports:
        print(f"{device}\t{description}\t{hwid}")
    return EXIT_OK


def _cmd_mock_rig(args: argparse.Namespace) -> int:
    from pathlib import Path

    from labbench.devices.pty_rig import serve
    from labbench.devices.simulation import RigParams, ScenarioError

    device = args.scenario
    for key in ("rate", "slots", "slot"):  # as URL parameters: one place checks them all
        if getattr(args, key) is not None:
            device += f"{'&' if '?' in device else '?'}{key}={getattr(args, key)}"
    try:
        params = RigParams.from_device(device)
        if args.seed is not None:
            params.seed = args.seed
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    def _ready(link: Path) -> None:
        print(link, flush=True)

    sent = serve(
        params,
        Path(args.link) if args.link else None,
        stop=stop,
        ready=_ready,
        duration_s=args.duration,
    )
    print(f"mock rig stopped after {sent} telemetry lines", file=sys.stderr)
    return EXIT_OK


def open_db(args: argparse.Namespace):
    from labbench.storage import open_database
    from labbench.storage.runs import mark_interrupted_runs

    db = open_database(_db_target(args))
    if db.read_only:
        return db  # runs left running stay so until labbench may write the database
    for run_id in mark_interrupted_runs(db):
        print(
            f"labbench: run {run_id} was left running by a process that died; marked interrupted "
            "(data kept)",
            file=sys.stderr,
        )
    return db


def _cmd_record(args: argparse.Namespace) -> int:
    from labbench.cli_run import record_command

    return record_command(args)


def _cmd_reparse(args: argparse.Namespace) -> int:
    from labbench.cli_run import reparse_command

    return reparse_command(args)


def _cmd_run(args: argparse.Namespace) -> int:
    from labbench.cli_run import run_command

    return run_command(args)


def _cmd_plan(args: argparse.Namespace) -> int:
    from labbench.runs.plan import PlanError, load_plan

    try:
        plan = load_plan(args.file)
    except PlanError as exc:
        raise UsageError(str(exc)) from None
    items = sum(
        len(s.limits) + len(s.measures) + len(s.results) + len(s.manuals) + len(s.timings)
        for s in plan.steps
    )
    print(
        f"{args.file}: plan {plan.name!r} version {plan.version} for a {plan.dut_kind}: "
        f"{len(plan.steps)} steps, {items} judged items, {plan.duration_s:g} s"
        + "".join(
            f"; sweep {w.name!r}: {w.size} points"
            f" ({w.x.name}" + (f" x {w.y.name}" if w.y else "") + f", {w.order})"
            for w in plan.sweeps
        )
        + (
            f"; judged per chip: {', '.join(sorted(plan.per_slot_channels))}"
            if plan.per_slot_channels
            else ""
        )
    )
    return EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    from labbench import cli_export

    return cli_export.run(args, open_db)


def _cmd_runs(args: argparse.Namespace) -> int:
    from labbench.export.csv_report import (
        RUN_LIST_COLUMNS,
        ExportError,
        run_list_rows,
        write_run_list,
    )

    since = None
    if args.since:
        import datetime as dt

        try:
            since = dt.datetime.fromisoformat(args.since)
        except ValueError:
            raise UsageError(
                f"--since {args.since!r} is not an ISO date or time (e.g. 2026-11-25 or "
                "2026-11-25T14:00)."
            ) from None
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
    db = open_db(args)
    try:
        filters = {"dut": args.dut, "plan": args.plan, "verdict": args.verdict, "since": since}
        if args.csv:
            count = write_run_list(db, args.csv, **filters)
            print(f"{count} runs written to {args.csv}")
            return EXIT_OK
        rows = list(run_list_rows(db, **filters))
    except ExportError as exc:
        raise UsageError(str(exc)) from None
    finally:
        db.dispose()
    if args.json:
        print(
            json.dumps([dict(zip(RUN_LIST_COLUMNS, row, strict=True)) for row in rows], default=str)
        )
    else:
        for row in rows:
            r = dict(zip(RUN_LIST_COLUMNS, row, strict=True))
            # A chip's row of a sled run it sat in: its slot and its own verdict there.
            chip = (
                ""
                if r["slot"] is None
                else f"  slot {r['slot']}: chip {r['chip_verdict'] or 'not judged per chip'}"
            )
            print(
                f"{r['run_id']:>6}  {r['start_utc'][:19]}  {r['verdict']:<11} {r['dut']:<20} "
                f"{r['plan'] or '-'} {r['plan_version'] or ''}{chip}"
            )
    return EXIT_OK


def _cmd_in_module(args: argparse.Namespace) -> int:
    """``dut`` and ``stats`` live in modules of their own (``cli_dut``, ``cli_stats``)."""
    from labbench import cli_dut, cli_stats

    return {"dut": cli_dut, "stats": cli_stats}[args.command].run(args, open_db)


def _cmd_gui(args: argparse.Namespace) -> int:
    if args.smoke_test:
        try:
            from labbench.ui.smoke import run_smoke_test
        except ImportError as exc:
            print(f"smoke test: FAILED, Qt could not be loaded ({exc})", file=sys.stderr)
            return EXIT_FAILED
        return run_smoke_test()
    try:
        from labbench.ui.app import run_app
    except ImportError as exc:
        raise UsageError(
            f"The desktop app cannot start because Qt could not be loaded ({exc})."
        ) from None
    return run_app(db_target=_db_target(args), demo=args.demo)


# Commands that record a run: a storage fault there ends the run (exit 3); elsewhere the
# command could not use its database (exit 2).
_RUN_COMMANDS = ("record", "run")


def not_an_interrupt(record: logging.LogRecord) -> bool:
    """Drop a log record that carries a Ctrl-C: SQLAlchemy's pool logs, with its traceback, a
    KeyboardInterrupt that lands while it closes a connection, then re-raises it, and the
    user is told "interrupted" once."""
    info = record.exc_info
    return not (info and info[0] is not None and issubclass(info[0], KeyboardInterrupt))


def main(argv: Sequence[str] | None = None) -> int:
    from labbench.storage.engine import DatabaseError, DatabaseFault, StorageError, first_line

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(not_an_interrupt)
    if not args.verbose:
        # psycopg warns, several lines each, about connections a server restart cut; the
        # storage link already says it in one line and retries.
        logging.getLogger("psycopg").setLevel(logging.ERROR)
    handlers = {
        "db": _cmd_db,
        "ports": _cmd_ports,
        "mock-rig": _cmd_mock_rig,
        "record": _cmd_record,
        "reparse": _cmd_reparse,
        "run": _cmd_run,
        "plan": _cmd_plan,
        "export": _cmd_export,
        "runs": _cmd_runs,
        "dut": _cmd_in_module,
        "stats": _cmd_in_module,
        None: _cmd_gui,
    }
    try:
        return handlers[args.command](args)
    except (UsageError, DatabaseError) as exc:
        print(f"labbench: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StorageError as exc:
        print(f"labbench: {exc}", file=sys.stderr)
        return EXIT_RUN_ERROR if args.command in _RUN_COMMANDS else EXIT_USAGE
    except DatabaseFault as exc:
        log.debug("database failure", exc_info=True)
        what = (
            "the run could not be recorded"
            if args.command in _RUN_COMMANDS
            else "the command could not use it"
        )
        print(f"labbench: the database failed and {what}: {first_line(exc)}.", file=sys.stderr)
        return EXIT_RUN_ERROR if args.command in _RUN_COMMANDS else EXIT_USAGE
    except KeyboardInterrupt:
        print("labbench: interrupted", file=sys.stderr)
        return EXIT_RUN_ERROR
