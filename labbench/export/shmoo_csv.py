"""``labbench export RUN --shmoo FILE``: a run's shmoo grid as CSV (docs/architecture.md §4,
Sweeps; cells as in §6).

For each sweep step of the run, in the order they ran: a ``# sweep: NAME`` line, a header of
the x values (its first cell ``y \\ x`` with the axis names), one row per y value ascending
with a cell per x (``P`` passed, ``M`` marginal, ``F`` failed, ``E`` error, ``-`` not run),
then a blank row and ``y, vmin x, holes`` with Vmin and the holes' x values per row.  Several
sweeps are separated by a blank line.  ``pandas.read_csv(path, comment="#")`` reads a single
sweep's grid (its first block) column for column.
"""

from __future__ import annotations

import csv
from pathlib import Path

from labbench.criteria.shmoo import shmoo_csv_rows
from labbench.export.cells import preamble_text, safe_text
from labbench.export.csv_report import ExportError
from labbench.export.run_context import open_output
from labbench.storage import Database
from labbench.storage.sweeps import RunSweep, run_sweeps

__all__ = ["run_sweeps_or_error", "write_shmoo"]


def run_sweeps_or_error(db: Database, run_id: int) -> list[RunSweep]:
    """The run's sweeps; a run without one is an :class:`ExportError` naming it."""
    sweeps = run_sweeps(db, run_id)
    if not sweeps:
        raise ExportError(
            f"Run {run_id} has no sweep points stored (its plan has no sweep step, or it was "
            f"interrupted), so it has no shmoo to write"
        )
    return sweeps


def _escaped(rows: list[list[str]]) -> list[list[str]]:
    """The rows with the cells that hold names (the corner, the Vmin block's header) written
    as safe text; numbers and the letters P/M/F/E/- are written as they are (a ``-`` cell
    means "not run", not the start of a formula)."""
    vmin_header = rows.index([]) + 1
    out = []
    for k, row in enumerate(rows):
        if k == 0:
            out.append([safe_text(row[0]), *row[1:]])
        elif k == vmin_header:
            out.append([safe_text(cell) for cell in row])
        else:
            out.append(row)
    return out


def write_shmoo(db: Database, run_id: int, path: str | Path) -> int:
    """Write the run's shmoo grids; returns the number of points written."""
    sweeps = run_sweeps_or_error(db, run_id)
    with open_output(path) as f:
        writer = csv.writer(f)
        for k, sweep in enumerate(sweeps):
            if k:
                f.write("\n")
            f.write(f"# sweep: {preamble_text(sweep.name)}\n")
            writer.writerows(_escaped(shmoo_csv_rows(sweep.shmoo)))
    return sum(len(sweep.shmoo.points) for sweep in sweeps)
