"""The plot stack's crosshair: a dashed line across every plot where the pointer is, and a
readout of each shown channel's value there, in its curve's colour."""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt


class Crosshair:
    """The crosshair half of ``PlotStack``; it uses the stack's ``plots``, ``curves``,
    ``data``, ``channel_unit``, ``readout``, ``theme``, ``value_source`` and
    ``cursor_moved``."""

    def _on_mouse_moved(self, pos) -> None:
        for plot in self.plots.values():
            if plot.sceneBoundingRect().contains(pos):
                x = plot.vb.mapSceneToView(pos).x()
                self.show_cursor(x)
                return

    def show_cursor(self, x: float) -> None:
        if len(self._cursor_lines) != len(self.plots):
            self._make_cursor_lines()
        for line in self._cursor_lines:
            line.setVisible(True)
            line.setValue(x)
        parts = [f"<b>t = {x:.3f} s</b>"]
        for name, curve in self.curves.items():
            if not curve.isVisible():
                continue
            if self.value_source is not None:
                value = self.value_source(name, x)
            else:
                value = value_at(*self.data.get(name, (np.empty(0), np.empty(0))), x)
            unit = self.channel_unit.get(name, "")
            color = curve.opts["pen"].color().name()
            parts.append(
                f'<span style="color:{color}">■</span> {html.escape(name)} = '
                f"{'—' if value is None else f'{value:.6g}'}{(' ' + unit) if unit else ''}"
            )
        self.readout.setText(" &nbsp; ".join(parts))
        self.cursor_moved.emit(x)

    def _make_cursor_lines(self) -> None:
        """The crosshair's line on each plot, made when the pointer first crosses the plots
        (an idle crosshair's lines cost their bounds at every frame)."""
        pen = pg.mkPen(self.theme.muted, style=Qt.PenStyle.DashLine)
        for plot in list(self.plots.values())[len(self._cursor_lines) :]:
            line = pg.InfiniteLine(angle=90, movable=False, pen=pen)
            plot.addItem(line, ignoreBounds=True)
            self._cursor_lines.append(line)


def value_at(t: np.ndarray, v: np.ndarray, x: float) -> float | None:
    """The value of the last sample at or before x (what the rig had said by then)."""
    if t.size == 0 or not math.isfinite(x):
        return None
    k = int(np.searchsorted(t, x, side="right")) - 1
    return None if k < 0 else float(v[k])
