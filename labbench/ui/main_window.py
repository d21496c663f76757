"""The main window: dockable panels, actions, status bar, themes, persisted layout."""

from __future__ import annotations

import logging

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QHeaderView,
    QInputDialog,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTableView,
    QTabWidget,
)

from labbench import __version__
from labbench.storage import Database
from labbench.ui.analytics_panel import AnalyticsView
from labbench.ui.app import keep_gui_responsive
from labbench.ui.banner import FailureWatcher, StepList
from labbench.ui.bench import BenchView
from labbench.ui.bench_watch import BenchWatch
from labbench.ui.compare import CompareView
from labbench.ui.console_view import ConsoleView
from labbench.ui.history import HistoryView
from labbench.ui.inventory import InventoryView
from labbench.ui.live_view import LiveRunView
from labbench.ui.results_model import COLUMNS as RESULT_COLUMNS
from labbench.ui.results_model import ResultsModel
from labbench.ui.run_controller import RunController
from labbench.ui.shortcuts import ShortcutsDialog
from labbench.ui.sled_map import SlotRowFilter
from labbench.ui.start_dialog import StartRunDialog
from labbench.ui.theme import THEMES, apply_theme
from labbench.ui.window_actions import WindowActions
from labbench.ui.window_layout import CONSOLE_WIDTH, WindowLayout

log = logging.getLogger(__name__)

# The status bar's numbers refresh once a second: fast enough to see a stall.
STATUS_INTERVAL_MS = 1000


