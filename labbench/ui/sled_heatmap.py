"""The sled heatmap of the Analytics panel: for one per-slot item of a sled plan, the slot grid
(as the sled map lays it out) coloured by the item's yield on each slot or by its mean value
on each slot across every sled run, so a bad socket shows as a hot slot.

A per-slot item is stored once per slot as ``name[slot]`` (labbench.protocols.slots), so the
item yield table and the capability table already hold one row per slot; this module only
picks an item's rows and turns them into cells.  Every cell says its figure and, when hot,
the word HOT: the colour is never the only sign."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from labbench.protocols.slots import SlotNameError, split_slot
from labbench.records import CapabilityRow, ItemYieldRow
from labbench.ui.sled_map import grid_columns
from labbench.ui.theme import LIGHT, Theme, qcolor, verdict_colors

# Yield: a slot losing a fifth of its judgements is as hot as it gets (one in ten: half).
YIELD_FULL_HEAT = 0.20
# Mean: a slot whose mean sits a quarter of the limits' span from the other slots' median is
# as hot as it gets (an item without both limits: the largest deviation is).
MEAN_FULL_HEAT = 0.25
HOT = 0.5


@dataclass(frozen=True)
class SlotCell:
    slot: int
    value: float
    heat: float  # 0 cool .. 1 hot
    text: str
    runs: int


def slot_items(names) -> list[str]:
    """The base names of the per-slot items among ``names``, in first-seen order."""
    seen: dict[str, None] = {}
    for name in names:
        base, slot = _split(name)
        if slot is not None:
            seen.setdefault(base, None)
    return list(seen)


def _split(name: str) -> tuple[str, int | None]:
    try:
        return split_slot(name)
    except SlotNameError:
        return name, None


def yield_cells(rows: list[ItemYieldRow], item: str) -> list[SlotCell]:
    cells = []
    for row in rows:
        base, slot = _split(row.name)
        if base != item or slot is None or row.item_yield is None:
            continue
        heat = min(1.0, (1.0 - row.item_yield) / YIELD_FULL_HEAT)
        text = f"{100 * row.item_yield:.1f} %\n{row.judged - row.passed} of {row.judged} failed"
        cells.append(SlotCell(slot, row.item_yield, heat, text, row.judged))
    return sorted(cells, key=lambda c: c.slot)


def mean_cells(rows: list[CapabilityRow], item: str) -> list[SlotCell]:
    """Mean per slot (capability rows grouped by slot), heat from the distance to the
    median of the slots' means."""
    found = []
    for row in rows:
        base, slot = _split(row.name)
        if base == item and slot is not None and row.mean is not None:
            found.append((slot, row))
    if not found:
        return []
    median = statistics.median(r.mean for _, r in found)
    spans = [r.high - r.low for _, r in found if r.low is not None and r.high is not None]
    scale = MEAN_FULL_HEAT * max(spans) if spans else max(abs(r.mean - median) for _, r in found)
    cells = []
    for slot, row in sorted(found, key=lambda pair: pair[0]):
        off = row.mean - median
        heat = min(1.0, abs(off) / scale) if scale else 0.0
        text = f"{row.mean:.4g} {row.unit}\n{off:+.3g} vs median"
        cells.append(SlotCell(slot, row.mean, heat, text, row.n))
    return cells


