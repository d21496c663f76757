"""The ``labbench`` command (DESIGN.md §5).

Only argument handling and printing live here; the work is done by the layers below, so
the GUI can call the same functions.  Exit codes: 0 passed/marginal/ok, 1 failed, 2 bad
usage or bad input, 3 run error, aborted or interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
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
    handlers = {"db": _cmd_db, None: _cmd_gui}
    try:
        return handlers[args.command](args)
    except (UsageError, DatabaseError) as exc:
        print(f"labbench: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("labbench: interrupted", file=sys.stderr)
        return EXIT_RUN_ERROR
