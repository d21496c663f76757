"""The main window: dockable panels, actions, status bar, themes, persisted layout."""

from __future__ import annotations

import logging

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTableView,
    QTabWidget,
    QWidget,
)

from labbench import __version__
from labbench.storage import Database
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
from labbench.ui.start_dialog import StartRunDialog
from labbench.ui.theme import THEMES, apply_theme
from labbench.ui.view_actions import ViewActions

log = logging.getLogger(__name__)

# The status bar's numbers refresh once a second: fast enough to see a stall.
STATUS_INTERVAL_MS = 1000
# The console's default width: a log to glance at, not a third of a laptop screen.
CONSOLE_WIDTH = 300


class MainWindow(QMainWindow):
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
        self.bench = BenchView(db)
        self.results_view = QTableView()
        self.results_view.setModel(self.results)
        self.results_view.verticalHeader().setVisible(False)
        self.results_view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        header = self.results_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(RESULT_COLUMNS.index("Limits"), QHeaderView.ResizeMode.Stretch)
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
        self.tabifyDockWidget(self.history_dock, self.inventory_dock)
        self.tabifyDockWidget(self.inventory_dock, self.compare_dock)
        self.console_dock.raise_()
        self.resizeDocks(
            [self.console_dock, self.bench_dock], [CONSOLE_WIDTH, 300], Qt.Orientation.Horizontal
        )
        self.bench_dock.hide()  # View > Bench; the run view gets the room by default
        self.resizeDocks([self.results_dock], [200], Qt.Orientation.Vertical)
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
        self.inventory.run_activated.connect(self.open_stored_run)
        self.inventory.refresh()
        self.bench.watch_requested.connect(self._update_bench_watch)
        self.bench.disconnected.connect(lambda *_: self._update_bench_watch())
        self._show_empty_state()

    # --- building -------------------------------------------------------------------------

    def _dock(
        self, title: str, name: str, widget: QWidget, area, *, scroll: bool = False
    ) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)  # saveState() needs stable names
        if scroll:
            # A wide panel tabbed with the console must not force the console's width: it
            # scrolls when narrow and widens when raised (_widen_for).
            area_widget = QScrollArea()
            area_widget.setWidgetResizable(True)
            area_widget.setFrameShape(QScrollArea.Shape.NoFrame)
            area_widget.setWidget(widget)
            widget = area_widget
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(
        self,
        text: str,
        slot,
        shortcut=None,
        tip: str = "",
        *,
        name: str = "",
        checkable: bool = False,
    ) -> QAction:
        """A menu/toolbar action.  ``triggered`` carries ``checked``; only a checkable action's
        slot receives it, every other slot is called with no arguments (a ``checked=False``
        landing in ``run_ids`` or ``confirm`` broke Export and Abort once)."""
        action = QAction(text, self)
        action.setObjectName(
            name
            or "action_" + text.replace("&", "").replace("…", "").strip().lower().replace(" ", "_")
        )
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.setStatusTip(tip)
        action.setToolTip(tip or text.replace("&", ""))
        action.setCheckable(checkable)
        if checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _checked=False: slot())
        return action

    def _build_actions(self) -> None:
        self.start_action = self._action(
            "&Start run…", self.start_run, QKeySequence("F5"), "Start a test plan on a rig"
        )
        self.abort_action = self._action(
            "&Abort run",
            self.abort_run,
            QKeySequence("Shift+F5"),
            "Stop the running plan (asks first; data is kept)",
        )
        self.abort_action.setEnabled(False)
        self.export_action = self._action(
            "&Export…",
            self.export_runs,
            QKeySequence("Ctrl+E"),
            "Export the selected runs (or the current one) as CSV",
        )
        self.compare_action = self._action(
            "&Compare selected runs",
            self.compare_selected,
            QKeySequence("Ctrl+Shift+C"),
            "Overlay a channel of the runs selected in the history",
        )
        self.find_action = self._action(
            "&Find run…", self.find_run, QKeySequence.StandardKey.Find, "Search the run history"
        )
        self.reset_layout_action = self._action(
            "&Reset layout", self.reset_layout, None, "Put every panel back where it started"
        )
        self.dark_action = self._action(
            "&Dark theme",
            self._on_dark_toggled,
            None,
            "Switch between the light and dark themes",
            checkable=True,
        )
        self.dark_action.blockSignals(True)
        self.dark_action.setChecked(self.theme.name == "dark")
        self.dark_action.blockSignals(False)
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.about_action = self._action("&About labbench", self._on_about)
        self.shortcuts_action = self._action(
            "&Keyboard shortcuts",
            self.show_shortcuts,
            QKeySequence("Ctrl+/"),
            "Every key of the window: run, export, plots",
        )

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        run_menu = self.menuBar().addMenu("&Run")
        run_menu.addAction(self.start_action)
        run_menu.addAction(self.abort_action)
        run_menu.addSeparator()
        run_menu.addAction(self.find_action)
        run_menu.addAction(self.compare_action)
        view_menu = self.menuBar().addMenu("&View")
        for dock in (
            self.bench_dock,
            self.results_dock,
            self.console_dock,
            self.history_dock,
            self.inventory_dock,
            self.compare_dock,
        ):
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        view_menu.addAction(self.dark_action)
        view_menu.addAction(self.reset_layout_action)
        # Plot keys, cursors and File → Save view… (labbench/ui/view_actions.py).
        self.view_actions = ViewActions(self)
        self.view_actions.add_to_menus(file_menu, view_menu)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(self.about_action)
        toolbar = self.addToolBar("Run")
        toolbar.setObjectName("RunToolBar")
        toolbar.addAction(self.start_action)
        toolbar.addAction(self.abort_action)
        toolbar.addSeparator()
        toolbar.addAction(self.export_action)
        toolbar.addAction(self.find_action)

    def _build_status_bar(self) -> None:
        self.db_status = QLabel(f"DB: {self.db.describe()}")
        self.link_status = QLabel("Rig: —")
        self.rate_status = QLabel("")
        self.counter_status = QLabel("")
        for widget in (self.link_status, self.rate_status, self.counter_status, self.db_status):
            self.statusBar().addPermanentWidget(widget)

    # --- layout ---------------------------------------------------------------------------

    def _fit_to_screen(self) -> None:
        """1400 x 900 where there is room; on a laptop (1280 x 720), the screen's free area."""
        screen = self.screen().availableGeometry() if self.screen() else None
        width, height = 1400, 900
        if screen is not None:
            width, height = min(width, screen.width()), min(height, screen.height())
        self.resize(width, height)

    def _widen_for(self, dock: QDockWidget) -> None:
        """History, Inventory and Compare need room for their filters and columns: the right
        panels take about 60% of the window while one of them is on top."""
        if (
            self.dockWidgetArea(dock) == Qt.DockWidgetArea.RightDockWidgetArea
            and not dock.isFloating()
        ):
            self.resizeDocks([dock], [max(int(self.width() * 0.6), 600)], Qt.Orientation.Horizontal)

    def _narrow_right(self) -> None:
        if (
            self.dockWidgetArea(self.console_dock) == Qt.DockWidgetArea.RightDockWidgetArea
            and not self.console_dock.isFloating()
        ):
            self.resizeDocks([self.console_dock], [CONSOLE_WIDTH], Qt.Orientation.Horizontal)

    def _show_empty_state(self) -> None:
        """The first window says what to do first, instead of an empty plot."""
        rig = f" on the simulated rig {self.default_device}" if self.demo else ""
        self.live.banner.show_verdict("pending", "No run yet — press F5 to start one")
        self.live.step_label.setText(
            f"Run ▸ Start run… (F5): scan or type a DUT serial, check the plan, rig and profile, press Start{rig}. "
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

    def _restore_layout(self) -> None:
        settings = QSettings()
        geometry = settings.value("ui/geometry")
        state = settings.value("ui/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        for key, splitter in self._splitters().items():
            state = settings.value(f"ui/splitter/{key}")
            if state is not None:
                splitter.restoreState(state)

    def _splitters(self) -> dict:
        return {
            "history": self.history.splitter,
            "inventory": self.inventory.splitter,
            "compare": self.compare.splitter,
        }

    def save_layout(self) -> None:
        settings = QSettings()
        settings.setValue("ui/geometry", self.saveGeometry())
        settings.setValue("ui/state", self.saveState())
        for key, splitter in self._splitters().items():
            settings.setValue(f"ui/splitter/{key}", splitter.saveState())
        settings.sync()

    def reset_layout(self) -> None:
        self.restoreState(self._default_state)
        for dock in (
            self.bench_dock,
            self.results_dock,
            self.console_dock,
            self.history_dock,
            self.inventory_dock,
            self.compare_dock,
        ):
            dock.show()
        self.console_dock.raise_()

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
        self.inventory.theme = self.theme
        self.compare.set_theme(self.theme)
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
                f"{request.device} is {self.bench.busy[request.device]} on the bench; start again in a moment.",
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
                f"Abort run {self.controller.run_id or ''}? Everything recorded so far is kept and the run is marked aborted.",
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

    def open_stored_run(self, run_id: int) -> None:
        """Show a stored run in the History panel (from the Inventory, say)."""
        self.history_dock.show()
        self.history_dock.raise_()
        self.history.detail.open_run(run_id)

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
