"""Stacked telemetry plots: limit bands, violation marks, step and command markers, crosshair.

Every channel a plan judges gets a plot of its own whose y axis is held around its limits,
so a 60 mV band on a 0.75 V rail fills the plot instead of being a 2 px line under a shared
0-1.9 V axis.  The other channels share a plot per unit.  Channel names are written on each
plot's axis in their curve's colour (no legend box lying over the data).

Each curve gets only what the screen can show: the visible samples reduced to a min/max
envelope of about two points per horizontal pixel (docs/architecture.md, "Known traps"), so a
frame's cost follows the pixels, not the run's length.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsItem,
    QGraphicsRectItem,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from labbench.criteria.limits import Band
from labbench.ui.crosshair import Crosshair
from labbench.ui.cursors import NO_SI_PREFIX, CursorPair
from labbench.ui.curve_group import Curve, CurveGroup
from labbench.ui.envelope import envelope
from labbench.ui.marker_items import Mark, MarkerLines, MarkerNames
from labbench.ui.plot_limits import limit_span
from labbench.ui.plot_marks import PlotMarks
from labbench.ui.plot_ranges import PlotRanges
from labbench.ui.slot_plots import SlotPlots
from labbench.ui.sticky_axis import StickyTimeAxis
from labbench.ui.theme import LIGHT, Theme, qcolor
from labbench.ui.time_axis import style_time_strip, time_strip

# Bookkeeping channels (the rig's line counter) are stored but not plotted.
HIDDEN_CHANNELS = {"seq"}
# Below this a plot's numbers and band stop being readable: the stack scrolls instead.
MIN_PLOT_HEIGHT = 110


class _Layout(pg.GraphicsLayoutWidget):
    painted = Signal()  # a frame is on screen (the live view's drawing turn ends)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        self.painted.emit()


class PlotStack(SlotPlots, PlotMarks, PlotRanges, Crosshair, QWidget):
    """Judged channels one plot each, the others one plot per unit, x axes linked (seconds
    since the run's start)."""

    cursor_moved = Signal(float)
    shown_changed = Signal()  # the stack was scrolled or resized: other plots may be in view

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None, *, grid: bool = True):
        super().__init__(parent)
        self.theme = theme
        # pyqtgraph's grid is drawn by the axes with alpha-blended lines across the whole plot,
        # repainted every frame: 10 ms a plot here (benchmarks/gui.py).  Live plots go without
        # it (the crosshair reads exact values); stored runs, drawn once, keep it.
        self.grid = grid
        self.layout_widget = _Layout()
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.layout_widget)
        self.sticky = StickyTimeAxis(self.scroll, self.layout_widget, theme)
        self.readout = QLabel(" ")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setWordWrap(True)
        self.cursor_readout = QLabel("")
        self.cursor_readout.setTextFormat(Qt.TextFormat.RichText)
        self.cursor_readout.setWordWrap(True)
        self.cursor_readout.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.readout)
        layout.addWidget(self.cursor_readout)
        self.plots: dict[str, pg.PlotItem] = {}  # plot key (a unit, or "channel:<name>") -> plot
        self.curves: dict[str, Curve] = {}  # channel -> curve
        self._groups: dict[str, CurveGroup] = {}  # plot key -> the item drawing its curves
        self.channel_unit: dict[str, str] = {}
        self.channel_key: dict[str, str] = {}
        self.data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.limits: dict[str, tuple[float | None, float | None]] = {}  # judged channel -> span
        # plot key -> y axis held on the limits (not zoomed by hand)
        self.focused: dict[str, bool] = {}
        self._steadied: set[str] = set()  # plots whose y live frames hold, autorange off
        # Samples between two times for the cursor statistics; the live view hands the rings.
        self.sample_source: Callable[[str, float, float], tuple[np.ndarray, np.ndarray]] | None = (
            None
        )
        # The value of a channel's last sample at or before a time, for the crosshair's
        # readout; the live view hands the rings' (its plots out of view hold no data).
        self.value_source: Callable[[str, float], float | None] | None = None
        self._decor: list = []
        self._markers: list[Mark] = []
        self._marker_items: dict[str, MarkerLines] = {}  # plot key -> its markers' lines
        self._marker_names: MarkerNames | None = None  # their names, in the lane
        self._cursor_lines: list[pg.InfiniteLine] = []
        self.lane: pg.PlotItem | None = None
        self.violation_items: list[tuple[str, float, float, pg.LinearRegionItem]] = []
        self.cursors = CursorPair(self)
        self.layout_widget.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.scroll.verticalScrollBar().valueChanged.connect(lambda _: self.shown_changed.emit())

    # --- building ---------------------------------------------------------------------------

    def clear(self) -> None:
        self.cursors.detach()
        self.layout_widget.clear()
        self.plots.clear()
        self.curves.clear()
        self._groups.clear()
        self.channel_unit.clear()
        self.channel_key.clear()
        self.data.clear()
        self.limits.clear()
        self.focused.clear()
        self._steadied.clear()
        self._decor.clear()
        self._markers.clear()
        self._marker_items.clear()
        self._marker_names = None
        self.lane = None
        self.sticky.follow(None)
        self._cursor_lines.clear()
        self.violation_items.clear()
        self.readout.setText(" ")
        self.layout_widget.setMinimumHeight(0)

    def set_limits(self, bands: dict[str, list[Band]]) -> None:
        """Name the channels the plan judges (before their curves are made): each gets its own
        plot with the y axis held around its limits."""
        for channel, channel_bands in bands.items():
            if channel_bands:
                self.limits[channel] = limit_span(channel_bands)

    def ensure_channel(self, name: str, unit: str) -> Curve | None:
        if name in HIDDEN_CHANNELS:
            return None
        curve = self.curves.get(name)
        if curve is not None:
            return curve
        key = self.plot_key(name, unit)
        plot = self.plots.get(key)
        if plot is None:
            plot = self._add_plot(key, unit)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = CurveGroup()
            plot.addItem(group)
        color = self.curve_color(name, len(self.curves))
        # 1 px cosmetic pens: a wide pen costs the raster engine several times more per segment.
        # No clipping to the view: redraw() hands over only the visible envelope already.
        curve = group.add(pg.mkPen(color, width=1))
        self.curves[name] = curve
        self.channel_unit[name] = unit
        self.channel_key[name] = key
        self._label(key)
        return curve

    def _add_plot(self, key: str, unit: str) -> pg.PlotItem:
        first = next(iter(self.plots.values()), None)
        plot = self.layout_widget.addPlot(row=len(self.plots) + 1, col=0)
        plot.hideAxis("bottom")  # the one time axis is on the strip above the plots
        if self.grid:
            plot.showGrid(x=True, y=True, alpha=0.25)
        plot.vb.setDefaultPadding(0.08)  # a flat line at the top of the data stays off the frame
        axis = plot.getAxis("left")
        axis.enableAutoSIPrefix(unit not in NO_SI_PREFIX)
        axis.setWidth(72)
        # Redrawn only when the plot's y range or its title changes, not at every frame.
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        if first is not None:
            plot.setXLink(first)
        else:
            self._add_lane(plot)
        if key.startswith("channel:"):
            plot.vb.disableAutoRange(axis=pg.ViewBox.YAxis)
            self.focused[key] = True
            plot.vb.sigRangeChangedManually.connect(
                lambda *_, k=key: self.focused.__setitem__(k, False)
            )
        self.plots[key] = plot
        if self._markers:
            self._marker_lines(key, plot)
        self._quiet_axes(plot)
        self._fit_heights()
        self.cursors.attach(plot)
        return plot

    @staticmethod
    def _quiet_axes(plot: pg.PlotItem) -> None:
        """The hidden axes of a plot still follow its view and, with an SI prefix, re-rendered
        their unit label as HTML at every move of the x axis: 18 a frame on a sled's stack."""
        for name in ("top", "bottom", "right"):
            axis = plot.getAxis(name)
            if not axis.isVisible():
                axis.enableAutoSIPrefix(False)

    def _add_lane(self, first: pg.PlotItem) -> None:
        """A thin strip above the plots for step names and commands sent (their labels never
        lie over data) and the time axis, kept in sight when the stack scrolls by a copy
        over the scroll area (``StickyTimeAxis``)."""
        lane = time_strip(self.layout_widget, row=0, col=0)
        lane.setMaximumHeight(72)
        lane.setMinimumHeight(72)
        # The one time axis (each costs a few ms a frame to paint), on top: in sight however
        # far the stack is scrolled (the sticky copy).
        lane.setYRange(0.0, 2.0, padding=0.0)
        lane.setXLink(first)
        self._quiet_axes(lane)
        self.lane = lane
        self.sticky.follow(lane)

    def _channel_label(self, key: str) -> None:
        """The plot's axis title: its channels' names in their curves' colours (a plot of a
        per-slot channel's slots is titled by ``SlotPlots._label``)."""
        plot = self.plots[key]
        names = [n for n, k in self.channel_key.items() if k == key]
        unit = self.channel_unit[names[0]] if names else ""
        spans = []
        for name in names:
            color = self.curves[name].opts["pen"].color().name()
            spans.append(
                f'<span style="color:{color}; font-weight:bold">{html.escape(name)}</span>'
            )
        # The label is centred on the plot and would spill onto its neighbours' if longer than
        # the plot is high: several names go on two lines (the axis is wide enough for two).
        half = (len(spans) + 1) // 2
        text = (
            " ".join(spans)
            if len(spans) < 2
            else " ".join(spans[:half]) + "<br>" + " ".join(spans[half:])
        )
        plot.getAxis("left").setLabel(
            text or _unit_title(unit),
            units=unit if unit else None,
            color=self.theme.plot_foreground,
        )
        self._fit_heights()

    def _fit_heights(self) -> None:
        """Each plot at least as high as its axis title is long (it runs up the plot): a
        plot of three channels squeezed under 110 px wrote their names over one another and
        over the plot above. The stack scrolls instead."""
        total = 90
        for plot in self.plots.values():
            label = plot.getAxis("left").label
            needed = int(label.boundingRect().width()) + 24 if label.isVisible() else 0
            total += max(MIN_PLOT_HEIGHT, needed)
            plot.setMinimumHeight(max(MIN_PLOT_HEIGHT, needed) if needed > MIN_PLOT_HEIGHT else 0)
        self.layout_widget.setMinimumHeight(total)

    def scroll_to(self, channel: str) -> None:
        """Bring the channel's plot into sight when the stack scrolls."""
        plot = self.plot_of(channel)
        if plot is None:
            return
        rect = plot.sceneBoundingRect()
        top = self.layout_widget.mapFromScene(rect.topLeft())
        # Under the time axis kept over the scrolled stack, not behind it.
        margin = int(rect.height() / 2) + self.sticky.reach()
        self.scroll.ensureVisible(top.x(), int(top.y() + rect.height() / 2), 0, margin)

    def plot_of(self, channel: str) -> pg.PlotItem | None:
        key = self.channel_key.get(channel)
        return None if key is None else self.plots.get(key)

    # --- data -------------------------------------------------------------------------------

    def set_data(self, name: str, t: np.ndarray, v: np.ndarray) -> None:
        self.data[name] = (t, v)

    def keys_in_view(self) -> set[str]:
        """The plots the scroll area shows any of (a plot not laid out yet counts as shown).
        The live view hands data only to these: on a sled's stack at 1400 x 900 two or three
        of ten plots are in view, and the others' curves cost a frame as much as these."""
        top = self.scroll.verticalScrollBar().value()
        bottom = top + self.scroll.viewport().height()
        shown = set()
        for key, plot in self.plots.items():
            rect = plot.sceneBoundingRect()
            if rect.height() <= 0 or (rect.bottom() >= top and rect.top() <= bottom):
                shown.add(key)
        return shown

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.shown_changed.emit()

    def redraw(self, x0: float, x1: float, keys: set[str] | None = None) -> None:
        """Hand each curve the envelope of what lies between x0 and x1 (only the plots in
        ``keys``, when given); hold judged channels' y axes on their limits and what the data
        does near them."""
        width = max(int(self.layout_widget.width()), 200)
        live = keys is not None  # a live frame: every plot's y held steady (plot_ranges.py)
        seen: dict[str, tuple[float, float]] = {}  # held plot -> the data's min and max
        for name, curve in self.curves.items():
            key = self.channel_key[name]
            if not curve.isVisible() or (live and key not in keys):
                continue  # another slot's while one slot is shown, or a plot out of view
            t, v = self.data.get(name, (np.empty(0), np.empty(0)))
            curve.setData(*envelope(t, v, x0, x1, width), connect="finite")
            if (live or self.focused.get(key, False)) and curve.bounds is not None:
                low, high = seen.get(key, (math.inf, -math.inf))
                seen[key] = (min(low, curve.bounds[2]), max(high, curve.bounds[3]))
        self._hold_ranges(seen, keys)

    def zoom_to(self, channel: str, start: float, end: float, extreme: float | None = None) -> None:
        """Both axes onto a violation: its time with a margin, and on its channel's plot the
        limits and the extreme value it reached."""
        margin = max((end - start) * 2.0, 0.5)
        x0, x1 = start - margin, end + margin
        self.redraw(x0, x1)
        self.set_x_range(x0, x1)
        plot = self.plot_of(channel)
        if plot is None:
            return
        t, v = self.data.get(channel, (np.empty(0), np.empty(0)))
        a, b = np.searchsorted(t, x0), np.searchsorted(t, x1, side="right")
        seen = v[a:b][~np.isnan(v[a:b])]
        values = list(seen[[int(np.argmin(seen)), int(np.argmax(seen))]]) if seen.size else []
        values += [
            x
            for x in (extreme, *self.limits.get(channel, (None, None)))
            if x is not None and math.isfinite(x)
        ]
        if not values:
            return
        y0, y1 = min(values), max(values)
        pad = 0.15 * ((y1 - y0) or abs(y1) or 1.0)
        key = self.channel_key[channel]
        if key in self.focused:
            self.focused[key] = False
        plot.vb.disableAutoRange(axis=pg.ViewBox.YAxis)
        plot.vb.setYRange(y0 - pad, y1 + pad, padding=0.0)

    def set_theme(self, theme: Theme) -> None:
        """Restyle existing plots (pyqtgraph's global options only reach new ones)."""
        self.theme = theme
        self.layout_widget.setBackground(theme.plot_background)
        self.sticky.set_theme(theme)
        for plot in self.plots.values():
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(pg.mkPen(theme.plot_foreground))
                axis.setTextPen(pg.mkPen(theme.plot_foreground))
        for i, (name, curve) in enumerate(self.curves.items()):
            curve.setPen(pg.mkPen(self.curve_color(name, i), width=1))
        for key in self.plots:
            self._label(key)
        if self.lane is not None:
            style_time_strip(self.lane, theme.plot_foreground)
        for item in (*self._marker_items.values(), self._marker_names):
            if item is not None:
                item.set_theme(theme)
        fills = {"pass": theme.limit_fill, "guard": theme.guard_fill}
        for item in self._decor:
            if isinstance(item, QGraphicsRectItem):
                item.setBrush(QBrush(qcolor(fills[item.data(0)])))
            else:
                item.setPen(pg.mkPen(theme.muted, width=1, style=Qt.PenStyle.DashLine))
        for _, _, _, region in self.violation_items:
            region.setBrush(pg.mkBrush(theme.violation_fill))
        self.readout.setStyleSheet(f"color: {theme.text};")
        self.cursor_readout.setStyleSheet(f"color: {theme.text};")
        self.cursors.set_theme(theme)

    def samples_between(self, name: str, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        if self.sample_source is not None:
            return self.sample_source(name, t0, t1)
        t, v = self.data.get(name, (np.empty(0), np.empty(0)))
        a, b = np.searchsorted(t, t0, side="left"), np.searchsorted(t, t1, side="right")
        return t[a:b], v[a:b]


def _unit_title(unit: str) -> str:
    # Short: the title must fit along a plot a fifth of the window high.
    return {
        "V": "Rails",
        "A": "Current",
        "W": "Power",
        "°C": "Temp",
        "C": "Temp",
        "Hz": "Clock",
        "MHz": "Clock",
        "rpm": "Fan",
        "": "Value",
    }.get(unit, unit)
