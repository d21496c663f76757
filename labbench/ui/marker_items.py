"""Step and command markers drawn by one graphics item per plot, and their names by one item in
the lane above the plots.

A ``pg.InfiniteLine`` per marker per plot, and a ``pg.TextItem`` per name, each recomputed its
bounds and position in Python whenever the x axis moved: the live view moves it every frame,
and a sled plan's seven markers over nine plots cost several milliseconds a frame
(benchmarks/sled.py).  These items keep their marks in a list, take the view's rectangle as
their bounds (one call per frame, cached until the view moves) and paint every mark in one go.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPen

from labbench.ui.theme import Theme


@dataclass(frozen=True)
class Mark:
    """A step boundary (``step``) or a command sent to the rig (``command``) at ``x`` seconds."""

    x: float
    text: str
    kind: str


def mark_pen(theme: Theme, kind: str) -> QPen:
    step = kind == "step"
    return pg.mkPen(
        theme.muted if step else theme.marker,
        width=1,
        style=Qt.PenStyle.SolidLine if step else Qt.PenStyle.DotLine,
    )


class _ViewSpanItem(pg.GraphicsObject):
    """An item whose bounds are its view's visible rectangle, cached until the view moves."""

    def __init__(self, theme: Theme):
        super().__init__()
        self.theme = theme
        self.marks: list[Mark] = []
        self._rect: QRectF | None = None

    def add(self, mark: Mark) -> None:
        self.marks.append(mark)
        self.update()

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.update()

    def viewTransformChanged(self) -> None:
        super().viewTransformChanged()  # drops the cached view rectangle
        self.prepareGeometryChange()
        self._rect = None

    def boundingRect(self) -> QRectF:
        if self._rect is None:
            rect = self.viewRect()
            self._rect = QRectF() if rect is None else QRectF(rect)
        return self._rect


class MarkerLines(_ViewSpanItem):
    """Every marker of one plot: a vertical line across the plot at each mark."""

    def paint(self, painter: QPainter, *args) -> None:
        rect = self.boundingRect()
        if rect.isEmpty() or not self.marks:
            return
        top, bottom = rect.top(), rect.bottom()
        left, right = rect.left(), rect.right()
        for kind in ("step", "command"):
            painter.setPen(mark_pen(self.theme, kind))
            for mark in self.marks:
                if mark.kind == kind and left <= mark.x <= right:
                    painter.drawLine(QPointF(mark.x, top), QPointF(mark.x, bottom))


class MarkerNames(_ViewSpanItem):
    """The markers' names in the lane: steps on the upper row, commands on the lower, each
    starting just right of its line and cut short (with an ellipsis) where the next name in
    its row begins, so that two names never write over one another."""

    ROW_Y = {"step": 1.5, "command": 0.5}  # the lane's y range is 0..2
    GAP_PX = 6  # between a name's end and the next line

    def paint(self, painter: QPainter, *args) -> None:
        rect = self.boundingRect()
        if rect.isEmpty() or not self.marks:
            return
        to_device = painter.transform()
        width = painter.device().width() if painter.device() is not None else 1 << 16
        painter.save()
        painter.resetTransform()
        metrics = painter.fontMetrics()
        for kind, y in self.ROW_Y.items():
            # A name runs up to the next name (a sweep's later points have a line, no name).
            row = sorted((m for m in self.marks if m.kind == kind and m.text), key=lambda m: m.x)
            places = [to_device.map(QPointF(m.x, y)) for m in row]
            color = self.theme.plot_foreground if kind == "step" else self.theme.marker
            painter.setPen(pg.mkPen(color))
            rooms = name_rooms([at.x() for at in places], width, self.GAP_PX)
            for mark, at, room in zip(row, places, rooms, strict=True):
                if room < metrics.horizontalAdvance("…") * 2:
                    continue  # no room before the next line, or off the plot
                text = metrics.elidedText(mark.text, Qt.TextElideMode.ElideRight, room)
                baseline = at.y() + (metrics.ascent() - metrics.descent()) / 2
                painter.drawText(QPointF(at.x() + 3, baseline), text)
        painter.restore()


def name_rooms(xs: list[float], width: float, gap: float) -> list[int]:
    """The pixels each name may take: from 3 px right of its line to ``gap`` before the next
    line of its row (or the lane's right edge); 0 for a line off either side."""
    rooms = []
    for i, x in enumerate(xs):
        end = min(xs[i + 1] if i + 1 < len(xs) else width, width)
        if x > width or end < 0:
            rooms.append(0)
            continue
        rooms.append(max(int(min(end - x, width)) - 3 - int(gap), 0))  # (zoomed: far off)
    return rooms


def step_marker_name(step) -> str:
    """The name a step's marker shows: a sweep's first point names the sweep and its axes."""
    if step.point is None:
        return step.name
    return f"{step.point.sweep} ▸ sweep of {step.point.x_name}" + (
        f" × {step.point.y_name}" if step.point.y_name else ""
    )