class SledHeatmap(QWidget):
    """The slot grid: slot 0 top left, rows of ``grid_columns`` slots as on the sled map."""

    def __init__(self, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.theme = theme
        self.widget = pg.PlotWidget()
        self.widget.setMinimumHeight(150)
        self.plot = self.widget.getPlotItem()
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.invertY(True)
        self.plot.setAspectLocked(False)
        self.cells: dict[int, SlotCell] = {}
        self.colors: dict[int, QColor] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)

    def color(self, heat: float) -> QColor:
        """From the plot background (cool) to the failed verdict colour (hot)."""
        cool, hot = qcolor(self.theme.plot_background), verdict_colors(self.theme, "failed")[0]
        mix = 0.12 + 0.88 * heat  # a cool slot is still a visible cell
        return QColor(
            round(cool.red() + (hot.red() - cool.red()) * mix),
            round(cool.green() + (hot.green() - cool.green()) * mix),
            round(cool.blue() + (hot.blue() - cool.blue()) * mix),
        )

    def show_cells(self, cells: list[SlotCell], title: str) -> None:
        self.plot.clear()
        self.cells = {c.slot: c for c in cells}
        self.colors = {}
        self.plot.setTitle(title, size="10pt")
        if not cells:
            return
        count = max(self.cells) + 1
        columns = grid_columns(count)
        x0, y0, brushes = [], [], []
        for slot in range(count):
            x0.append(slot % columns)
            y0.append(slot // columns)
            cell = self.cells.get(slot)
            color = self.color(cell.heat) if cell else qcolor(self.theme.window)
            if cell:
                self.colors[slot] = color
            brushes.append(color)
        self.plot.addItem(
            pg.BarGraphItem(
                x0=x0,
                y0=y0,
                width=0.94,
                height=0.94,
                brushes=brushes,
                pen=pg.mkPen(self.theme.muted),
            )
        )
        for slot in range(count):
            cell = self.cells.get(slot)
            hot = cell is not None and cell.heat >= HOT
            words = f"slot {slot}" + ("  HOT" if hot else "")
            text = f"{words}\n{cell.text}" if cell else f"slot {slot}\nno values"
            fg = "#ffffff" if cell is not None and cell.heat > 0.55 else self.theme.text
            label = pg.TextItem(text, color=fg, anchor=(0.5, 0.5))
            font = label.textItem.font()
            font.setPointSize(12)
            font.setBold(hot)
            label.setFont(font)
            label.setPos(slot % columns + 0.47, slot // columns + 0.47)
            self.plot.addItem(label)
        rows = (count + columns - 1) // columns
        self.plot.setXRange(-0.05, columns, padding=0)
        self.plot.setYRange(-0.05, rows, padding=0)


class HeatmapTab(QWidget):
    """The Analytics panel's heatmap tab: which per-slot item, coloured by what, the map, and
    a line naming the hot slots.  ``show_data`` takes the panel's tables of a sled plan (its
    ``item_yield`` and its capability grouped by slot, ``slot_capability``), or {}."""

    def __init__(self, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.data: dict = {}
        self.item = QComboBox()
        self.item.setMinimumContentsLength(14)
        self.item.setToolTip("A per-slot item of the plan (judged once per chip)")
        self.item.currentIndexChanged.connect(lambda _i: self.redraw())
        self.by = QComboBox()
        self.by.addItem("item yield per slot", "yield")
        self.by.addItem("mean value per slot", "mean")
        self.by.currentIndexChanged.connect(lambda _i: self.redraw())
        self.heatmap = SledHeatmap(theme)
        # One line: a wrapped label asks for its height at the map's expense, and at
        # 1280 x 720 pushed the panel into a scroll area with the note under its edge.
        self.note = QLabel("")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Item"))
        bar.addWidget(self.item, 1)
        bar.addWidget(QLabel("colour by"))
        bar.addWidget(self.by)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.heatmap, 1)
        layout.addWidget(self.note)

    def show_data(self, data: dict) -> None:
        self.data = data
        current = self.item.currentText()
        names = slot_items(r.name for r in data.get("item_yield", ()))
        self.item.blockSignals(True)
        self.item.clear()
        self.item.addItems(names)
        if current in names:
            self.item.setCurrentText(current)
        self.item.blockSignals(False)
        self.redraw()

    def redraw(self) -> None:
        item = self.item.currentText()
        if not self.data or not item:
            self.heatmap.show_cells([], "")
            self.note.setText("The heatmap needs a sled plan with items judged per slot.")
            return
        if self.by.currentData() == "yield":
            cells = yield_cells(self.data["item_yield"], item)
            title = f"{item}: item yield per slot (100 % cool, ≤ 80 % hot)"
        else:
            cells = mean_cells(self.data["slot_capability"], item)
            title = f"{item}: mean per slot across sleds (hot: far from the slots' median)"
        self.heatmap.show_cells(cells, title)
        hot = [c.slot for c in cells if c.heat >= HOT]
        self.note.setText(
            f"Hot slots: {', '.join(map(str, hot))} — check their sockets."
            if hot
            else "No hot slot."
        )
