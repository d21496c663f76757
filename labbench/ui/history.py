"""History: every run in a lazy, sortable, filterable table; a stored run's plots, violations,
results, events and console; notes added as audit entries.

Database reads happen on a worker thread (``Loader``); the widgets only receive plain rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from labbench.records import RUN_STATUSES, RunRow
from labbench.storage import Database
from labbench.storage import history as history_store
from labbench.ui.loader import Loader
from labbench.ui.run_detail import RunDetail
from labbench.ui.theme import LIGHT, Theme, verdict_colors

log = logging.getLogger(__name__)

PAGE = 200
# "Export these…" reads the ids of every filtered run in pages this big.
ALL_PAGE = 5000
HEADERS = ("Run", "Start (UTC)", "DUT", "Kind", "Plan", "Verdict", "Station", "Operator", "Samples")
SORT_KEYS = history_store.HISTORY_SORT  # one per column of HEADERS


class HistoryModel(QAbstractTableModel):
    """Pages of runs fetched as the view scrolls (canFetchMore / fetchMore)."""

    loaded = Signal()

    def __init__(self, db: Database, loader: Loader, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.db, self.loader, self.theme = db, loader, theme
        self.rows: list[RunRow] = []
        self.filters: dict = {}
        self.sort_key, self.descending = "id", True
        self._exhausted = False
        self._loading = False
        self._generation = 0

    def reload(self, **filters) -> None:
        self.filters = filters
        self._generation += 1
        self.beginResetModel()  # new filters: a different list altogether
        self.rows = []
        self._exhausted = False
        self._loading = False
        self.endResetModel()
        self.fetchMore(QModelIndex())

    def canFetchMore(self, parent=QModelIndex()) -> bool:
        return not parent.isValid() and not self._exhausted and not self._loading

    def fetchMore(self, parent=QModelIndex()) -> None:
        if self._loading or self._exhausted:
            return
        self._loading = True
        generation, offset, filters = self._generation, len(self.rows), dict(self.filters)
        sort, descending = self.sort_key, self.descending
        self.loader.submit(
            lambda: history_store.query_runs(
                self.db, sort=sort, descending=descending, offset=offset, limit=PAGE, **filters
            ),
            lambda rows: self._on_page(generation, rows),
        )

    def _on_page(self, generation: int, rows) -> None:
        if generation != self._generation:
            return
        self._loading = False
        if isinstance(rows, Exception):
            self._exhausted = True
            return
        if len(rows) < PAGE:
            self._exhausted = True
        if rows:
            self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(rows) - 1)
            self.rows.extend(rows)
            self.endInsertRows()
        self.loaded.emit()

    def sort(self, column: int, order=Qt.SortOrder.DescendingOrder) -> None:
        self.sort_key = SORT_KEYS[column]
        self.descending = order == Qt.SortOrder.DescendingOrder
        self.reload(**self.filters)

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                r.id,
                r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                r.dut_serial,
                r.dut_kind,
                f"{r.plan} v{r.plan_version}" if r.plan else "—",
                r.status.upper(),
                r.station,
                r.operator,
                f"{r.sample_count:,}",
            )[column]
        if column == 5 and role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole):
            bg, fg = verdict_colors(self.theme, r.status)
            return bg if role == Qt.ItemDataRole.BackgroundRole else fg
        return None


class HistoryView(QWidget):
    """Filters on top, the runs table, and the detail of the run opened."""

    run_opened = Signal(int)

    def __init__(self, db: Database, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.db = db
        self.loader = Loader(self)
        self.model = HistoryModel(db, self.loader, theme)
        self.detail = RunDetail(db, self.loader, theme)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find: DUT serial, plan, operator, rig…")
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self.apply_filters)
        self.verdict = QComboBox()
        self.verdict.addItem("Any verdict", "")
        for status in RUN_STATUSES:
            self.verdict.addItem(status, status)
        self.verdict.currentIndexChanged.connect(self.apply_filters)
        self.station = QLineEdit()
        self.station.setPlaceholderText("Station")
        self.station.returnPressed.connect(self.apply_filters)
        self.dut = QLineEdit()
        self.dut.setPlaceholderText("DUT")
        self.dut.returnPressed.connect(self.apply_filters)
        self.plan = QLineEdit()
        self.plan.setPlaceholderText("Plan")
        self.plan.returnPressed.connect(self.apply_filters)
        self.days = QComboBox()
        for label, days in (
            ("Any date", 0),
            ("Last 24 h", 1),
            ("Last 7 days", 7),
            ("Last 30 days", 30),
        ):
            self.days.addItem(label, days)
        self.days.currentIndexChanged.connect(self.apply_filters)
        self.export_filtered = QPushButton("Export these…")
        self.export_filtered.setToolTip(
            "Export every run the filters show (CSV, as labbench export)"
        )
        bar = QHBoxLayout()
        bar.addWidget(self.search, 2)
        bar.addWidget(self.dut, 1)
        bar.addWidget(self.plan, 1)
        bar.addWidget(self.verdict)
        bar.addWidget(self.station, 1)
        bar.addWidget(self.days)
        bar.addWidget(self.export_filtered)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(self._on_open)
        self.table.activated.connect(self._on_open)
        splitter = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(bar)
        top_layout.addWidget(self.table)
        splitter.addWidget(top)
        splitter.addWidget(self.detail)
        splitter.setSizes([260, 520])
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)

    def apply_filters(self) -> None:
        self.model.reload(**self.filters())

    def selected_run_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.model.rows[r].id for r in rows]

    def filters(self) -> dict:
        days = self.days.currentData()
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days) if days else None
        return {
            "text": self.search.text(),
            "dut": self.dut.text(),
            "plan": self.plan.text(),
            "status": self.verdict.currentData(),
            "station": self.station.text().strip(),
            "since": since,
        }

    def filtered_run_ids(self, callback: Callable[[list[int]], None]) -> None:
        """Every run the filters show, not only the pages loaded so far, read on the worker;
        ``callback`` gets the ids (in the table's order) on the GUI thread."""
        filters, sort, descending = (
            dict(self.model.filters),
            self.model.sort_key,
            self.model.descending,
        )

        def work() -> list[int]:
            ids: list[int] = []
            while True:
                page = history_store.query_runs(
                    self.db,
                    sort=sort,
                    descending=descending,
                    offset=len(ids),
                    limit=ALL_PAGE,
                    **filters,
                )
                ids += [r.id for r in page]
                if len(page) < ALL_PAGE:
                    return ids

        self.loader.submit(work, lambda ids: callback([] if isinstance(ids, Exception) else ids))

    def _on_open(self, index) -> None:
        run_id = self.model.rows[index.row()].id
        self.detail.open_run(run_id)
        self.run_opened.emit(run_id)

    def shutdown(self) -> None:
        self.loader.shutdown()
