"""Stacked telemetry plots grouped by unit: limit bands, violation marks, crosshair readout.

Each curve gets only what the screen can show: the visible samples reduced to a min/max
envelope of about two points per horizontal pixel (DESIGN.md §8), so a frame's cost follows
the pixels, not the run's length.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QVBoxLayout, QWidget

from labbench.criteria.limits import Band
from labbench.ui.theme import LIGHT, Theme

# Units that are not SI: no k/m prefixes on their axes (m°C or krpm would only confuse).
_NO_SI_PREFIX = {"°C", "C", "rpm", "%", "", "dB"}
# Bookkeeping channels (the rig's line counter) are stored but not plotted.
HIDDEN_CHANNELS = {"seq"}


def envelope(t: np.ndarray, v: np.ndarray, x0: float, x1: float, pixels: int) -> tuple[np.ndarray, np.ndarray]:
    """The samples in [x0, x1] (plus one each side), reduced to min/max pairs per pixel column."""
    a = max(int(np.searchsorted(t, x0, side="left")) - 1, 0)
    b = min(int(np.searchsorted(t, x1, side="right")) + 1, t.size)
    t, v = t[a:b], v[a:b]
    bins = max(pixels, 1)
    if t.size <= 4 * bins:  # already about what the screen shows (a query of BlockEnvelope, say)
        return t, v
    per = t.size // bins
    n = per * bins
    tv = t[:n].reshape(bins, per)
    vv = v[:n].reshape(bins, per)
    with np.errstate(invalid="ignore"):
        lo = np.nanmin(np.where(np.isnan(vv), np.inf, vv), axis=1)
        hi = np.nanmax(np.where(np.isnan(vv), -np.inf, vv), axis=1)
    lo = np.where(np.isinf(lo), np.nan, lo)
    hi = np.where(np.isinf(hi), np.nan, hi)
    out_t = np.repeat(tv[:, 0], 2)
    out_t[1::2] = tv[:, -1]
    out_v = np.empty(2 * bins)
    out_v[0::2], out_v[1::2] = lo, hi
    if n < t.size:
        out_t = np.concatenate((out_t, t[n:]))
        out_v = np.concatenate((out_v, v[n:]))
    return out_t, out_v


class PlotStack(QWidget):
    """One plot per unit, x axes linked (seconds since the run's start)."""

    cursor_moved = Signal(float)

    def __init__(self, theme: Theme = LIGHT, parent: Optional[QWidget] = None, *, grid: bool = True):
        super().__init__(parent)
        self.theme = theme
        # pyqtgraph's grid is drawn by the axes with alpha-blended lines across the whole plot,
        # repainted every frame: 10 ms a plot here (benchmarks/gui.py).  Live plots go without
        # it (the crosshair reads exact values); stored runs, drawn once, keep it.
        self.grid = grid
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.readout = QLabel(" ")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.layout_widget, 1)
        layout.addWidget(self.readout)
        self.plots: dict[str, pg.PlotItem] = {}  # unit -> plot
        self.curves: dict[str, pg.PlotDataItem] = {}  # channel -> curve
        self.channel_unit: dict[str, str] = {}
        self.data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._decor: list = []
        self._cursor_lines: list[pg.InfiniteLine] = []
        self.violation_items: list[tuple[str, float, float, pg.LinearRegionItem]] = []

    # --- building ---------------------------------------------------------------------------

    def clear(self) -> None:
        self.layout_widget.clear()
        self.plots.clear()
        self.curves.clear()
        self.channel_unit.clear()
        self.data.clear()
        self._decor.clear()
        self._cursor_lines.clear()
        self.violation_items.clear()

    def ensure_channel(self, name: str, unit: str) -> Optional[pg.PlotDataItem]:
        if name in HIDDEN_CHANNELS:
            return None
        curve = self.curves.get(name)
        if curve is not None:
            return curve
        plot = self.plots.get(unit)
        if plot is None:
            plot = self._add_plot(unit)
        color = self.theme.curves[len(self.curves) % len(self.theme.curves)]
        # 1 px cosmetic pens: a wide pen costs the raster engine several times more per segment.
        curve = plot.plot([], [], pen=pg.mkPen(color, width=1), name=name)
        # No setClipToView: redraw() hands over only the visible envelope already.
        curve.setSkipFiniteCheck(True)
        self.curves[name] = curve
        self.channel_unit[name] = unit
        return curve

    def _add_plot(self, unit: str) -> pg.PlotItem:
        first = next(iter(self.plots.values()), None)
        for above in self.plots.values():  # only the bottom plot has a time axis
            above.hideAxis("bottom")
        plot = self.layout_widget.addPlot(row=len(self.plots), col=0)
        if self.grid:
            plot.showGrid(x=True, y=True, alpha=0.25)
        plot.vb.setDefaultPadding(0.08)  # a flat line at the top of the data stays off the frame
        plot.addLegend(offset=(-8, 4), labelTextColor=self.theme.plot_foreground, brush=pg.mkBrush(self.theme.plot_background + "59"))
        axis = plot.getAxis("left")
        axis.setLabel(_unit_title(unit), units=unit if unit else None)
        axis.enableAutoSIPrefix(unit not in _NO_SI_PREFIX)
        axis.setWidth(72)
        plot.setLabel("bottom", "time since run start", units="s")
        if first is not None:
            plot.setXLink(first)
        line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(self.theme.muted, style=Qt.PenStyle.DashLine))
        line.setVisible(False)
        plot.addItem(line, ignoreBounds=True)
        self._cursor_lines.append(line)
        plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plots[unit] = plot
        return plot

    def plot_of(self, channel: str) -> Optional[pg.PlotItem]:
        unit = self.channel_unit.get(channel)
        return None if unit is None else self.plots.get(unit)

    # --- data -------------------------------------------------------------------------------

    def set_data(self, name: str, t: np.ndarray, v: np.ndarray) -> None:
        self.data[name] = (t, v)

    def redraw(self, x0: float, x1: float) -> None:
        """Hand each curve the envelope of what lies between x0 and x1."""
        width = max(int(self.layout_widget.width()), 200)
        for name, curve in self.curves.items():
            t, v = self.data.get(name, (np.empty(0), np.empty(0)))
            et, ev = envelope(t, v, x0, x1, width)
            curve.setData(et, ev, connect="finite")

    def set_x_range(self, x0: float, x1: float, *, settle_y: bool = True) -> None:
        """Show [x0, x1]; y follows the data.  ``settle_y`` computes y now (a stored run, drawn
        once) instead of at the next paint (the live view, 30 times a second: 3 ms saved)."""
        first = next(iter(self.plots.values()), None)
        if first is not None:
            first.setXRange(x0, x1, padding=0.0)
        for plot in self.plots.values():
            plot.vb.enableAutoRange(axis=pg.ViewBox.YAxis, enable=True)
            if settle_y:
                plot.vb.updateAutoRange()

    def set_theme(self, theme: Theme) -> None:
        """Restyle existing plots (pyqtgraph's global options only reach new ones)."""
        self.theme = theme
        self.layout_widget.setBackground(theme.plot_background)
        for plot in self.plots.values():
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(pg.mkPen(theme.plot_foreground))
                axis.setTextPen(pg.mkPen(theme.plot_foreground))
            if plot.legend is not None:
                plot.legend.setLabelTextColor(theme.plot_foreground)
                plot.legend.setBrush(pg.mkBrush(theme.plot_background + "59"))
        for i, curve in enumerate(self.curves.values()):
            curve.setPen(pg.mkPen(theme.curves[i % len(theme.curves)], width=1))
        self.readout.setStyleSheet(f"color: {theme.text};")

    # --- decorations ------------------------------------------------------------------------

    def add_limit_band(self, channel: str, band: Band, x0: float, x1: float) -> list[QGraphicsRectItem]:
        """Shade the pass band and its guard bands over [x0, x1] on the channel's plot."""
        plot = self.plot_of(channel)
        if plot is None:
            return []
        items = []
        big = 1e12
        low = band.low if band.low is not None else -big
        high = band.high if band.high is not None else big
        pieces = [(low, high, self.theme.limit_fill)]
        if band.marginal_low is not None:
            pieces.append((band.low, band.marginal_low, self.theme.guard_fill))
        if band.marginal_high is not None:
            pieces.append((band.marginal_high, band.high, self.theme.guard_fill))
        for y0, y1, color in pieces:
            rect = QGraphicsRectItem(QRectF(x0, y0, max(x1 - x0, 1e-9), y1 - y0))
            rect.setBrush(QBrush(QColor(color)))
            rect.setPen(pg.mkPen(None))
            rect.setZValue(-20)
            plot.vb.addItem(rect, ignoreBounds=True)
            items.append(rect)
        for y in (band.low, band.high):
            if y is not None:
                line = pg.PlotCurveItem([x0, x1], [y, y], pen=pg.mkPen(self.theme.muted, width=1, style=Qt.PenStyle.DotLine))
                plot.addItem(line, ignoreBounds=True)
                items.append(line)
        self._decor.extend(items)
        return items

    def stretch_band(self, items: list, x1: float) -> None:
        for item in items:
            if isinstance(item, QGraphicsRectItem):
                r = item.rect()
                item.setRect(QRectF(r.x(), r.y(), max(x1 - r.x(), 1e-9), r.height()))
            else:
                x, y = item.getData()
                item.setData([x[0], x1], y)

    def add_violation(self, channel: str, start: float, end: float) -> Optional[pg.LinearRegionItem]:
        plot = self.plot_of(channel)
        if plot is None:
            return None
        region = pg.LinearRegionItem(values=(start, max(end, start + 1e-3)), movable=False,
                                     brush=pg.mkBrush(self.theme.violation_fill), pen=pg.mkPen("#dc2626", width=1))
        region.setZValue(-5)
        plot.addItem(region, ignoreBounds=True)
        self.violation_items.append((channel, start, end, region))
        return region

    # --- crosshair ------------------------------------------------------------------------

    def _on_mouse_moved(self, pos) -> None:
        for plot in self.plots.values():
            if plot.sceneBoundingRect().contains(pos):
                x = plot.vb.mapSceneToView(pos).x()
                self.show_cursor(x)
                return

    def show_cursor(self, x: float) -> None:
        for line in self._cursor_lines:
            line.setVisible(True)
            line.setValue(x)
        parts = [f"<b>t = {x:.3f} s</b>"]
        for name in self.curves:
            t, v = self.data.get(name, (np.empty(0), np.empty(0)))
            value = value_at(t, v, x)
            unit = self.channel_unit.get(name, "")
            parts.append(f"{name} = {'—' if value is None else f'{value:.6g}'}{(' ' + unit) if unit else ''}")
        self.readout.setText(" &nbsp; ".join(parts))
        self.cursor_moved.emit(x)


def value_at(t: np.ndarray, v: np.ndarray, x: float) -> Optional[float]:
    """The value of the last sample at or before x (what the rig had said by then)."""
    if t.size == 0 or not math.isfinite(x):
        return None
    k = int(np.searchsorted(t, x, side="right")) - 1
    return None if k < 0 else float(v[k])


def _unit_title(unit: str) -> str:
    # Short: the title must fit along a plot a fifth of the window high.
    return {
        "V": "Rails", "A": "Current", "W": "Power", "°C": "Temp", "C": "Temp",
        "Hz": "Clock", "MHz": "Clock", "rpm": "Fan", "": "Value",
    }.get(unit, unit)
