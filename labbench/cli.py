"""The ``labbench`` command (DESIGN.md §5).

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
import socket
import sys
import threading
from typing import Optional, Sequence

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
        help="database: a SQLite file path or a SQLAlchemy URL (default: $LABBENCH_DB, else the user data directory)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="labbench", description="Silicon bring-up workbench.")
    parser.add_argument("--version", action="version", version=f"labbench {__version__}")
    parser.add_argument("--demo", action="store_true", help="open the app on a scratch database with example data")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    _add_db_option(parser, top_level=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True, parser_class=_Parser)
    for name, text in (
        ("upgrade", "bring the database schema up to date"),
        ("current", "print the database's schema revision"),
        ("path", "print which database labbench would open"),
    ):
        _add_db_option(db_commands.add_parser(name, help=text))
    ports = commands.add_parser("ports", help="list serial ports")
    ports.add_argument("--json", action="store_true", help="print a JSON list")

    mock = commands.add_parser("mock-rig", help="serve a simulated rig on a pseudo-terminal (prints its path first)")
    mock.add_argument("--scenario", default="nominal", help="nominal, rail-droop, overtemp, noisy, disconnect, garbage; parameters as SCENARIO?key=value&...")
    mock.add_argument("--rate", type=float, help="telemetry lines per second (0.1 to 20000; default 100)")
    mock.add_argument("--seed", type=int, help="random seed (default 0)")
    mock.add_argument("--link", help="path of the symlink to create (default: a new temporary folder)")
    mock.add_argument("--duration", type=float, help="stop after this many seconds (default: until interrupted)")

    rec = commands.add_parser("record", help="record telemetry into a run without a plan")
    rec.add_argument("--device", required=True, help="serial port, pyserial URL or mock://SCENARIO")
    rec.add_argument("--dut", required=True, metavar="SERIAL", help="serial number of the sled or chip")
    rec.add_argument("--duration", required=True, type=float, metavar="S", help="seconds to record")
    rec.add_argument("--profile", help="rig profile name or .toml path (default: default)")
    rec.add_argument("--new-dut", choices=("sled", "chip"), help="register the DUT as this kind if it is unknown")
    rec.add_argument("--operator", default=os.environ.get("USER", ""))
    rec.add_argument("--station", help="station name (default: this host's name)")
    rec.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    _add_db_option(rec)

    rep = commands.add_parser("reparse", help="rebuild a run's telemetry from its raw bytes")
    rep.add_argument("run_id", type=int, metavar="RUN_ID")
    rep.add_argument("--profile", required=True, help="rig profile name or .toml path")
    rep.add_argument("--user", default=os.environ.get("USER", "") or "unknown", help="who does it (audit trail)")
    rep.add_argument("--reason", default="", help="why (audit trail)")
    _add_db_option(rep)
    return parser


def _db_target(args: argparse.Namespace) -> Optional[str]:
    return getattr(args, "db", None)


def _cmd_db(args: argparse.Namespace) -> int:
    from labbench.storage import engine

    if args.db_command == "path":
        url = engine.resolve_url(_db_target(args))
        print(url.database if url.get_backend_name() == "sqlite" else url.render_as_string(hide_password=True))
        return EXIT_OK
    if args.db_command == "current":
        db = engine.open_database(_db_target(args), migrate=False)
        try:
            revision = engine.current_revision(db.engine)
            head = engine.head_revision()
            state = "up to date" if revision == head else f"labbench {__version__} upgrades it to {head}"
            print(f"{revision or '(empty)'} ({state})")
        finally:
            db.dispose()
        return EXIT_OK
    db = engine.open_database(_db_target(args))
    try:
        print(f"{db.describe()} is at schema revision {engine.current_revision(db.engine)}")
    finally:
        db.dispose()
    return EXIT_OK


def _load_profile(name: Optional[str]):
    from labbench.protocols.profile import ProfileError, load_profile

    try:
        return load_profile(name)
    except ProfileError as exc:
        raise UsageError(str(exc)) from None


def _cmd_ports(args: argparse.Namespace) -> int:
    from labbench.devices.transport import list_ports

    ports = list_ports()
    if args.json:
        print(json.dumps([{"device": d, "description": desc, "hwid": hwid} for d, desc, hwid in ports]))
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

    try:
        params = RigParams.from_device(args.scenario)
        if args.rate is not None:
            params = RigParams.from_device(f"{args.scenario}{'&' if '?' in args.scenario else '?'}rate={args.rate}")
        if args.seed is not None:
            params.seed = args.seed
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    def _ready(link: Path) -> None:
        print(link, flush=True)

    sent = serve(params, Path(args.link) if args.link else None, stop=stop, ready=_ready, duration_s=args.duration)
    print(f"mock rig stopped after {sent} telemetry lines", file=sys.stderr)
    return EXIT_OK


def _open_db(args: argparse.Namespace):
    from labbench.storage import open_database

    return open_database(_db_target(args))


def _cmd_record(args: argparse.Namespace) -> int:
    from labbench.acquisition.record import record
    from labbench.devices.transport import DeviceError
    from labbench.storage import repository as repo

    if not args.duration > 0:
        raise UsageError(f"--duration must be a positive number of seconds, not {args.duration}.")
    profile = _load_profile(args.profile)
    db = _open_db(args)
    try:
        dut = repo.find_dut(db, args.dut)
        if dut is None:
            if not args.new_dut:
                raise UsageError(f"The DUT {args.dut!r} is not registered; add --new-dut chip (or sled) to register it.")
            dut = repo.add_dut(db, args.new_dut, args.dut)
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        try:
            summary = record(
                db, device=args.device, dut=dut, duration_s=args.duration, profile=profile,
                operator=args.operator, station=args.station or socket.gethostname(), stop=stop,
            )
        except DeviceError as exc:
            raise UsageError(str(exc)) from None
    finally:
        db.dispose()
    if args.json:
        print(json.dumps(summary.__dict__))
    else:
        print(
            f"run {summary.run_id} {summary.status}: {summary.samples} samples from {summary.lines} lines, "
            f"{summary.malformed} malformed, {summary.console} console lines"
            + (f", {summary.disconnects} disconnects, {summary.reconnects} reconnects" if summary.disconnects else "")
        )
    return EXIT_OK if summary.status == "recorded" else EXIT_RUN_ERROR


def _cmd_reparse(args: argparse.Namespace) -> int:
    from labbench.acquisition.record import reparse
    from labbench.storage import repository as repo

    profile = _load_profile(args.profile)
    db = _open_db(args)
    try:
        summary = reparse(db, args.run_id, profile, user=args.user, reason=args.reason)
    except repo.RecordError as exc:
        raise UsageError(str(exc)) from None
    finally:
        db.dispose()
    print(
        f"run {summary.run_id} re-parsed with profile {profile.name}: {summary.samples} samples in "
        f"{summary.channels} channels, {summary.malformed} malformed, {summary.console} console lines"
    )
    return EXIT_OK


def _cmd_gui(args: argparse.Namespace) -> int:
    try:
        from labbench.ui.app import run_app
    except ImportError as exc:
        raise UsageError(f"The desktop app cannot start because Qt could not be loaded ({exc}).") from None
    return run_app(db_target=_db_target(args), demo=args.demo)


def main(argv: Optional[Sequence[str]] = None) -> int:
    from labbench.storage.engine import DatabaseError

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handlers = {
        "db": _cmd_db,
        "ports": _cmd_ports,
        "mock-rig": _cmd_mock_rig,
        "record": _cmd_record,
        "reparse": _cmd_reparse,
        None: _cmd_gui,
    }
    try:
        return handlers[args.command](args)
    except (UsageError, DatabaseError) as exc:
        print(f"labbench: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("labbench: interrupted", file=sys.stderr)
        return EXIT_RUN_ERROR
