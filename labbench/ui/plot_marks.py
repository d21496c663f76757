"""Marks drawn on the plot stack: limit and guard bands, violation regions, and the step and
command markers across every plot with their names in the lane above them."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QGraphicsLineItem, QGraphicsRectItem

from labbench.criteria.limits import Band
from labbench.ui.marker_items import Mark, MarkerLines, MarkerNames
from labbench.ui.theme import qcolor


class PlotMarks:
    """The marking half of ``PlotStack``; it uses the stack's ``plot_of``, ``plots``, ``lane``,
    ``theme`` and its lists of drawn items."""

    def add_limit_band(self, channel: str, band: Band, x0: float, x1: float) -> list:
        """Shade the pass band and its guard bands over [x0, x1] on the channel's plot."""
        plot = self.plot_of(channel)
        if plot is None:
            return []
        items = []
        # A one-sided band reaches far past anything plotted, but not so far that the painter's
        # device coordinates overflow (1e12 drew a 85 °C upper limit's band above the limit).
        edges = [x for x in (band.low, band.high) if x is not None]
        far = 1e3 * max(max(abs(x) for x in edges), 1.0) + 1e3 * (
            (band.high - band.low) if len(edges) == 2 else 0.0
        )
        low = band.low if band.low is not None else band.high - far
        high = band.high if band.high is not None else band.low + far
        pass_low = band.marginal_low if band.marginal_low is not None else low
        pass_high = band.marginal_high if band.marginal_high is not None else high
        pieces = [(pass_low, pass_high, self.theme.limit_fill, "pass")]
        if band.marginal_low is not None:
            pieces.append((low, band.marginal_low, self.theme.guard_fill, "guard"))
        if band.marginal_high is not None:
            pieces.append((band.marginal_high, high, self.theme.guard_fill, "guard"))
        for y0, y1, color, kind in pieces:
            rect = QGraphicsRectItem(QRectF(x0, y0, max(x1 - x0, 1e-9), y1 - y0))
            rect.setBrush(QBrush(qcolor(color)))
            rect.setPen(pg.mkPen(None))
            rect.setZValue(-20)
            rect.setData(0, kind)
            plot.vb.addItem(rect, ignoreBounds=True)
            items.append(rect)
        for y in (band.low, band.high):
            if y is not None:
                # A plain Qt line: a pyqtgraph curve item recomputed its bounds in Python at
                # every move of the x axis, each frame of the live view.
                line = QGraphicsLineItem(x0, y, x1, y)
                line.setPen(pg.mkPen(self.theme.muted, width=1, style=Qt.PenStyle.DashLine))
                plot.vb.addItem(line, ignoreBounds=True)
                items.append(line)
        self._decor.extend(items)
        return items

    def band_items(self, channel: str) -> list[QGraphicsRectItem]:
        """The shaded band rectangles on a channel's plot."""
        plot = self.plot_of(channel)
        if plot is None:
            return []
        return [
            item
            for item in self._decor
            if isinstance(item, QGraphicsRectItem) and item.parentItem() is plot.vb.childGroup
        ]

    def stretch_band(self, items: list, x1: float) -> None:
        for item in items:
            if isinstance(item, QGraphicsRectItem):
                r = item.rect()
                item.setRect(QRectF(r.x(), r.y(), max(x1 - r.x(), 1e-9), r.height()))
            else:
                line = item.line()
                item.setLine(line.x1(), line.y1(), x1, line.y2())

    def add_violation(
        self, channel: str, start: float, end: float, extreme: float | None = None
    ) -> pg.LinearRegionItem | None:
        plot = self.plot_of(channel)
        if plot is None:
            return None
        region = pg.LinearRegionItem(
            values=(start, max(end, start + 1e-3)),
            movable=False,
            brush=pg.mkBrush(self.theme.violation_fill),
            pen=pg.mkPen("#dc2626", width=1),
        )
        region.setZValue(-5)
        region.extreme = extreme
        plot.addItem(region, ignoreBounds=True)
        self.violation_items.append((channel, start, end, region))
        return region

    def clear_violations(self) -> None:
        for _, _, _, region in self.violation_items:
            view = region.getViewBox()
            if view is not None:
                view.removeItem(region)
        self.violation_items.clear()

    def add_marker(self, x: float, text: str, kind: str = "step") -> None:
        """A vertical line across every plot at x, named in the strip above them: a step
        boundary (``step``, upper row) or a command sent to the rig (``command``, lower row)."""
        if self.lane is None:
            return
        mark = Mark(x, text, kind)
        self._markers.append(mark)
        for key, plot in self.plots.items():
            if key in self._marker_items:
                self._marker_items[key].add(mark)
            else:
                self._marker_lines(key, plot)  # made with every mark so far, this one too
        if self._marker_names is None:
            self._marker_names = MarkerNames(self.theme)
            self.lane.addItem(self._marker_names, ignoreBounds=True)
        self._marker_names.add(mark)

    def _marker_lines(self, key: str, plot: pg.PlotItem) -> MarkerLines:
        lines = self._marker_items.get(key)
        if lines is None:
            lines = self._marker_items[key] = MarkerLines(self.theme)
            lines.setZValue(-4)
            for mark in self._markers:
                lines.add(mark)  # a plot made after the first markers gets them too
            plot.addItem(lines, ignoreBounds=True)
        return lines

    def markers(self, kind: str | None = None) -> list[Mark]:
        return [m for m in self._markers if kind is None or m.kind == kind]

    def fit_y(self, x0: float, x1: float) -> None:
        """Each plot's y axis onto what its shown curves do between x0 and x1, its limits let
        go (as a user's zoom does): a sweep point's rail at 600 mV is in sight, not under a
        band held at 720-780 mV."""
        for key, plot in self.plots.items():
            low, high = math.inf, -math.inf
            for name, curve_key in self.channel_key.items():
                if curve_key != key or not self.curves[name].isVisible():
                    continue
                t, v = self.data.get(name, (np.empty(0), np.empty(0)))
                a, b = np.searchsorted(t, x0), np.searchsorted(t, x1, side="right")
                seen = v[a:b][np.isfinite(v[a:b])]
                if seen.size:
                    low, high = min(low, float(seen.min())), max(high, float(seen.max()))
            if low > high:
                continue
            if key in self.focused:
                self.focused[key] = False
            plot.vb.disableAutoRange(axis=pg.ViewBox.YAxis)
            margin = (high - low) * 0.1 or max(abs(high) * 0.01, 1e-9)
            plot.vb.setYRange(low - margin, high + margin, padding=0.0)
