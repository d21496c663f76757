"""``labbench export RUN_ID``: any subset of a run's files (docs/architecture.md §5, §6, §9).

``--report`` (CSV run report), ``--telemetry`` (CSV, ``--layout wide|long``), ``--junit``
(JUnit XML), ``--json`` (the JSON record), ``--html`` (the self-contained HTML report) and
``--shmoo`` (the grid of a run's sweep as CSV; a run without one is exit 2), at least one of
them. The run is looked up
before any file is written; an unknown run, a file that cannot be written or two formats
aimed at one file are one sentence and exit code 2.

``--html`` is the one format that draws: its plots are rendered offscreen by
``labbench.ui.report_plots`` and a sweep's grid by ``labbench.ui.shmoo_view``, imported only
when ``--html`` is asked for (with
``QT_QPA_PLATFORM=offscreen`` unless the caller chose a platform), so every other export, and
``labbench run``, never loads Qt.
"""

from __future__ import annotations

import argparse
import os

from labbench.cli import EXIT_OK, UsageError

# (option, attribute, what it writes), in the order the files are written.
OUTPUTS = (
    ("--report", "report", "run report CSV"),
    ("--telemetry", "telemetry", "telemetry CSV"),
    ("--junit", "junit", "JUnit XML, one testsuite with a testcase per judged item"),
    ("--json", "json", "JSON record (docs/record-schema.json)"),
    ("--html", "html", "HTML report: one self-contained page with plots, for people"),
    ("--shmoo", "shmoo", "shmoo grid CSV of the run's sweep: rows y, columns x, P/M/F/E/- cells"),
)


def add_parser(commands, add_db_option) -> None:
    """Register ``export`` on the ``labbench`` parser."""
    exp = commands.add_parser(
        "export", help="write a run's report, telemetry, JUnit XML, JSON record or HTML report"
    )
    exp.add_argument("run_id", type=int, metavar="RUN_ID")
    for option, _, text in OUTPUTS:
        exp.add_argument(option, metavar="FILE", help=text)
    exp.add_argument(
        "--layout",
        choices=("wide", "long"),
        default="wide",
        help="telemetry layout (default: wide)",
    )
    add_db_option(exp)


def _targets(args: argparse.Namespace) -> list[tuple[str, str]]:
    targets = [(option, getattr(args, key)) for option, key, _ in OUTPUTS if getattr(args, key)]
    if not targets:
        raise UsageError(
            "Name at least one file to write: --report, --telemetry, --junit, --json, --html "
            "or --shmoo."
        )
    seen: dict[str, str] = {}
    for option, path in targets:
        same = seen.get(os.path.abspath(path))
        if same:
            raise UsageError(f"{same} and {option} name the same file {path}.")
        seen[os.path.abspath(path)] = option
    return targets


def _plot_renderer():
    """The HTML report's renderers, of plots and of a sweep's shmoo grid: Qt, offscreen,
    loaded only now."""
    from labbench.export.csv_report import ExportError

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from labbench.ui.report_plots import render_plots
        from labbench.ui.shmoo_view import render_shmoo_png
    except ImportError as exc:  # a machine without Qt's libraries (libEGL, libxkbcommon...)
        raise ExportError(f"Cannot draw the HTML report's plots: {exc}.") from None
    return render_plots, render_shmoo_png


def run(args: argparse.Namespace, open_db) -> int:
    from labbench.export.csv_report import ExportError, write_report, write_telemetry
    from labbench.export.html_report import write_html_report
    from labbench.export.json_record import write_json_record
    from labbench.export.junit import write_junit
    from labbench.export.run_context import load_run
    from labbench.export.shmoo_csv import run_sweeps_or_error, write_shmoo

    targets = _targets(args)
    db = open_db(args)
    written: list[str] = []
    try:
        load_run(db, args.run_id)  # an unknown run writes nothing
        if args.shmoo:  # nor does a shmoo asked of a run without a sweep
            run_sweeps_or_error(db, args.run_id)
        for option, path in targets:
            if option == "--report":
                write_report(db, args.run_id, path)
                written.append(f"report {path}")
            elif option == "--telemetry":
                samples = write_telemetry(db, args.run_id, path, args.layout)
                written.append(f"telemetry {path} ({samples} samples, {args.layout})")
            elif option == "--junit":
                totals = write_junit(db, args.run_id, path)
                written.append(
                    f"junit {path} ({totals['tests']} tests, {totals['failures']} failed, "
                    f"{totals['errors']} in error)"
                )
            elif option == "--json":
                items = write_json_record(db, args.run_id, path)
                written.append(f"json {path} ({items} items)")
            elif option == "--shmoo":
                points = write_shmoo(db, args.run_id, path)
                written.append(f"shmoo {path} ({points} points)")
            else:
                plots = write_html_report(db, args.run_id, path, *_plot_renderer())
                written.append(f"html {path} ({plots} plots)")
    except ExportError as exc:
        done = f" (already written: {', '.join(written)})" if written else ""
        raise UsageError(f"{str(exc).rstrip('.')}{done}.") from None
    finally:
        db.dispose()
    print(f"run {args.run_id}: " + ", ".join(written))
    return EXIT_OK
