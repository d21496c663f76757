"""The Analytics panel's tables (docs/architecture.md §10): yield, capability and Pareto rows as
read-only Qt models, the capability rows below Cpk 1.33 flagged in the theme's marginal colour
and with the word, and each table written as CSV through the columns of
:mod:`labbench.export.stats_csv`, so the panel's file and ``labbench stats --csv`` agree."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from labbench.export import stats_csv
from labbench.records import CapabilityRow, ParetoRow, YieldRow
from labbench.ui.theme import LIGHT, Theme, verdict_colors

log = logging.getLogger(__name__)

# Below this Cpk an item has less margin than the lab asks for (§10).
CPK_FLAG = 1.33


def percent(fraction: float | None) -> str:
    return "—" if fraction is None else f"{100 * fraction:.1f} %"


def figure(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def quantity(value: float | None) -> str:
    """A measured value with its significant digits (volts, amps and milliseconds alike)."""
    return "—" if value is None else f"{value:.4g}"


def limits_text(low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return "no limits"
    if low is None:
        return f"≤ {high:g}"
    if high is None:
        return f"≥ {low:g}"
    return f"{low:g} … {high:g}"


def yield_cells(row: YieldRow) -> tuple:
    return (
        str(row.group),
        str(row.units),
        percent(row.fpy),
        percent(row.lpy),
        str(row.attempts),
        str(row.station_losses),
    )


def capability_verdict(row: CapabilityRow) -> str:
    """The word beside the colour: what the Cpk says about the item's margin."""
    if row.cpk is None:
        return "no Cpk" if row.n >= 2 else "n < 2"
    return "LOW Cpk" if row.flagged else "capable"


def capability_cells(row: CapabilityRow) -> tuple:
    return (
        row.step,
        row.name,
        figure(row.cpk),
        capability_verdict(row),
        str(row.n),
        quantity(row.mean),
        quantity(row.sigma_within),
        limits_text(row.low, row.high),
        row.unit,
        figure(row.cp),
        figure(row.ppk),
    )


def pareto_cells(row: ParetoRow) -> tuple:
    return (row.step, row.name, str(row.count), f"{row.cumulative_pct:.1f} %")


YIELD_HEADERS = ("Group", "Units", "FPY", "LPY", "Attempts", "Station losses")
# Cpk and its word next to the item: they stay in sight when the panel is narrow.
CAPABILITY_HEADERS = (
    "Step", "Item", "Cpk", "Margin", "n", "Mean", "σ within", "Limits", "Unit", "Cp", "Ppk",
)  # fmt: skip
PARETO_HEADERS = ("Step", "First failing item", "Failed runs", "Cumulative")


class StatsModel(QAbstractTableModel):
    """Rows of one analytics table, shown as text; ``flag(row)`` names the verdict colour of
    a row that needs a look, painted on the ``flagged`` columns (one of them carries the
    word)."""

    def __init__(
        self,
        headers: Sequence[str],
        cells: Callable[[object], tuple],
        flag: Callable[[object], str | None] = lambda _row: None,
        theme: Theme = LIGHT,
        parent=None,
        *,
        flagged: tuple[int, ...] = (),
    ):
        super().__init__(parent)
        self.flagged = flagged
        self.headers, self.cells, self.flag, self.theme = tuple(headers), cells, flag, theme
        self.rows: list = []
        self._shown: list[tuple] = []

    def set_rows(self, rows: Sequence) -> None:
        self.beginResetModel()  # a new query: a different table altogether
        self.rows = list(rows)
        self._shown = [self.cells(r) for r in self.rows]
        self.endResetModel()

    def text(self, row: int, column: int) -> str:
        return self._shown[row][column]

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._shown[index.row()][index.column()]
        if (
            role == Qt.ItemDataRole.TextAlignmentRole
            and index.column() > 1
            and (index.column() not in self.flagged)
        ):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole):
            verdict = self.flag(self.rows[index.row()])
            if verdict is None or index.column() not in self.flagged:
                return None  # the figure and the word are coloured, the names stay legible
            bg, fg = verdict_colors(self.theme, verdict)
            return bg if role == Qt.ItemDataRole.BackgroundRole else fg
        return None


def capability_flag(row: CapabilityRow) -> str | None:
    """Cpk below 1.33 in the failed colour when it is below 1 (values outside the limits
    are expected), in the marginal colour otherwise."""
    if not row.flagged:
        return None
    return "failed" if row.cpk is not None and row.cpk < 1.0 else "marginal"


def yield_model(theme: Theme) -> StatsModel:
    return StatsModel(YIELD_HEADERS, yield_cells, theme=theme)


def capability_model(theme: Theme) -> StatsModel:
    return StatsModel(CAPABILITY_HEADERS, capability_cells, capability_flag, theme, flagged=(2, 3))


def pareto_model(theme: Theme) -> StatsModel:
    return StatsModel(PARETO_HEADERS, pareto_cells, theme=theme)


# What each table writes: its CSV columns and how its records become rows (stats_csv).
CSV_TABLES = {
    "yield": (stats_csv.YIELD_COLUMNS, stats_csv.yield_rows),
    "capability": (stats_csv.CAPABILITY_COLUMNS, stats_csv.capability_rows),
    "pareto": (stats_csv.PARETO_COLUMNS, stats_csv.pareto_rows),
}


def export_table(parent: QWidget, table: str, records: Sequence, suggested: str) -> Path | None:
    """Ask where, then write the table as CSV; the path written, or None (cancelled, failed).
    The file is a few hundred rows at most: written on the GUI thread."""
    if not records:
        QMessageBox.information(parent, "Nothing to export", f"The {table} table has no rows.")
        return None
    path, _ = QFileDialog.getSaveFileName(
        parent, f"Export the {table} table", suggested, "CSV files (*.csv)"
    )
    if not path:
        return None
    columns, rows = CSV_TABLES[table]
    try:
        stats_csv.write_stats_csv(path, columns, rows(records))
    except OSError as exc:
        QMessageBox.warning(parent, "Export failed", f"{path} could not be written: {exc}")
        return None
    log.info("wrote the %s table to %s", table, path)
    return Path(path)
