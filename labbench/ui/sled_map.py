"""The sled map: one cell per slot of the sled a run ran on, each saying its slot number, the
chip placed there and that chip's verdict (in words and colour; an empty slot greyed).

Clicking a cell narrows the run's views to that chip (and the sled it sits in: sled-level
items, plots and tiles stay); clicking it again, or "All slots", shows every chip again.  The
cell's left edge has the slot's curve colour, so the map is the per-slot plots' legend too.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from labbench.ui.theme import LIGHT, Theme, slot_color, verdict_colors

# Below this width a cell's serial number would be cut off (15-character serials).
CELL_MIN_WIDTH = 128


def grid_columns(slot_count: int) -> int:
    """Columns of the map: a square-ish grid (4 slots: 2 x 2, 16: 4 x 4, 8: 3 x 3)."""
    return max(1, math.ceil(math.sqrt(max(slot_count, 1))))


class SlotCell(QPushButton):
    """One slot: ``2 · CHP-0413`` over ``FAILED``; checkable (the slot shown alone)."""

    def __init__(self, slot: int, theme: Theme, parent=None):
        super().__init__(parent)
        self.slot, self.theme = slot, theme
        self.chip: str | None = None
        self.verdict: str | None = None
        self.running = False
        self.setObjectName(f"slot_{slot}")
        self.setCheckable(True)
        self.setMinimumWidth(CELL_MIN_WIDTH)
        # Two lines of text and the padding: never clipped.
        self.setMinimumHeight(2 * self.fontMetrics().lineSpacing() + 14)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.toggled.connect(lambda _: self.refresh())
        self.refresh()

    def word(self) -> str:
        if self.chip is None:
            return "empty"
        if self.verdict:
            return self.verdict.upper()
        return "running" if self.running else "—"

    def refresh(self) -> None:
        word = self.word()
        chip = self.chip or ""
        self.setText(f"{self.slot} · {chip or 'empty'}\n{word}")
        if self.chip is None:
            bg, fg = self.theme.window, self.theme.muted
        else:
            bgc, fgc = verdict_colors(self.theme, self.verdict or "pending")
            bg, fg = bgc.name(), fgc.name()
        edge = slot_color(self.theme, self.slot) if self.chip else self.theme.muted
        border = (
            f"3px solid {self.theme.highlight}"
            if self.isChecked()
            else f"1px {'dashed' if self.chip is None else 'solid'} {self.theme.muted}"
        )
        self.setStyleSheet(
            f"QPushButton {{ background: {bg}; color: {fg}; border: {border};"
            f" border-left: 8px solid {edge}; border-radius: 4px; padding: 3px 6px;"
            f" text-align: left; font-weight: bold; }}"
        )
        what = f"chip {chip}: {word}" if self.chip else "empty"
        self.setAccessibleName(f"slot {self.slot}, {what}")
        self.setToolTip(
            f"Slot {self.slot}: {what}. Click: show only this chip (and the sled's own items); "
            "click again: every slot"
            if self.chip
            else f"Slot {self.slot}: no chip placed when the run started"
        )


class SledMap(QWidget):
    """The sled's slots in a grid; ``slot_selected`` says which one to show alone (None: all)."""

    slot_selected = Signal(object)  # int or None

    def __init__(self, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.theme = theme
        self.cells: dict[int, SlotCell] = {}
        self.selected: int | None = None
        self.title = QLabel("Sled")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.all_button = QPushButton("All slots")
        self.all_button.setToolTip("Show every chip again")
        self.all_button.setEnabled(False)
        self.all_button.clicked.connect(lambda: self.select(None))
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.title, 1)
        head.addWidget(self.all_button)
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addLayout(head)
        layout.addLayout(self.grid)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.setVisible(False)

    def set_sled(self, sled: str, slot_count: int | None, chips: dict[int, str]) -> None:
        """Lay out ``slot_count`` cells (at least as many as the highest slot placed) with
        the chips the run started with; every verdict is unknown until told."""
        for cell in self.cells.values():
            self.grid.removeWidget(cell)
            cell.deleteLater()
        count = max(slot_count or 0, max(chips, default=-1) + 1)
        columns = grid_columns(count)
        self.cells = {}
        for slot in range(count):
            cell = SlotCell(slot, self.theme, self)
            cell.chip = chips.get(slot)
            cell.setEnabled(cell.chip is not None)
            cell.refresh()
            cell.clicked.connect(lambda checked, s=slot: self.select(s if checked else None))
            self.grid.addWidget(cell, slot // columns, slot % columns)
            self.cells[slot] = cell
        placed = len(chips)
        self.title.setText(f"Sled {sled}: {placed} of {count} slots with a chip")
        self.selected = None
        self.all_button.setEnabled(False)
        self.setVisible(count > 0)

    def clear(self) -> None:
        self.set_sled("", 0, {})
        self.setVisible(False)

    def set_running(self, running: bool) -> None:
        for cell in self.cells.values():
            cell.running = running
            cell.refresh()

    def set_verdicts(self, verdicts: dict[int, str | None]) -> None:
        for slot, verdict in verdicts.items():
            cell = self.cells.get(slot)
            if cell is not None and cell.verdict != verdict:
                cell.verdict = verdict
                cell.refresh()

    def select(self, slot: int | None) -> None:
        """Show ``slot`` alone (None: every slot), as a click on its cell does."""
        if slot is not None and slot not in self.cells:
            slot = None
        for s, cell in self.cells.items():
            cell.blockSignals(True)
            cell.setChecked(s == slot)
            cell.blockSignals(False)
            cell.refresh()
        changed = slot != self.selected
        self.selected = slot
        self.all_button.setEnabled(slot is not None)
        if changed:
            self.slot_selected.emit(slot)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        for cell in self.cells.values():
            cell.theme = theme
            cell.refresh()


class SlotRowFilter(QObject):
    """Hides the rows of a results table that belong to other chips than the slot shown (the
    sled's own rows stay); keeps doing so as rows arrive."""

    def __init__(self, view: QTableView, parent=None):
        super().__init__(parent)
        self.view = view
        self.slot: int | None = None
        model = view.model()
        model.rowsInserted.connect(lambda *_: self.apply())
        model.modelReset.connect(self.apply)

    def set_slot(self, slot: int | None) -> None:
        self.slot = slot
        self.apply()

    def apply(self) -> None:
        model = self.view.model()
        for row in range(model.rowCount()):
            slot = model.slot_of(row)
            self.view.setRowHidden(row, self.slot is not None and slot not in (None, self.slot))
