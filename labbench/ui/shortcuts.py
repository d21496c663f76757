"""Help ▸ Keyboard shortcuts: every action of the window that has a key, found at the time
the list opens (panels add their own actions: pause/follow, time window, next/previous
violation, save view), grouped so the operator finds the run keys first."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

# Actions other panels create, by objectName, in the order the list shows them after the run keys.
VIEW_ACTIONS = (
    "action_pause_follow",
    "action_window_10s",
    "action_window_1min",
    "action_window_10min",
    "action_window_all",
    "action_next_violation",
    "action_prev_violation",
    "action_save_view",
)


def shortcut_rows(window: QWidget) -> list[tuple[str, str]]:
    """(what it does, keys) for every action under ``window`` that has a shortcut."""
    rows, seen = [], set()
    actions = window.findChildren(QAction)
    order = {name: i for i, name in enumerate(VIEW_ACTIONS)}
    actions.sort(key=lambda a: (a.objectName() in order, order.get(a.objectName(), -1)))
    for action in actions:
        keys = ", ".join(
            s.toString(QKeySequence.SequenceFormat.NativeText)
            for s in action.shortcuts()
            if not s.isEmpty()
        )
        if not keys or action in seen:
            continue
        seen.add(action)
        what = action.text().replace("&", "").replace("…", "")
        tip = action.toolTip().replace("&", "")
        rows.append((what if tip in ("", what) else f"{what} — {tip}", keys))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, window: QWidget):
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(window)
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["Does", "Keys"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, (what, keys) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(what))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(620, min(80 + 30 * len(rows), 560))

    def listed(self) -> list[tuple[str, str]]:
        return [
            (self.table.item(r, 0).text(), self.table.item(r, 1).text())
            for r in range(self.table.rowCount())
        ]
