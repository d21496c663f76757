"""How the plot stack's axes follow a frame: x linked to the first plot (set directly, live),
y held on a judged channel's limits or on the data, steady while live."""

from __future__ import annotations

import math

import pyqtgraph as pg

from labbench.ui.plot_limits import FOCUS_SLACK, focus_range, steady_range


class PlotRanges:
    """The ranges half of ``PlotStack``; it uses the stack's ``plots``, ``lane``, ``limits``,
    ``focused``, ``_steadied`` and ``layout_widget``."""

    def _hold_ranges(self, seen: dict[str, tuple[float, float]], keys: set[str] | None) -> None:
        """Each plot's y after a redraw: judged ones on their limits and the data near them
        (``seen``: the data's min and max a plot); live (``keys``: the plots in view), the
        others on their data, steady; paused or stored, pyqtgraph's autorange again."""
        live = keys is not None
        for key, plot in self.plots.items():
            if live and key not in keys:
                continue
            if self.focused.get(key, False):
                self._focus(key, *seen.get(key, (math.nan, math.nan)), steady=live)
            elif live and key in seen:
                low, high = seen[key]
                pad = 0.02 * (high - low)
                y = steady_range(plot.vb.viewRange()[1], (low - pad, high + pad))
                if y is not None:
                    plot.vb.setYRange(*y, padding=0.0)
        if not live:  # a look that does not follow the run: y follows the data again
            self.release_y()

    def release_y(self) -> None:
        """Paused: the plots the live frames held follow their data again (pyqtgraph's
        autorange), and a zoom by hand from now on is left alone."""
        for key in self._steadied:
            plot = self.plots.get(key)
            if plot is not None:
                plot.vb.enableAutoRange(axis=pg.ViewBox.YAxis, enable=True)
        self._steadied.clear()

    def settle(self) -> None:
        """Apply now what pyqtgraph leaves to the paint: each view's new matrix and y range.
        Done in the paint, they move items' geometry while the scene is being drawn, and Qt
        draws the whole stack a second time for it (a live frame painted twice)."""
        self.layout_widget.scene().prepareForPaint()

    def _focus(self, key: str, data_min: float, data_max: float, *, steady: bool = False) -> None:
        """Hold a judged plot's y axis on its limits and what its curves do near them."""
        low, high = self.limits[key.removeprefix("channel:")]
        y0, y1 = focus_range(low, high, data_min, data_max)
        vb = self.plots[key].vb
        (c0, c1) = vb.viewRange()[1]
        # Live, a move under 2 % of the height is the noise at the data's edge: not followed
        # (its band stays within 2 % of its size; each move redraws the axis, plot_limits.py).
        slack = FOCUS_SLACK * (y1 - y0) if steady else 1e-12 * max(abs(y0), abs(y1), 1.0)
        if abs(c0 - y0) > slack or abs(c1 - y1) > slack:
            vb.setYRange(y0, y1, padding=0.0)

    def set_x_range(
        self, x0: float, x1: float, *, settle_y: bool = True, keys: set[str] | None = None
    ) -> None:
        """Show [x0, x1]; y follows the data (judged channels: their limits).  ``settle_y``
        computes y now (a stored run, drawn once) instead of at the next paint (the live view,
        30 times a second: 3 ms saved).  With ``keys``, only those plots follow now: the others
        (out of view) catch up when they come into view."""
        first = next(iter(self.plots.values()), None)
        if keys is None:
            self.sync_links()
            if first is not None:
                first.setXRange(x0, x1, padding=0.0)  # the others follow through their links
        else:
            # A live frame: the time lane, the first plot (whose range the others follow when
            # paused) and the plots in view take the range directly.  Through pyqtgraph's
            # links each follower mapped it through both views' screen geometry: 1 ms a frame.
            # pyqtgraph also tells a follower's change back to the one it follows: blocked too.
            self.sync_links(set())
            if first is not None:
                first.vb.blockLink(True)
            try:
                for key, plot in self.plots.items():
                    if plot is first or key in keys:
                        plot.vb.setXRange(x0, x1, padding=0.0)
                if self.lane is not None:
                    self.lane.vb.setXRange(x0, x1, padding=0.0)
            finally:
                if first is not None:
                    first.vb.blockLink(False)
            # Linked again (they hold the range already): a pan or zoom of one plot moves the
            # others in view and the time axis, as before any frame.
            for key, plot in self._followers():
                if key in keys or key == "lane":
                    plot.vb.blockLink(False)
        for key, plot in self.plots.items():
            if keys is not None and key not in keys:
                continue
            if key in self.focused:
                self.focused[key] = True
                continue
            if keys is not None:  # a live frame: redraw() holds y steady
                if plot.vb.state["autoRange"][1]:
                    plot.vb.disableAutoRange(axis=pg.ViewBox.YAxis)
                self._steadied.add(key)
                continue
            if not plot.vb.state["autoRange"][1]:  # each call is a signal: 7 a sled frame
                plot.vb.enableAutoRange(axis=pg.ViewBox.YAxis, enable=True)
            if settle_y:
                plot.vb.updateAutoRange()

    def sync_links(self, keys: set[str] | None = None) -> None:
        """Let only the plots in ``keys`` (every plot and the time lane: None) follow the
        first plot's x axis.  Each follower costs a frame its view's and items' updates; one
        coming back into view takes the first plot's range at once."""
        for key, plot in self._followers():
            out = keys is not None and key not in keys
            if plot.vb.linksBlocked != out:
                plot.vb.blockLink(out)
                if not out:
                    plot.vb.linkedXChanged()

    def _followers(self) -> list[tuple[str, pg.PlotItem]]:
        """The plots whose x axis follows the first plot's (keyed), and the time lane."""
        first = next(iter(self.plots.values()), None)
        followers = [(key, plot) for key, plot in self.plots.items() if plot is not first]
        return followers + ([("lane", self.lane)] if self.lane is not None else [])
