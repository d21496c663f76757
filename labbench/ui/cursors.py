"""Two time cursors across every plot of a stack, and what lies between them.

Dragging either cursor on any plot moves it on all of them; the readout gives Δt and, per
channel, the change between the first and last sample inside the cursors and their min, max
and mean (computed from the samples themselves, not from what is drawn).
"""

from __future__ import annotations

import html
import logging
import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg

from labbench.ui.theme import Theme

if TYPE_CHECKING:
    from labbench.ui.plots import PlotStack

log = logging.getLogger(__name__)

# Units that take no k/m prefixes (m°C or krpm would only confuse).
NO_SI_PREFIX = {"°C", "C", "rpm", "%", "", "dB"}


def format_value(value: float, unit: str) -> str:
    if not math.isfinite(value):
        return "—"
    if unit in NO_SI_PREFIX:
        return f"{value:.4g}{(' ' + unit) if unit else ''}"
    return pg.siFormat(value, precision=4, suffix=unit, space=True)


class CursorPair:
    def __init__(self, stack: PlotStack):
        self.stack = stack
        self.enabled = False
        self.positions: list[float | None] = [None, None]
        self.plots: list[pg.PlotItem] = []
        self.lines: list[list[pg.InfiniteLine]] = [[], []]
        self._syncing = False
        self._color = stack.theme.highlight

    def attach(self, plot: pg.PlotItem) -> None:
        """A plot the cursors cross.  Their lines are made only while the cursors are on: two
        hidden labelled lines per plot re-placed their labels at every move of the x axis."""
        self.plots.append(plot)
        if self.enabled:
            self._add_lines(plot)

    def _add_lines(self, plot: pg.PlotItem) -> None:
        for index in (0, 1):
            line = pg.InfiniteLine(
                angle=90,
                movable=True,
                pen=pg.mkPen(self._color, width=1),
                hoverPen=pg.mkPen(self._color, width=3),
                label=f"C{index + 1}",
                labelOpts={"position": 0.05, "color": self._color},
            )
            if self.positions[index] is not None:
                line.setValue(self.positions[index])
            line.sigPositionChanged.connect(lambda moved, i=index: self._on_moved(i, moved))
            plot.addItem(line, ignoreBounds=True)
            self.lines[index].append(line)

    def _remove_lines(self) -> None:
        for group in self.lines:
            for line in group:
                view = line.getViewBox()
                if view is not None:
                    view.removeItem(line)
        self.lines = [[], []]

    def detach(self) -> None:
        """Forget the plots (they are being cleared); the cursors go off."""
        self.plots = []
        self.lines = [[], []]
        self.positions = [None, None]
        self.enabled = False
        self.stack.cursor_readout.setText("")
        self.stack.cursor_readout.setVisible(False)

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        if enabled and None in self.positions:
            first = next(iter(self.stack.plots.values()), None)
            x0, x1 = first.vb.viewRange()[0] if first is not None else (0.0, 1.0)
            self.positions = [x0 + (x1 - x0) / 3, x0 + 2 * (x1 - x0) / 3]
        if enabled and not self.lines[0]:
            for plot in self.plots:
                self._add_lines(plot)
        elif not enabled:
            self._remove_lines()
        self.stack.cursor_readout.setVisible(enabled)
        if enabled:
            self.set_positions(*self.positions)

    def set_positions(self, a: float, b: float) -> None:
        for index, x in enumerate((a, b)):
            self.positions[index] = x
            self._syncing = True
            try:
                for line in self.lines[index]:
                    line.setValue(x)
            finally:
                self._syncing = False
        self.update_readout()

    def _on_moved(self, index: int, moved: pg.InfiniteLine) -> None:
        if self._syncing:
            return
        x = float(moved.value())
        self.positions[index] = x
        self._syncing = True
        try:
            for line in self.lines[index]:
                if line is not moved:
                    line.setValue(x)
        finally:
            self._syncing = False
        self.update_readout()

    def statistics(self) -> dict[str, dict[str, float]]:
        """Per channel: delta (last - first sample inside), min, max, mean, count."""
        if None in self.positions:
            return {}
        a, b = sorted(self.positions)
        out = {}
        for name in self.stack.curves:
            _, v = self.stack.samples_between(name, a, b)
            v = v[~np.isnan(v)] if v.size else v
            if v.size == 0:
                out[name] = {
                    "delta": math.nan,
                    "min": math.nan,
                    "max": math.nan,
                    "mean": math.nan,
                    "count": 0,
                }
                continue
            out[name] = {
                "delta": float(v[-1] - v[0]),
                "min": float(v.min()),
                "max": float(v.max()),
                "mean": float(v.mean()),
                "count": int(v.size),
            }
        return out

    def update_readout(self) -> None:
        if not self.enabled or None in self.positions:
            return
        a, b = sorted(self.positions)
        parts = [f"<b>C1 {a:.3f} s · C2 {b:.3f} s · Δt {b - a:.3f} s</b>"]
        for name, stats in self.statistics().items():
            unit = self.stack.channel_unit.get(name, "")
            if not stats["count"]:
                parts.append(f"{html.escape(name)}: no samples")
                continue
            delta, low, high, mean = (
                format_value(stats[key], unit) for key in ("delta", "min", "max", "mean")
            )
            parts.append(f"{html.escape(name)}: Δ {delta}, min {low}, max {high}, mean {mean}")
        self.stack.cursor_readout.setText(" &nbsp;·&nbsp; ".join(parts))

    def set_theme(self, theme: Theme) -> None:
        self._color = theme.highlight
        for group in self.lines:
            for line in group:
                line.setPen(pg.mkPen(self._color, width=1))
                line.label.setColor(self._color)
