"""The Analytics panel (docs/architecture.md §10): a plan and a period picked at the top, then
tabs for yield (table and FPY trend), capability (every numeric item worst Cpk first, and
for the item picked its histogram and control chart), the failure Pareto, and for sled plans
the slot heatmap.

Every database read runs on the panel's ``Loader`` worker: one job reads the tables of a
plan and period, another the control chart of the item picked.  A job answered after the
query changed is dropped (the generation counter), so a slow answer never overwrites a newer
one.  The widgets only receive frozen records."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from labbench.records import AnalyticsQuery
from labbench.storage import Database
from labbench.storage import analytics as stats
from labbench.storage import plans as plan_store
from labbench.ui import analytics_tables as tables
from labbench.ui.analytics_plots import (
    ControlChartView,
    ItemHistogram,
    ParetoChart,
    YieldTrend,
    recolour,
)
from labbench.ui.loader import Loader
from labbench.ui.sled_heatmap import HeatmapTab
from labbench.ui.theme import LIGHT, Theme

log = logging.getLogger(__name__)

# Quick picks of the period: label, days back from today (None: every run).
PERIODS = (("All runs", None), ("Last 7 days", 7), ("Last 30 days", 30), ("Dates", -1))


def _table(model) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setVisible(False)
    view.setWordWrap(False)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    return view


def _boxed(*widgets) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for i, widget in enumerate(widgets):
        if isinstance(widget, QHBoxLayout):
            layout.addLayout(widget)
        else:
            layout.addWidget(widget, 1 if i == 0 else 0)
    return box


def _export_bar(button: QPushButton, note: QLabel | None = None) -> QHBoxLayout:
    bar = QHBoxLayout()
    if note is not None:
        bar.addWidget(note, 1)
    else:
        bar.addStretch(1)
    bar.addWidget(button)
    return bar


class AnalyticsView(QWidget):
    """Plan and period on top; yield, capability, Pareto and sled heatmap tabs below."""

    run_opened = Signal(int)  # a control-chart point was clicked: open that run
    loaded = Signal()  # the tables of the current query are shown
    chart_loaded = Signal()  # the histogram and control chart of the item picked are shown

    def __init__(self, db: Database, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.db, self.theme = db, theme
        self.loader = Loader(self, name="labbench-analytics")
        self._generation = 0
        self._chart_generation = 0
        self.reading = False  # the plan names are being read
        self.kind: str | None = None
        self.data: dict = {}
        self._build_controls()
        self._build_tabs()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(self.controls)
        layout.addWidget(self.tabs, 1)

    # --- building -------------------------------------------------------------------------

    def _build_controls(self) -> None:
        self.plan = QComboBox()
        self.plan.setMinimumContentsLength(14)
        self.plan.setPlaceholderText("No plan stored yet")
        self.plan.setToolTip("The plan whose runs are counted (all its versions)")
        self.plan.currentIndexChanged.connect(lambda _i: self.reload())
        self.period = QComboBox()
        for label, days in PERIODS:
            self.period.addItem(label, days)
        self.period.currentIndexChanged.connect(self._on_period_picked)
        today = QDate.currentDate()
        self.since = QDateEdit(today.addDays(-30))
        self.until = QDateEdit(today)
        for edit, tip in (
            (self.since, "from this UTC day"),
            (self.until, "to this UTC day, included"),
        ):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setToolTip(tip)
            edit.setEnabled(False)
            edit.setVisible(False)
            edit.dateChanged.connect(lambda _d: self._on_dates_edited())
        self.trend_by = QComboBox()
        self.trend_by.addItem("per day", "day")
        self.trend_by.addItem("per week", "week")
        self.trend_by.setToolTip("The FPY trend's points: UTC days or ISO weeks")
        self.trend_by.currentIndexChanged.connect(lambda _i: self.reload())
        self.per_station = QCheckBox("per station")
        self.per_station.setToolTip("A yield row and a trend line for each station")
        self.per_station.toggled.connect(lambda _c: self.reload())
        self.chip_units = QCheckBox("chips as units")
        self.chip_units.setToolTip(
            "For a sled plan: count each chip of the sled runs by its own verdict and items, "
            "instead of the sled"
        )
        self.chip_units.setEnabled(False)
        self.chip_units.toggled.connect(lambda _c: self.reload())
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Read the plans and their runs again")
        self.refresh_button.clicked.connect(self.refresh)
        self.status = QLabel("")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row1 = QHBoxLayout()
        row1.addWidget(QLabel("Plan"))
        row1.addWidget(self.plan, 2)
        row1.addWidget(QLabel("Period"))
        row1.addWidget(self.period)
        row1.addWidget(self.since)
        self.dash = QLabel("–")
        self.dash.setVisible(False)
        row1.addWidget(self.dash)
        row1.addWidget(self.until)
        row1.addStretch(1)
        row2 = QHBoxLayout()
        row2.addWidget(QLabel("Trend"))
        row2.addWidget(self.trend_by)
        row2.addWidget(self.per_station)
        row2.addWidget(self.chip_units)
        row2.addWidget(self.status, 1)
        row2.addWidget(self.refresh_button)
        self.controls = QVBoxLayout()
        self.controls.addLayout(row1)
        self.controls.addLayout(row2)

    def _build_tabs(self) -> None:
        theme = self.theme
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        # Yield: the table over its trend.
        self.yield_model = tables.yield_model(theme)
        self.yield_table = _table(self.yield_model)
        self.export_yield = QPushButton("Export yield CSV…")
        self.export_yield.clicked.connect(lambda: self._export("yield", self.yield_model))
        self.trend = YieldTrend(theme)
        self.yield_note = QLabel("")
        self.yield_note.setWordWrap(True)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(_boxed(self.yield_table, _export_bar(self.export_yield, self.yield_note)))
        split.addWidget(self.trend)
        split.setSizes([180, 400])
        self.tabs.addTab(split, "Yield")
        # Capability: the items on the left, the one picked as histogram and chart.
        self.capability_model = tables.capability_model(theme)
        self.capability_table = _table(self.capability_model)
        self.capability_table.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self._on_item_picked(current.row())
        )
        self.export_capability = QPushButton("Export capability CSV…")
        self.export_capability.clicked.connect(
            lambda: self._export("capability", self.capability_model)
        )
        self.capability_note = QLabel("Cpk below 1.33 is flagged LOW Cpk")
        self.histogram = ItemHistogram(theme)
        self.control = ControlChartView(theme)
        self.control.run_clicked.connect(self.run_opened)
        plots = QSplitter(Qt.Orientation.Vertical)
        plots.addWidget(self.histogram)
        plots.addWidget(self.control)
        plots.setSizes([220, 380])
        self.capability_split = QSplitter(Qt.Orientation.Horizontal)
        self.capability_split.addWidget(
            _boxed(self.capability_table, _export_bar(self.export_capability, self.capability_note))
        )
        self.capability_split.addWidget(plots)
        self.capability_split.setSizes([560, 440])
        self.tabs.addTab(self.capability_split, "Capability")
        # Pareto: the chart over its table.
        self.pareto_model = tables.pareto_model(theme)
        self.pareto_table = _table(self.pareto_model)
        self.export_pareto = QPushButton("Export Pareto CSV…")
        self.export_pareto.clicked.connect(lambda: self._export("pareto", self.pareto_model))
        self.pareto = ParetoChart(theme)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.pareto)
        split.addWidget(_boxed(self.pareto_table, _export_bar(self.export_pareto)))
        split.setSizes([380, 200])
        self.tabs.addTab(split, "Pareto")
        # Sled heatmap: an item and what to colour by (sled_heatmap.HeatmapTab).
        self.heat_tab = HeatmapTab(theme)
        self.heat_item, self.heat_by = self.heat_tab.item, self.heat_tab.by
        self.heatmap, self.heat_note = self.heat_tab.heatmap, self.heat_tab.note
        self.tabs.addTab(self.heat_tab, "Sled heatmap")

    # --- the query ------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the plan names again, keep the plan picked if it is still there, reload."""
        self.reading = True
        self.loader.submit(lambda: plan_store.plan_names(self.db), self._on_plans)

    def _on_plans(self, names) -> None:
        self.reading = False
        if isinstance(names, Exception):
            self.status.setText(f"Cannot read the plans: {names}")
            return
        current = self.plan.currentText()
        self.plan.blockSignals(True)
        self.plan.clear()
        for name, kind in names:
            self.plan.addItem(f"{name}  ({kind})", name)
        index = self.plan.findData(current.split("  (")[0]) if current else -1
        self.plan.setCurrentIndex(max(index, 0) if names else -1)
        self.plan.blockSignals(False)
        self.reload()

    def select_plan(self, name: str) -> None:
        self.plan.setCurrentIndex(self.plan.findData(name))

    def _on_period_picked(self, _index: int) -> None:
        days = self.period.currentData()
        custom = days == -1
        for edit in (self.since, self.until):
            edit.setEnabled(custom)
            # "All runs" has no dates: greyed dates beside it would read as a filter.
            edit.setVisible(days is not None)
        self.dash.setVisible(days is not None)
        if days is not None and days > 0:
            today = QDate.currentDate()
            for edit, date in ((self.since, today.addDays(-days)), (self.until, today)):
                edit.blockSignals(True)
                edit.setDate(date)
                edit.blockSignals(False)
        self.reload()

    def _on_dates_edited(self) -> None:
        if self.period.currentData() == -1:
            self.reload()

    def query(self, by: str | None = None, **fields) -> AnalyticsQuery | None:
        plan = self.plan.currentData()
        if not plan:
            return None
        days = self.period.currentData()
        since = until = None
        if days is not None and days > 0:
            since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
        elif days == -1:
            since = _utc(self.since.date())
            until = _utc(self.until.date()) + dt.timedelta(days=1)  # the day is included
        # Chips as units only mean something for a sled plan (a chip plan's units are chips).
        unit = "chip" if self.chip_units.isChecked() and self.chip_units.isEnabled() else None
        return AnalyticsQuery(plan, since=since, until=until, by=by, unit=unit, **fields)

    def reload(self) -> None:
        query = self.query()
        self._generation += 1
        if query is None:
            self.status.setText("No plan stored yet: run one first.")
            self.loaded.emit()
            return
        generation = self._generation
        trend_by = self.trend_by.currentData()
        per_station = self.per_station.isChecked()
        self.status.setText(f"Reading {query.plan}…")
        self.loader.submit(
            lambda: _read_tables(self.db, query, trend_by, per_station),
            lambda data: self._on_tables(generation, data),
        )

    def _on_tables(self, generation: int, data) -> None:
        if generation != self._generation:
            return
        if isinstance(data, Exception):
            # Another plan's tables must not stand under this plan's name.
            self.status.setText(str(data))
            self.data = {}
            for model in (self.yield_model, self.capability_model, self.pareto_model):
                model.set_rows([])
            self.loaded.emit()
            return
        self.data = data
        self.kind = data["kind"]
        self.chip_units.setEnabled(self.kind == "sled")
        units = sum(r.units for r in data["yield"])
        unit = "chip" if data["unit"] == "chip" else self.kind
        self.status.setText(
            f"{units} {unit}{'s' if units != 1 else ''} first tested in the period · "
            "marginal counts as a pass"
        )
        self.yield_model.set_rows(data["yield"])
        losses = sum(r.station_losses for r in data["yield"])
        self.yield_note.setText(
            "FPY: passed their first attempt; LPY: their last. "
            f"{losses} station losses (error, aborted, interrupted) counted apart."
        )
        self.trend.show_trend(data["trend"], data["trend_by"])
        self.capability_model.set_rows(data["capability"])
        flagged = sum(r.flagged for r in data["capability"])
        self.capability_note.setText(
            f"{flagged} of {len(data['capability'])} items LOW Cpk (< 1.33)"
        )
        self.pareto_model.set_rows(data["pareto"])
        self.pareto.show_pareto(data["pareto"])
        sled = self.kind == "sled"
        self.tabs.setTabEnabled(self.tabs.indexOf(self.heat_tab), sled)
        self.heat_tab.show_data(data if sled else {})
        if data["capability"]:
            self.capability_table.selectRow(0)
        else:
            self.histogram.plot.clear()
            self.control.values_plot.clear()
            self.control.ranges_plot.clear()
        self.loaded.emit()

    # --- the item picked ------------------------------------------------------------------

    def _on_item_picked(self, row: int) -> None:
        if not 0 <= row < len(self.capability_model.rows):
            return
        item = self.capability_model.rows[row]
        query = self.query()
        if query is None:
            return
        self._chart_generation += 1
        generation = self._chart_generation
        self.loader.submit(
            lambda: stats.control_chart(self.db, query, item.step, item.name),
            lambda chart: self._on_chart(generation, item, chart),
        )

    def _on_chart(self, generation: int, item, chart) -> None:
        if generation != self._chart_generation:
            return
        if isinstance(chart, Exception):
            self.status.setText(str(chart))
            return
        self.histogram.show_item(item, [p.value for p in chart.points])
        self.control.show_chart(chart, item.unit)
        self.chart_loaded.emit()

    # --- export ---------------------------------------------------------------------------

    def _export(self, table: str, model) -> None:
        plan = self.plan.currentData() or "plan"
        path = tables.export_table(self, table, model.rows, f"{plan}-{table}.csv")
        if path is not None:
            self.status.setText(f"Wrote {len(model.rows)} rows to {path}")

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        for model in (self.yield_model, self.capability_model, self.pareto_model):
            model.theme = theme
            model.layoutChanged.emit()  # colours only; rows stay
        for plot in (self.trend, self.pareto, self.histogram, self.control, self.heatmap):
            plot.theme = theme
        for widget in (
            self.trend.widget,
            self.pareto.widget,
            self.histogram.widget,
            self.control.values_widget,
            self.control.ranges_widget,
            self.heatmap.widget,
        ):
            recolour(widget, theme)
        if self.data:
            self._on_tables(self._generation, self.data)

    def shutdown(self) -> None:
        self.loader.shutdown()


