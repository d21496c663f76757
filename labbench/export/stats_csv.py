"""Lab analytics tables as rows: the one mapping from the analytics records to the columns the
command line prints as JSON, shows as a table and writes as CSV (docs/architecture.md §6 and
§10), so that every output of a table has the same columns in the same order.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from labbench.export.cells import number, safe_text
from labbench.records import CapabilityRow, ParetoRow, YieldRow

__all__ = [
    "CAPABILITY_COLUMNS",
    "PARETO_COLUMNS",
    "YIELD_COLUMNS",
    "capability_rows",
    "pareto_rows",
    "write_stats_csv",
    "yield_rows",
]

YIELD_COLUMNS = (
    "group", "units", "fpy", "lpy", "station_losses", "first_passed", "last_passed", "attempts",
)  # fmt: skip
CAPABILITY_COLUMNS = (
    "step", "name", "channel", "unit", "n", "mean", "sigma_within", "sigma_overall", "low",
    "high", "cp", "cpk", "pp", "ppk", "flagged", "group",
)  # fmt: skip
PARETO_COLUMNS = ("step", "name", "count", "cumulative_pct")


def yield_rows(records: Sequence[YieldRow]) -> list[dict]:
    return [
        {
            "group": r.group,
            "units": r.units,
            "fpy": r.fpy,
            "lpy": r.lpy,
            "station_losses": r.station_losses,
            "first_passed": r.first_passed,
            "last_passed": r.last_passed,
            "attempts": r.attempts,
        }
        for r in records
    ]


def capability_rows(records: Sequence[CapabilityRow]) -> list[dict]:
    return [
        {
            "step": r.step,
            "name": r.name,
            "channel": r.channel,
            "unit": r.unit,
            "n": r.n,
            "mean": r.mean,
            "sigma_within": r.sigma_within,
            "sigma_overall": r.sigma_overall,
            "low": r.low,
            "high": r.high,
            "cp": r.cp,
            "cpk": r.cpk,
            "pp": r.pp,
            "ppk": r.ppk,
            "flagged": r.flagged,
            "group": r.group,
        }
        for r in records
    ]


def pareto_rows(records: Sequence[ParetoRow]) -> list[dict]:
    return [
        {"step": r.step, "name": r.name, "count": r.count, "cumulative_pct": r.cumulative_pct}
        for r in records
    ]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number(value)
    return safe_text(value)


def write_stats_csv(path: str | Path, columns: Sequence[str], rows: Sequence[dict]) -> int:
    """Write the rows under a header of ``columns``: full-precision numbers, empty cells for
    figures that cannot be had, text cells that no reader misreads.  Returns the row count.
    Raises OSError when the file cannot be written."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows([_cell(row[c]) for c in columns] for row in rows)
    return len(rows)