class MainWindow(WindowActions, WindowLayout, QMainWindow):
    def __init__(self, db: Database, *, demo: bool = False, default_device: str = ""):
        super().__init__()
        keep_gui_responsive()
        self.db = db
        self.demo = demo
        self.default_device = default_device or ("mock://nominal" if demo else "")
        self.setObjectName("MainWindow")
        self.setWindowTitle(f"labbench — {db.describe()}" + (" (demo)" if demo else ""))
        self._fit_to_screen()
        settings = QSettings()
        self.theme = THEMES.get(settings.value("ui/theme", "light"), THEMES["light"])
        apply_theme(QApplication.instance(), self.theme)

        self.controller = RunController(db, self)
        self.results = ResultsModel(self.theme)
        self.live = LiveRunView(self.controller, self.results, self.theme)
        self.bench_watch = BenchWatch(self.theme)
        self.central_tabs = QTabWidget()
        self.central_tabs.setDocumentMode(True)
        self.central_tabs.addTab(self.live, "Run")
        self.central_tabs.tabBar().hide()  # shown once a bench rig is watched too
        self.setCentralWidget(self.central_tabs)
        self.console = ConsoleView()
        self.history = HistoryView(db, self.theme)
        self.inventory = InventoryView(db, self.theme)
        self.compare = CompareView(db, self.theme)
        self.analytics = AnalyticsView(db, self.theme)
        self.bench = BenchView(db)
        self.results_view = QTableView()
        self.results_view.setModel(self.results)
        self.results_view.verticalHeader().setVisible(False)
        self.results_view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        header = self.results_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(RESULT_COLUMNS.index("Limits"), QHeaderView.ResizeMode.Stretch)
        # Columns fit the rows in sight, not all of them: a sled's 256 rows changing in one
        # tick cost 80 ms of sizing (15 ms this way).
        header.setResizeContentsPrecision(0)
        # The sled map's chip picked: the results show that chip's items and the sled's.
        self.results_filter = SlotRowFilter(self.results_view, self)
        self.live.sled.slot_selected.connect(self.results_filter.set_slot)
        self.step_list = StepList(self.theme)
        self.failures = FailureWatcher(
            db,
            self.controller,
            self.live.banner,
            self.results,
            self.results_view,
            self.step_list,
            self,
        )
        results_panel = QSplitter(Qt.Orientation.Horizontal)
        results_panel.addWidget(self.step_list)
        results_panel.addWidget(self.results_view)
        results_panel.setStretchFactor(1, 1)
        results_panel.setSizes([170, 900])

        # The right panels (console, history, inventory, compare) run the full height; the
        # results sit under the run view only.
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.bench_dock = self._dock(
            "Bench", "BenchDock", self.bench, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.results_dock = self._dock(
            "Results", "ResultsDock", results_panel, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.console_dock = self._dock(
            "Console", "ConsoleDock", self.console, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.history_dock = self._dock(
            "History",
            "HistoryDock",
            self.history,
            Qt.DockWidgetArea.RightDockWidgetArea,
            scroll=True,
        )
        self.inventory_dock = self._dock(
            "Inventory",
            "InventoryDock",
            self.inventory,
            Qt.DockWidgetArea.RightDockWidgetArea,
            scroll=True,
        )
        self.tabifyDockWidget(self.console_dock, self.history_dock)
        self.compare_dock = self._dock(
            "Compare",
            "CompareDock",
            self.compare,
            Qt.DockWidgetArea.RightDockWidgetArea,
            scroll=True,
        )
        self.analytics_dock = self._dock(
            "Analytics",
            "AnalyticsDock",
            self.analytics,
            Qt.DockWidgetArea.RightDockWidgetArea,
            scroll=True,
        )
        self.tabifyDockWidget(self.history_dock, self.inventory_dock)
        self.tabifyDockWidget(self.inventory_dock, self.compare_dock)
        self.tabifyDockWidget(self.compare_dock, self.analytics_dock)
        self.console_dock.raise_()
        self.resizeDocks(
            [self.console_dock, self.bench_dock], [CONSOLE_WIDTH, 300], Qt.Orientation.Horizontal
        )
        self.bench_dock.hide()  # View > Bench; the run view gets the room by default
        self._fit_results()
        self.analytics_dock.visibilityChanged.connect(self._on_analytics_visible)
        for dock in (self.history_dock, self.inventory_dock, self.compare_dock):
            dock.visibilityChanged.connect(
                lambda visible, dock=dock: visible and self._widen_for(dock)
            )
        self.console_dock.visibilityChanged.connect(
            lambda visible: visible and self._narrow_right()
        )

        self._build_actions()
        self._build_menus()
        self._build_status_bar()
        self._default_state = self.saveState()
        self._restore_layout()

        self.controller.run_started.connect(self._on_run_started)
        self.controller.run_finished.connect(self._on_run_finished)
        self.controller.run_failed.connect(self._on_run_failed)
        self.controller.manual_requested.connect(self._on_manual_requested)
        self.status_timer = QTimer(self)
        self.status_timer.setInterval(STATUS_INTERVAL_MS)
        self.status_timer.timeout.connect(self._on_status_tick)
        self.status_timer.start()
        self.console_timer = QTimer(self)
        self.console_timer.setInterval(250)
        self.console_timer.timeout.connect(self._on_console_tick)
        self.console_timer.start()
        self.history.apply_filters()
        self.history.export_filtered.clicked.connect(self._on_export_filtered)
        self.inventory.run_opened.connect(self.open_stored_run)
        self.analytics.run_opened.connect(self.open_stored_run)
        self.inventory.refresh()
        self.bench.watch_requested.connect(self._update_bench_watch)
        self.bench.disconnected.connect(lambda *_: self._update_bench_watch())
        self._show_empty_state()

    def _show_empty_state(self) -> None:
        """The first window says what to do first, instead of an empty plot."""
        rig = f" on the simulated rig {self.default_device}" if self.demo else ""
        self.live.banner.show_verdict("pending", "No run yet — press F5 to start one")
        self.live.step_label.setText(
            "Run ▸ Start run… (F5): scan or type a DUT serial, check the plan, rig and profile, "
            f"press Start{rig}. "
            "Past runs: View ▸ History.  Keys: Help ▸ Keyboard shortcuts."
        )
        self.live.step_label.setWordWrap(True)
        self.live.progress.hide()  # nothing to count yet

    def _update_bench_watch(self, device: str = "") -> None:
        """A recording bench rig asked to be watched (Watch, double-click) shows its live plots
        and console in a tab; the tab goes when the rig disconnects."""
        monitor = self.bench.monitors.get(device) if device else None
        if monitor is not None and monitor.connected:
            self.bench_watch.watch(device, monitor)
            if self.central_tabs.indexOf(self.bench_watch) < 0:
                self.central_tabs.addTab(self.bench_watch, "")
            index = self.central_tabs.indexOf(self.bench_watch)
            self.central_tabs.setTabText(index, f"Bench: {device}")
            self.central_tabs.tabBar().show()
            self.central_tabs.setCurrentWidget(self.bench_watch)
        elif (
            self.bench_watch.device is not None
            and self.bench_watch.device not in self.bench.monitors
        ):
            self.bench_watch.stop()
            self.central_tabs.removeTab(self.central_tabs.indexOf(self.bench_watch))
            self.central_tabs.tabBar().hide()

    def set_theme(self, name: str) -> None:
        self.theme = THEMES[name]
        apply_theme(QApplication.instance(), self.theme)
        self.live.set_theme(self.theme)
        self.bench_watch.set_theme(self.theme)
        self.failures.set_theme(self.theme)
        self.history.model.theme = self.theme
        self.history.model.layoutChanged.emit()  # colours only; rows stay
        self.history.detail.plots.set_theme(self.theme)
        self.history.detail.results.set_theme(self.theme)
        self.history.detail.sled_map.set_theme(self.theme)
        self.inventory.theme = self.theme
        self.compare.set_theme(self.theme)
        self.analytics.set_theme(self.theme)
        QSettings().setValue("ui/theme", name)
        self.dark_action.blockSignals(True)
        self.dark_action.setChecked(name == "dark")
        self.dark_action.blockSignals(False)

    def _on_dark_toggled(self, checked: bool) -> None:
        self.set_theme("dark" if checked else "light")

    # --- runs -----------------------------------------------------------------------------

    def start_run(self) -> StartRunDialog | None:
        if self.controller.running:
            QMessageBox.information(
                self, "A run is going", "Abort the current run before starting another one."
            )
            return None
        dialog = StartRunDialog(self.db, self, default_device=self.default_device)
        dialog.accepted.connect(lambda: self._start_from(dialog))
        dialog.open()
        return dialog

    def _start_from(self, dialog: StartRunDialog) -> None:
        try:
            request = dialog.request()
        except ValueError as exc:
            QMessageBox.warning(self, "Cannot start", str(exc))
            return
        self.start_request(request)

    def start_request(self, request) -> None:
        if request.device in self.bench.busy:
            QMessageBox.information(
                self,
                "The rig is busy",
                f"{request.device} is {self.bench.busy[request.device]} on the bench; "
                "start again in a moment.",
            )
            return
        self.start_action.setEnabled(False)
        if request.device in self.bench.monitors:
            # The run needs the rig's port to itself: end the bench recording first (on the
            # bench's worker), then start.
            self.statusBar().showMessage(
                f"{request.device} was connected on the bench; that recording ends for the run",
                8000,
            )
            self.bench.disconnect_device(request.device, then=lambda: self._start_now(request))
            return
        self._start_now(request)

    def _start_now(self, request) -> None:
        self.console.clear()
        self.central_tabs.setCurrentWidget(self.live)
        self.live.progress.show()
        self.live.prepare(request.plan)
        self.failures.prepare(request.plan)
        self.controller.start(request)
        self.start_action.setEnabled(False)
        self.abort_action.setEnabled(True)

    def abort_run(self, confirm: bool = True) -> bool:
        if not self.controller.running:
            return False
        if confirm:
            answer = QMessageBox.question(
                self,
                "Abort the run?",
                f"Abort run {self.controller.run_id or ''}? Everything recorded so far is kept "
                "and the run is marked aborted.",
                QMessageBox.StandardButton.Abort | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Abort:
                return False
        self.controller.abort()
        return True

    def export_runs(self, run_ids: list[int] | None = None):
        """Export the history's selected runs, else all the filtered ones, else the current run."""
        from labbench.ui.export_dialog import ExportDialog

        if run_ids is None:
            run_ids = self.history.selected_run_ids() or (
                [self.controller.run_id] if self.controller.run_id else []
            )
        if not run_ids:
            QMessageBox.information(
                self, "Nothing to export", "Select runs in the history (or finish a run) first."
            )
            return None
        dialog = ExportDialog(self.db, run_ids, self)
        dialog.open()
        return dialog

    def _on_export_filtered(self) -> None:
        def got(run_ids: list[int]) -> None:
            if not run_ids:
                QMessageBox.information(
                    self, "Nothing to export", "No run matches the history's filters."
                )
                return
            self.export_runs(run_ids)

        self.history.filtered_run_ids(got)

    def open_stored_run(self, run_id: int, slot: int | None = None) -> None:
        """Show a stored run in the History panel (from the Inventory, say); ``slot``: with
        that chip picked on its sled map."""
        self.history_dock.show()
        self.history_dock.raise_()
        self.history.detail.open_run(run_id, slot=slot)

    def compare_selected(self) -> None:
        run_ids = self.history.selected_run_ids()
        if not run_ids:
            QMessageBox.information(
                self, "Nothing to compare", "Select two or more runs in the history first."
            )
            return
        self.compare.add_runs(run_ids)
        self.compare_dock.show()
        self.compare_dock.raise_()

    def show_analytics(self) -> None:
        """View ▸ Analytics: the panel on top, its plans and tables read again."""
        self.analytics_dock.show()
        self.analytics_dock.raise_()
        if not self.analytics.reading:  # the first look already reads (_on_analytics_visible)
            self.analytics.refresh()

    def _on_analytics_visible(self, visible: bool) -> None:
        """The panel reads the database the first time it is seen, not at every start."""
        if not visible:
            return
        self._widen_for(self.analytics_dock, share=0.75)
        if self.analytics.plan.count() == 0 and not self.analytics.reading:
            self.analytics.refresh()

    def find_run(self) -> None:
        self.history_dock.show()
        self.history_dock.raise_()
        self.history.search.setFocus()
        self.history.search.selectAll()

    def _on_run_started(self, run_id: int) -> None:
        self.statusBar().showMessage(f"Run {run_id} started", 3000)

    def _on_run_finished(self, outcome) -> None:
        self.start_action.setEnabled(True)
        self.abort_action.setEnabled(False)
        self.history.apply_filters()
        if self.inventory.dut is not None:
            self.inventory.open_dut(self.inventory.dut.id)
        self.statusBar().showMessage(f"Run {outcome.run_id} ended: {outcome.status}", 10000)

    def _on_run_failed(self, message: str) -> None:
        self.start_action.setEnabled(True)
        self.abort_action.setEnabled(False)
        QMessageBox.warning(self, "The run could not go on", message)

    def _on_manual_requested(self, step, spec) -> None:
        limits = (
            f"expected: {spec.equals}"
            if spec.equals is not None
            else f"limits: {spec.band.low} … {spec.band.high} {spec.unit}"
        )
        value, ok = QInputDialog.getText(
            self, f"{step.name}: {spec.name}", f"{spec.prompt or spec.name}\n({limits})"
        )
        self.controller.answer_manual(value if ok and value.strip() else None)

    # --- timers ---------------------------------------------------------------------------

    def _on_status_tick(self) -> None:
        session = self.controller.session
        bench = [
            f"{device} {m.stats.link}" for device, m in self.bench.monitors.items() if m.connected
        ]
        if session is None or session.run_id is None or not self.controller.running:
            run_rig = [] if session is None else [f"{session.device} closed"]
            self.link_status.setText("Rigs: " + (" · ".join(run_rig + bench) or "—"))
            return
        stats = session.stats
        self.link_status.setText("Rigs: " + " · ".join([f"{session.device} {stats.link}"] + bench))
        self.rate_status.setText(f"{stats.sample_rate:,.0f} samples/s")
        storage = (
            f" · storage {stats.storage}, {stats.journal_batches:,} batches waiting"
            if stats.storage != "ok"
            else ""
        )
        self.counter_status.setText(
            f"malformed {stats.malformed:,} · backlog {stats.backlog:,}{storage}"
        )

    def _on_console_tick(self) -> None:
        lines = self.controller.take_console()
        if lines:
            # The run's own t0: the console tick can come before the live view hears the run
            # started, and a line must never be shown at its epoch time.
            seconds = self.controller.seconds
            self.console.append([(seconds(c.received_ns), c.kind, c.text) for c in lines])

    # --- closing --------------------------------------------------------------------------

    def closeEvent(self, event) -> None:
        if self.controller.running:
            if not self.abort_run(confirm=True):
                event.ignore()
                return
            self.controller.join(30)
        self.save_layout()
        self.history.shutdown()
        self.failures.shutdown()
        self.inventory.shutdown()
        self.compare.shutdown()
        self.analytics.shutdown()
        self.bench_watch.stop()
        self.bench.shutdown()
        super().closeEvent(event)

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self)
        dialog.open()
        return dialog

    def _on_about(self) -> None:
        QMessageBox.about(
            self,
            "About labbench",
            f"labbench {__version__}\nSilicon bring-up workbench.\nDatabase: {self.db.describe()}",
        )