def _utc(date: QDate) -> dt.datetime:
    return dt.datetime(date.year(), date.month(), date.day(), tzinfo=dt.UTC)


def _read_tables(db: Database, query: AnalyticsQuery, trend_by: str, per_station: bool) -> dict:
    """Every table of a plan and period (on the worker thread)."""
    yield_rows = stats.yield_table(db, _with(query, by="station" if per_station else None))
    if per_station:
        trend = {
            str(r.group): stats.yield_table(db, _with(query, by=trend_by, station=r.group))
            for r in yield_rows
            if r.units
        }
    else:
        trend = {"all": stats.yield_table(db, _with(query, by=trend_by))}
    capability = stats.capability_table(db, query)
    data = {
        "yield": yield_rows,
        "trend": trend,
        "trend_by": trend_by,
        "capability": capability,
        "pareto": stats.pareto_table(db, query),
        "kind": dict(plan_store.plan_names(db)).get(query.plan, "chip"),
        "unit": query.unit,
    }
    if data["kind"] == "sled":
        data["item_yield"] = stats.item_yield_table(db, query)
        data["slot_capability"] = stats.capability_table(db, _with(query, by="slot"))
    return data


def _with(query: AnalyticsQuery, **fields) -> AnalyticsQuery:
    return replace(query, **fields)
