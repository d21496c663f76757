"""The View menu's plot actions and their keys, and File → Save view….

    Space / P        pause the plots, or follow the run again
    1 2 3 4          window: last 10 s, 1 min, 10 min, the whole run
    N / ]            next violation (both axes zoom onto it)
    Shift+N / [      previous violation
    C                two cursors on the plots (Δt, Δvalue, min/max/mean between them)
    Ctrl+Shift+S     save every plot of the run as PNG or PDF

Slots take no arguments from ``triggered`` (its ``checked`` would land in a parameter).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu, QMessageBox

from labbench.ui.plots import PlotStack
from labbench.ui.view_export import FORMATS, SaveViewError, save_view, stamp_lines

log = logging.getLogger(__name__)

WINDOW_KEYS = (
    ("action_window_10s", "Last &10 s", "1"),
    ("action_window_1min", "Last &1 min", "2"),
    ("action_window_10min", "Last 1&0 min", "3"),
    ("action_window_all", "&Whole run", "4"),
)


class ViewActions:
    def __init__(self, window):
        self.window = window
        live = window.live
        self.pause_follow = self._action(
            "action_pause_follow",
            "&Pause / follow the plots",
            ("Space", "P"),
            live.toggle_follow,
            "Freeze the plots to look closer (recording goes on); again to follow the run",
        )
        self.windows = []
        for index, (name, text, key) in enumerate(WINDOW_KEYS):
            self.windows.append(
                self._action(
                    name,
                    text,
                    (key,),
                    lambda i=index: live.set_window(i),
                    f"Plots show: {text.replace('&', '')}",
                )
            )
        self.next_violation = self._action(
            "action_next_violation",
            "&Next violation",
            ("N", "]"),
            lambda: self.step_violation(1),
            "Zoom onto the next limit violation",
        )
        self.prev_violation = self._action(
            "action_prev_violation",
            "P&revious violation",
            ("Shift+N", "["),
            lambda: self.step_violation(-1),
            "Zoom onto the previous limit violation",
        )
        self.cursors = self._action(
            "action_cursors",
            "&Cursors on the plots",
            ("C",),
            self.toggle_cursors,
            "Two cursors: Δt, Δvalue, min/max/mean between them",
        )
        self.save_view = self._action(
            "action_save_view",
            "Save &view…",
            ("Ctrl+Shift+S",),
            self.ask_save_view,
            "Save every plot of the run on screen, stamped with run, DUT, plan and verdict "
            "(PNG or PDF)",
        )
        self.dialog: QFileDialog | None = None

    def _action(self, name: str, text: str, keys, slot, tip: str) -> QAction:
        action = QAction(text, self.window)
        action.setObjectName(name)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setStatusTip(tip)
        action.setToolTip(f"{tip} ({' or '.join(keys)})")
        action.triggered.connect(lambda *_: slot())
        return action

    def add_to_menus(self, file_menu: QMenu, view_menu: QMenu) -> None:
        existing = file_menu.actions()
        if len(existing) > 1:
            file_menu.insertAction(existing[1], self.save_view)  # after Export
        else:
            file_menu.addAction(self.save_view)
        plots = view_menu.addMenu("&Plots")
        plots.addAction(self.pause_follow)
        plots.addSeparator()
        for action in self.windows:
            plots.addAction(action)
        plots.addSeparator()
        plots.addAction(self.next_violation)
        plots.addAction(self.prev_violation)
        plots.addAction(self.cursors)
        # Shortcuts work while the menu is closed: the actions belong to the window too.
        self.window.addActions(
            [
                self.pause_follow,
                *self.windows,
                self.next_violation,
                self.prev_violation,
                self.cursors,
                self.save_view,
            ]
        )

    # --- which plots -----------------------------------------------------------------------

    def _history_has_focus(self) -> bool:
        focus = QApplication.focusWidget()
        dock = self.window.history_dock
        return dock.isVisible() and focus is not None and dock.isAncestorOf(focus)

    def target(self) -> PlotStack | None:
        """The plots the user is looking at: a stored run in focus, else the live run."""
        detail = self.window.history.detail
        if detail.run is not None and (self._history_has_focus() or self.window.live.plan is None):
            return detail.plots
        return self.window.live.plots if self.window.live.plan is not None else None

    def step_violation(self, direction: int) -> None:
        target = self.target()
        if target is None:
            return
        if target is self.window.live.plots:
            found = self.window.live.step_violation(direction)
        else:
            found = self.window.history.detail.step_violation(direction)
        if not found:
            self.window.statusBar().showMessage("No violations in this run", 3000)

    def toggle_cursors(self) -> None:
        target = self.target()
        if target is not None and target.plots:
            target.cursors.set_enabled(not target.cursors.enabled)

    # --- save view -------------------------------------------------------------------------

    def stamp(self, target: PlotStack) -> list[str]:
        live = self.window.live
        if target is live.plots:
            request = self.window.controller.request
            dut = f"{request.dut.serial} ({request.dut.kind})" if request is not None else ""
            plan = f"{live.plan.name} v{live.plan.version}" if live.plan is not None else ""
            return stamp_lines(
                self.window.controller.run_id, dut, plan, live.banner.verdict, live.banner.text()
            )
        run_id, dut, plan, verdict = self.window.history.detail.stamp_info
        return stamp_lines(run_id, dut, plan, verdict)

    def ask_save_view(self) -> QFileDialog | None:
        target = self.target()
        if target is None or not target.plots:
            QMessageBox.information(
                self.window, "Nothing to save", "Start a run or open one from the history first."
            )
            return None
        lines = self.stamp(target)
        settings = QSettings()
        folder = settings.value("ui/save_view_dir") or QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation
        )
        run_id = lines[0].split(" · ")[0].replace(" ", "-").lower()
        dialog = QFileDialog(self.window, "Save view", str(Path(folder) / f"{run_id}-view.png"))
        dialog.setObjectName("save_view_dialog")
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(list(FORMATS.values()))
        dialog.setDefaultSuffix("png")
        dialog.filterSelected.connect(
            lambda chosen: dialog.setDefaultSuffix("pdf" if "pdf" in chosen else "png")
        )
        dialog.fileSelected.connect(lambda path: self._write(target, lines, path))
        dialog.finished.connect(self._on_dialog_finished)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _on_dialog_finished(self, _result: int) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()  # one dialog per save, none left behind
            self.dialog = None

    def _write(self, target: PlotStack, lines: list[str], path: str) -> None:
        if target is self.window.live.plots:
            self.window.live.draw_all()  # plots scrolled out of view are drawn only now
        try:
            written = save_view(target, lines, path)
        except SaveViewError as exc:
            QMessageBox.warning(self.window, "Could not save the view", str(exc))
            return
        QSettings().setValue("ui/save_view_dir", str(written.parent))
        self.window.statusBar().showMessage(f"Saved the view to {written}", 8000)
