"""The time axis kept in sight over a scrolled plot stack.

The stack's one time axis is on the lane above its first plot, and the lane scrolls with the
plots: a 16-chip sled's stack at 1400 x 900 shows two or three of its ten plots, and a chip
picked in History scrolls to that chip's plot, so the plots were read without a time axis.
While the lane's axis is scrolled out of sight, a copy of it is drawn over the top of the
scroll area, at the same place and width, following the lane's range (docs/architecture.md
§8, "A laptop's screen").  The lane stays where it is: reports and File > Save view render
the stack's own scene, where nothing changes.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt

from labbench.ui.theme import Theme
from labbench.ui.time_axis import style_time_strip, time_strip


class StickyTimeAxis(pg.GraphicsLayoutWidget):
    def __init__(self, scroll, layout_widget: pg.GraphicsLayoutWidget, theme: Theme):
        super().__init__(parent=scroll.viewport())
        self.scroll, self.source = scroll, layout_widget
        self.lane: pg.PlotItem | None = None
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # The lane's margins, so the axis lies over the plots' x extent as the lane's does.
        self.ci.layout.setContentsMargins(*layout_widget.ci.layout.getContentsMargins())
        self.plot = time_strip(self)
        self.axis = self.plot.getAxis("top")
        self.set_theme(theme)
        self.hide()
        scroll.verticalScrollBar().valueChanged.connect(lambda _: self.place())
        scroll.viewport().installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.scroll.viewport() and event.type() == QEvent.Type.Resize:
            self.place()
        return super().eventFilter(watched, event)

    def follow(self, lane: pg.PlotItem | None) -> None:
        """Copy this lane's time axis (None: the stack was cleared)."""
        if self.lane is not None:
            try:
                self.lane.vb.sigXRangeChanged.disconnect(self._on_range)
            except (RuntimeError, TypeError):
                pass  # the lane is gone with the stack's scene
        self.lane = lane
        if lane is not None:
            lane.vb.sigXRangeChanged.connect(self._on_range)
        self.place()

    def _on_range(self, _view, x_range) -> None:
        if self.isVisible():
            self.plot.setXRange(*x_range, padding=0.0)

    def _axis_span(self) -> tuple[float, float]:
        """The lane's axis, top and bottom, in the scrolled widget's coordinates."""
        rect = self.lane.getAxis("top").sceneBoundingRect()
        top = self.source.mapFromScene(rect.topLeft()).y()
        return top, self.source.mapFromScene(rect.bottomLeft()).y()

    def reach(self) -> int:
        """How far down the scroll area it covers when shown: a plot scrolled to is placed
        under it (the lane's margin above its axis, and the axis)."""
        return 0 if self.lane is None else round(self._axis_span()[1]) + 1

    def place(self) -> None:
        """Shown while the lane's axis is scrolled out of sight, even in part."""
        lane = self.lane
        if lane is None:
            self.hide()
            return
        if self.scroll.verticalScrollBar().value() <= self._axis_span()[0] + 1:
            self.hide()
            return
        self.setGeometry(0, 0, self.scroll.viewport().width(), self.reach())
        if self.isHidden():
            self.plot.setXRange(*lane.vb.viewRange()[0], padding=0.0)
            self.show()
            self.raise_()

    def set_theme(self, theme: Theme) -> None:
        self.setBackground(theme.plot_background)
        style_time_strip(self.plot, theme.plot_foreground)
