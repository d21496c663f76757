"""Every curve of one plot drawn by one graphics item.

A sled's plot of ``vdd_core`` holds 16 slots' curves; the live view's 131 channels made 131
pyqtgraph ``PlotDataItem`` objects, and each cost about 0.25 ms of Python a frame to take its
data and 0.3 ms to paint, whatever its number of points (benchmarks/sled.py).  A
:class:`CurveGroup` is one item per plot: each channel's :class:`Curve` keeps its data, pen and
visibility, the group turns a changed curve into a ``QPainterPath`` once and paints the
visible ones in order.  Its bounds are the visible curves' data bounds, so a plot whose y axis
follows the data still autoranges (docs/architecture.md §1, "Known traps" for the envelopes
the curves are handed).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter, QPainterPath, QPen


class Curve:
    """One channel's curve in a :class:`CurveGroup`; the part of ``PlotDataItem``'s interface
    the plot stack uses (``setData``, ``getData``, ``setPen``, ``opts["pen"]``, visibility)."""

    def __init__(self, group: CurveGroup, pen: QPen):
        self.group = group
        self.opts = {"pen": pen}
        self._visible = True
        self.x = np.empty(0)
        self.y = np.empty(0)
        self.connect = "all"
        self.path: QPainterPath | None = None
        self.bounds: tuple[float, float, float, float] | None = None  # x0, x1, y0, y1

    def setData(self, x, y, connect: str = "all") -> None:
        self.x, self.y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        self.connect = connect
        self.path = None
        self.bounds = _bounds(self.x, self.y)
        self.group.curve_changed()

    def getData(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x, self.y

    def setPen(self, pen: QPen) -> None:
        self.opts["pen"] = pen
        self.group.update()

    def setVisible(self, visible: bool) -> None:
        if visible != self._visible:
            self._visible = visible
            self.group.curve_changed()

    def isVisible(self) -> bool:
        return self._visible

    def painter_path(self) -> QPainterPath:
        if self.path is None:
            self.path = (
                pg.arrayToQPath(self.x, self.y, connect=self.connect)
                if self.x.size > 1
                else QPainterPath()
            )
        return self.path


class CurveGroup(pg.GraphicsObject):
    """The curves of one plot, painted in the order they were added."""

    def __init__(self):
        super().__init__()
        self.curves: list[Curve] = []
        self._rect: QRectF | None = None
        self._told = False  # a change was announced and nothing has asked for the bounds since

    def add(self, pen: QPen) -> Curve:
        curve = Curve(self, pen)
        self.curves.append(curve)
        return curve

    def curve_changed(self) -> None:
        # Once until the next paint or bounds query, however many curves changed meanwhile.
        if self._rect is None and self._told:
            return
        self.prepareGeometryChange()
        self._rect = None
        self._told = True
        self.informViewBoundsChanged()
        self.update()

    def _visible_bounds(self) -> tuple[float, float, float, float] | None:
        spans = [c.bounds for c in self.curves if c.isVisible() and c.bounds is not None]
        if not spans:
            return None
        return (
            min(s[0] for s in spans),
            max(s[1] for s in spans),
            min(s[2] for s in spans),
            max(s[3] for s in spans),
        )

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):
        """What a ViewBox asks to autorange: the visible curves' data on axis ``ax``."""
        self._told = False
        bounds = self._visible_bounds()
        if bounds is None:
            return (None, None)
        return bounds[0:2] if ax == 0 else bounds[2:4]

    def boundingRect(self) -> QRectF:
        self._told = False
        if self._rect is None:
            bounds = self._visible_bounds()
            if bounds is None:
                self._rect = QRectF()
            else:
                x0, x1, y0, y1 = bounds
                # A flat line still has a height to paint in: one pixel's worth each side.
                px = self.pixelVectors()[1]
                pad = 2.0 * (px.y() if px is not None else 0.0) or 1e-9 * max(abs(y0), 1.0)
                self._rect = QRectF(x0, y0 - pad, max(x1 - x0, 1e-12), (y1 - y0) + 2 * pad)
        return self._rect

    def viewTransformChanged(self) -> None:
        super().viewTransformChanged()
        self.prepareGeometryChange()
        self._rect = None

    def paint(self, painter: QPainter, *args) -> None:
        painter.setRenderHint(
            QPainter.RenderHint.Antialiasing, bool(pg.getConfigOption("antialias"))
        )
        for curve in self.curves:
            if curve.isVisible() and curve.x.size > 1:
                painter.setPen(curve.opts["pen"])
                painter.drawPath(curve.painter_path())


def _bounds(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float] | None:
    if x.size == 0:
        return None
    finite = y[np.isfinite(y)]
    if finite.size == 0:
        return None
    x0, x1 = float(x[0]), float(x[-1])  # times, in order
    if not (math.isfinite(x0) and math.isfinite(x1)):
        return None
    return x0, x1, float(finite.min()), float(finite.max())
