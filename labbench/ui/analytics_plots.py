"""The Analytics panel's plots (docs/architecture.md §10): the yield trend, the failure Pareto
with its cumulative line, an item's histogram against its limits with the normal curve of its
mean and σ overall, and its individuals and moving-range control chart whose points open
their run.  Each plot keeps what it drew in plain attributes, so a test reads what the user
sees without poking at pyqtgraph's items."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from labbench.records import CapabilityRow, ControlChart, ParetoRow, YieldRow
from labbench.ui.theme import LIGHT, Theme, verdict_colors, with_alpha

# Western Electric rules by number (labbench.criteria.capability.western_electric).
RULES = {
    1: "rule 1: beyond 3σ",
    2: "rule 2: 2 of 3 beyond 2σ on one side",
    3: "rule 3: 4 of 5 beyond 1σ on one side",
    4: "rule 4: 8 in a row on one side of the centre",
}
# Histogram bins: about √n, between 5 and 40, so 20 values still show a shape and 10 000
# do not turn into a comb.
MIN_BINS, MAX_BINS = 5, 40


def _plot(title: str, left: str, bottom: str) -> pg.PlotWidget:
    widget = pg.PlotWidget()
    item = widget.getPlotItem()
    item.setTitle(title, size="10pt")
    item.setLabel("left", left)
    item.setLabel("bottom", bottom)
    item.showGrid(x=True, y=True, alpha=0.2)
    item.setMenuEnabled(False)
    # Values read as the limits are written (0.72 V, not 720 on a "V (x0.001)" axis).
    for side in ("left", "bottom", "right"):
        item.getAxis(side).enableAutoSIPrefix(False)
    widget.setMinimumHeight(140)
    return widget


def recolour(widget: pg.PlotWidget, theme: Theme) -> None:
    """A plot made under another theme: its background, axes and title in this one's colours
    (pyqtgraph's configured colours apply only to plots made after they were set)."""
    widget.setBackground(theme.plot_background)
    item = widget.getPlotItem()
    for side in ("left", "bottom", "right"):
        axis = item.getAxis(side)
        axis.setPen(pg.mkPen(theme.plot_foreground))
        axis.setTextPen(pg.mkPen(theme.plot_foreground))
    item.titleLabel.setAttr("color", theme.plot_foreground)
    item.titleLabel.setText(item.titleLabel.text)


def alarm(theme: Theme) -> str:
    """Limits and rule marks: the theme's red curve colour, legible on its plot background
    (the failed verdict colour is a fill for white text, too dark on the dark plots)."""
    return theme.curves[1]


def _pen(color: str, width: float = 1.5, style=Qt.PenStyle.SolidLine):
    return pg.mkPen(color=color, width=width, style=style)


def _line(
    plot: pg.PlotItem,
    at: float,
    color: str,
    text: str,
    *,
    angle: int = 0,
    style=None,
    anchor: tuple[float, float] = (0, 1),
    position: float = 0.02,
    fill: str = "#ffffffd0",
):
    """A labelled limit or centre line; the label says what it is, not only its colour.  The
    label sits inside the view (``anchor``: which corner of the text touches the line, at
    ``position`` along it; by default above the line at its left end, over the oldest runs
    rather than the newest) on a fill, so it stays legible over the points."""
    line = pg.InfiniteLine(
        pos=at,
        angle=angle,
        pen=_pen(color, 1.2, style or Qt.PenStyle.DashLine),
        label=text,
        labelOpts={
            "position": position,
            "color": color,
            "anchors": [anchor, anchor],
            "fill": pg.mkBrush(fill),
        },
    )
    plot.addItem(line)
    return line


class YieldTrend(QWidget):
    """FPY per day or week in percent, one line per station when asked."""

    def __init__(self, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.theme = theme
        self.widget = _plot("First-pass yield over time", "FPY (%)", "")
        self.plot = self.widget.getPlotItem()
        self.plot.setYRange(0, 105, padding=0)
        self.legend = self.plot.addLegend(offset=(-10, -10))  # bottom right, under the lines
        self.lines: dict[str, tuple[list[str], list[float]]] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)

    def show_trend(self, series: dict[str, list[YieldRow]], by: str) -> None:
        """``series``: the rows of each line ("all" or a station) grouped by ``by``."""
        self.plot.clear()
        self.legend.clear()
        self.lines = {}
        groups = sorted({str(r.group) for rows in series.values() for r in rows})
        where = {g: i for i, g in enumerate(groups)}
        for n, (name, rows) in enumerate(sorted(series.items())):
            rows = [r for r in rows if r.fpy is not None]
            x = [where[str(r.group)] for r in rows]
            y = [100.0 * r.fpy for r in rows]
            self.lines[name] = ([str(r.group) for r in rows], y)
            color = self.theme.curves[n % len(self.theme.curves)]
            self.plot.plot(
                x,
                y,
                pen=_pen(color, 2),
                symbol="o",
                symbolSize=6,
                symbolBrush=color,
                symbolPen=None,
                name=name if name != "all" else "all stations",
            )
        # At most ~12 labels along the axis: a month of days stays readable.
        step = max(1, math.ceil(len(groups) / 12))
        ticks = [(i, g[5:] if by == "day" else g) for i, g in enumerate(groups) if i % step == 0]
        self.plot.getAxis("bottom").setTicks([ticks])
        self.plot.setLabel("bottom", "UTC day" if by == "day" else "ISO week")
        if groups:
            self.plot.setXRange(-0.5, len(groups) - 0.5, padding=0)
        self.plot.setYRange(0, 105, padding=0)


class ParetoChart(QWidget):
    """Failed runs per first failing item, worst first, and the cumulative percentage on a
    right axis that reads 0–100 % (the line is drawn in counts, the axis scaled)."""

    def __init__(self, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.theme = theme
        self.widget = _plot("Failure Pareto: first failing item", "failed runs", "")
        self.plot = self.widget.getPlotItem()
        self.plot.showAxis("right")
        self.plot.setLabel("right", "cumulative %")
        self.bars: list[tuple[str, int]] = []
        self.cumulative: list[float] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)

    def show_pareto(self, rows: list[ParetoRow]) -> None:
        self.plot.clear()
        self.bars = [(r.name, r.count) for r in rows]
        self.cumulative = [r.cumulative_pct for r in rows]
        if not rows:
            return
        top = max(count for _, count in self.bars)
        x = np.arange(len(rows), dtype=float)
        failed, _ = verdict_colors(self.theme, "failed")
        self.plot.addItem(
            pg.BarGraphItem(
                x=x, height=[c for _, c in self.bars], width=0.7, brush=failed, pen=None
            )
        )
        # The cumulative line in count units: 100 % sits at the tallest bar, and the right
        # axis shows count × 100 / top as percent.
        scale = top / 100.0
        self.plot.plot(
            x,
            [p * scale for p in self.cumulative],
            pen=_pen(self.theme.plot_foreground, 2),
            symbol="s",
            symbolSize=6,
            symbolBrush=self.theme.plot_foreground,
        )
        self.plot.getAxis("right").setScale(1 / scale)
        names = [(i, _short(name)) for i, (name, _) in enumerate(self.bars)]
        self.plot.getAxis("bottom").setTicks([names])
        self.plot.setXRange(-0.6, len(rows) - 0.4, padding=0)
        self.plot.setYRange(0, top * 1.05, padding=0)


def _short(name: str, width: int = 14) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


class ItemHistogram(QWidget):
    """An item's values binned, its spec limits as labelled vertical lines and the normal
    curve of its mean and σ overall scaled to the bins (count per bin)."""

    def __init__(self, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.theme = theme
        self.widget = _plot("Histogram", "runs", "value")
        self.plot = self.widget.getPlotItem()
        self.counts: np.ndarray = np.zeros(0)
        self.edges: np.ndarray = np.zeros(0)
        self.curve: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))
        self.limit_lines: dict[str, float] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)

    def _fill(self) -> str:
        return self.theme.plot_background + "d0"

    def show_item(self, row: CapabilityRow, values: list[float]) -> None:
        self.plot.clear()
        self.limit_lines = {}
        # Short titles: a long one widens the plot past a laptop's panel.
        curve = " · curve: normal" if row.mean is not None and row.sigma_overall else ""
        self.plot.setTitle(f"{_short(row.name, 24)} · n {len(values)}{curve}", size="10pt")
        self.widget.setToolTip(
            "Bars: the item's values.  Curve: the normal distribution of their mean and σ "
            "overall, scaled to the bars.  Dashed: the spec limits."
        )
        self.plot.setLabel("bottom", row.unit or "value")
        if not values:
            self.counts, self.edges = np.zeros(0), np.zeros(0)
            return
        data = np.asarray(values, dtype=float)
        spread = [v for v in (row.low, row.high, data.min(), data.max()) if v is not None]
        lo, hi = min(spread), max(spread)
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        bins = max(MIN_BINS, min(MAX_BINS, int(math.sqrt(len(data))) + 1))
        self.counts, self.edges = np.histogram(
            data, bins=bins, range=(data.min(), data.max()) if data.max() > data.min() else (lo, hi)
        )
        width = self.edges[1] - self.edges[0]
        self.plot.addItem(
            pg.BarGraphItem(
                x0=self.edges[:-1],
                x1=self.edges[1:],
                height=self.counts,
                brush=with_alpha(self.theme.curves[0], 150),
                pen=_pen(self.theme.curves[0], 1),
            )
        )
        sigma = row.sigma_overall
        if row.mean is not None and sigma:
            x = np.linspace(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo), 200)
            pdf = np.exp(-0.5 * ((x - row.mean) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
            self.curve = (x, pdf * len(data) * width)
            self.plot.plot(
                *self.curve, pen=_pen(self.theme.plot_foreground, 2), name="normal (μ, σ overall)"
            )
        else:
            self.curve = (np.zeros(0), np.zeros(0))
        failed = alarm(self.theme)
        for label, limit in (("low", row.low), ("high", row.high)):
            if limit is not None:
                self.limit_lines[label] = limit
                _line(
                    self.plot,
                    limit,
                    failed,
                    f"{label} limit {limit:g}",
                    angle=90,
                    anchor=(1, 0) if label == "high" else (0, 0),
                    position=0.96,
                    fill=self._fill(),
                )
        margin = 0.08 * (hi - lo)
        self.plot.setXRange(lo - margin, hi + margin, padding=0)


class ControlChartView(QWidget):
    """Individuals (values in run start order) above their moving ranges.  Points carry
    their run id: a click asks for that run (``run_clicked``); a point that completes a
    Western Electric rule has its own marker and a tooltip naming the rule."""

    run_clicked = Signal(int)

    def __init__(self, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.theme = theme
        self.values_widget = _plot("Individuals", "value", "")
        self.ranges_widget = _plot("Moving range", "|Δ|", "run order")
        self.values_plot = self.values_widget.getPlotItem()
        self.ranges_plot = self.ranges_widget.getPlotItem()
        self.ranges_plot.setXLink(self.values_plot)
        self.chart: ControlChart | None = None
        self.points = pg.ScatterPlotItem(hoverable=True, tip=self._tip)
        self.violations = pg.ScatterPlotItem(hoverable=True, tip=self._tip)
        self.violation_runs: dict[int, tuple[int, ...]] = {}
        self.lines: dict[str, float] = {}
        for scatter in (self.points, self.violations):
            scatter.sigClicked.connect(self._on_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.values_widget, 3)
        layout.addWidget(self.ranges_widget, 2)

    @staticmethod
    def _tip(x, y, data):
        run_id, at, rules = data
        said = "".join(f"\n⚠ {RULES[r]}" for r in rules)
        return (
            f"run {run_id} · {at:%Y-%m-%d %H:%M} UTC\nvalue {y:.4g}{said}\nclick: open in History"
        )

    def show_chart(self, chart: ControlChart, unit: str = "") -> None:
        self.chart = chart
        self.values_plot.clear()
        self.ranges_plot.clear()
        self.lines = {}
        self.violation_runs = {}
        self.values_plot.setLabel("left", unit or "value")
        points = chart.points
        x = np.arange(len(points), dtype=float)
        values = np.array([p.value for p in points], dtype=float)
        line = self.theme.curves[0]
        self.values_plot.plot(x, values, pen=_pen(line, 1))
        self.points.setData(
            x=x,
            y=values,
            data=[(p.run_id, p.started_at, p.rules) for p in points],
            size=7,
            brush=line,
            pen=None,
            symbol="o",
        )
        self.values_plot.addItem(self.points)
        bad = [i for i, p in enumerate(points) if p.rules]
        failed = alarm(self.theme)
        self.violations.setData(
            x=x[bad],
            y=values[bad],
            data=[(points[i].run_id, points[i].started_at, points[i].rules) for i in bad],
            size=15,
            symbol="x",
            brush=failed,
            pen=_pen(failed, 2),
        )
        self.violation_runs = {points[i].run_id: points[i].rules for i in bad}
        self.values_plot.addItem(self.violations)
        self.violations.setZValue(100)  # over the limit labels: a mark is never hidden
        muted = self.theme.muted
        fill = self.theme.plot_background + "d0"
        broken = len(bad)
        self.values_plot.setTitle(
            f"{_short(chart.name, 24)} · ✖ {broken} rule mark{'s' if broken != 1 else ''}",
            size="10pt",
        )
        self.values_widget.setToolTip(
            "✖ marks a point completing a Western Electric rule.  Hover a point for its run "
            "and rules; click it to open the run in History."
        )
        if chart.centre is not None:
            self.lines["centre"] = chart.centre
            _line(
                self.values_plot,
                chart.centre,
                muted,
                f"μ {chart.centre:.4g}",
                style=Qt.PenStyle.SolidLine,
                fill=fill,
            )
        if chart.upper_limit is not None:
            self.lines["ucl"] = chart.upper_limit
            self.lines["lcl"] = chart.lower_limit
            _line(
                self.values_plot,
                chart.upper_limit,
                failed,
                f"+3σ {chart.upper_limit:.4g}",
                anchor=(0, 0),
                fill=fill,
            )
            _line(
                self.values_plot,
                chart.lower_limit,
                failed,
                f"−3σ {chart.lower_limit:.4g}",
                fill=fill,
            )
        ranges = [(i, p.moving_range) for i, p in enumerate(points) if p.moving_range is not None]
        if ranges:
            self.ranges_plot.plot(
                [i for i, _ in ranges],
                [r for _, r in ranges],
                pen=_pen(line, 1),
                symbol="o",
                symbolSize=5,
                symbolBrush=line,
                symbolPen=None,
            )
        if chart.mr_mean is not None:
            self.lines["mr_mean"] = chart.mr_mean
            self.lines["mr_ucl"] = chart.mr_upper_limit
            _line(
                self.ranges_plot,
                chart.mr_mean,
                muted,
                f"MR̄ {chart.mr_mean:.3g}",
                style=Qt.PenStyle.SolidLine,
                fill=fill,
            )
            _line(
                self.ranges_plot,
                chart.mr_upper_limit,
                failed,
                f"UCL {chart.mr_upper_limit:.3g}",
                anchor=(0, 0),
                fill=fill,
            )
        if len(points):
            self.values_plot.setXRange(-0.5, len(points) - 0.5, padding=0.02)
        self.values_plot.enableAutoRange(axis="y")
        self.ranges_plot.enableAutoRange(axis="y")

    def point_position(self, index: int):
        """Where the ``index``-th point sits on the individuals plot's viewport (for tests)."""
        view = self.values_plot.getViewBox()
        scene = view.mapViewToScene(pg.Point(float(index), self.chart.points[index].value))
        return self.values_widget.mapFromScene(scene)

    def _on_clicked(self, _item, spots, _event=None) -> None:
        if len(spots):
            self.run_clicked.emit(int(spots[0].data()[0]))
