"""The main window's actions, menus, toolbar and status bar: every key and menu entry of the
window is declared here (Help ▸ Keyboard shortcuts lists them)."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel

from labbench.ui.view_actions import ViewActions


class WindowActions:
    """Builds the actions of ``MainWindow``; the slots they call live on the window."""

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
        self.analytics_action = self._action(
            "&Analytics",
            self.show_analytics,
            QKeySequence("Ctrl+Shift+A"),
            "Yield, capability, failure Pareto and sled heatmap of a plan's runs",
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
        view_menu.addAction(self.analytics_action)
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
