"""The HTML report's plots drawn offscreen with the stored-run view's own plot stack, as PNG
bytes (docs/architecture.md §9).

``labbench.export.report_plots`` says what a plot shows (a ``PlotSpec``: samples or stored
envelope, limit and guard bands, step and command markers, violations); this draws it with
:class:`~labbench.ui.plots.PlotStack`, so a report's plot looks like the app's: same envelope
reduction, band shading, held y axis around the limits, and zoom onto a violation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QRect
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication

from labbench.criteria.band import Band
from labbench.export.report_plots import PlotSpec, RenderedPlot, Series
from labbench.ui.plots import PlotStack
from labbench.ui.slot_plots import split_channel
from labbench.ui.theme import LIGHT

log = logging.getLogger(__name__)

# Wide enough for a page's width at print resolution without looking blurred on screen; the
# page scales the image down to its column.
WIDTH_PX = 1100
# The strip above the plots (step names, commands, time axis) and each plot under it.
LANE_PX = 72
PLOT_PX = 260
# zlib's level 3 instead of 6 (Qt maps quality q to level (100 - q) * 9 / 91): 35 % less time
# compressing (about 1 s of a 1 h run's 36 plots) for 30 % bigger images of flat plot colours.
PNG_QUALITY = 70


def ensure_app() -> QApplication:
    """The running QApplication, or a new one (the command line sets
    ``QT_QPA_PLATFORM=offscreen`` before asking, so no display is needed)."""
    app = QApplication.instance()
    return app if app is not None else QApplication([])


def _band(span) -> Band | None:
    try:
        return Band(span.low, span.high, span.marginal_low, span.marginal_high)
    except ValueError:  # stored limits a plan of today would refuse: drawn without a band
        log.warning("limits of %s not drawn: %s", span.channel, span)
        return None


def _build(stack: PlotStack, specs: Sequence[PlotSpec]) -> list[list]:
    """Every spec's curves, bands, markers and violations on the stack; the drawn series of
    each spec (none: only bookkeeping channels such as the rig's line counter)."""
    bands = [(span, _band(span)) for spec in specs for span in spec.limits]
    judged: dict[str, list[Band]] = {}
    for span, band in bands:
        if band is not None:
            judged.setdefault(split_channel(span.channel)[0], []).append(band)
    stack.set_limits(judged)
    drawn = [
        [s for s in spec.series if stack.ensure_channel(s.channel, s.unit) is not None]
        for spec in specs
    ]
    for series in drawn:
        for s in series:
            stack.set_data(s.channel, s.t, s.v)
    for span, band in bands:
        if band is not None:
            stack.add_limit_band(span.channel, band, span.x0, span.x1)
    for marker in specs[0].markers:
        stack.add_marker(marker.x, marker.text, marker.kind)
    for spec in specs:
        for channel, start, end, extreme in spec.violations:
            stack.add_violation(channel, start, end, extreme)
    stack.set_theme(LIGHT)  # restyles this stack only, not pyqtgraph's global options
    return drawn


def _lay_out(stack: PlotStack, width: int) -> None:
    # Every plot exactly PLOT_PX high whatever its axis title needs, and room to spare for the
    # layout's margins and spacing (cut away by _cut), so a plot drawn with others is the same
    # image as drawn alone.
    for plot in stack.plots.values():
        plot.setMinimumHeight(PLOT_PX)
        plot.setMaximumHeight(PLOT_PX)
    height = LANE_PX + (PLOT_PX + 16) * len(stack.plots) + 16
    stack.resize(width, height + 60)
    stack.layout_widget.setFixedSize(width, height)


def _grab(stack: PlotStack, spec: PlotSpec, width: int) -> QImage:
    _lay_out(stack, width)
    x0, x1 = spec.x_range
    stack.redraw(x0, x1)
    stack.set_x_range(x0, x1)
    if spec.zoom is not None:
        stack.zoom_to(*spec.zoom)
    return stack.layout_widget.grab().toImage()


def _cut(image: QImage, stack: PlotStack, key: str) -> QImage:
    """The lane (time axis, step and command names) with one plot under it."""
    view = stack.layout_widget
    lane = view.mapFromScene(stack.lane.sceneBoundingRect()).boundingRect()
    plot = view.mapFromScene(stack.plots[key].sceneBoundingRect()).boundingRect()
    width, top = image.width(), lane.bottom() + 1
    part = QImage(width, top + plot.height(), image.format())
    painter = QPainter(part)
    painter.drawImage(QPoint(0, 0), image, QRect(0, 0, width, top))
    painter.drawImage(QPoint(0, top), image, QRect(0, plot.top(), width, plot.height()))
    painter.end()
    return part


def _rendered(image: QImage, stack: PlotStack, series: list) -> RenderedPlot:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG", PNG_QUALITY)
    buffer.close()
    colors = tuple((s.channel, stack.curves[s.channel].opts["pen"].color().name()) for s in series)
    return RenderedPlot(bytes(data.data()), colors)


def render_plot(spec: PlotSpec, width: int = WIDTH_PX) -> RenderedPlot | None:
    """The plot as PNG bytes with its curves' colours; None when it holds nothing drawable
    (only bookkeeping channels such as the rig's line counter)."""
    ensure_app()
    stack = PlotStack(LIGHT)  # never shown: grabbed, which lays it out at its size
    try:
        (drawn,) = _build(stack, [spec])
        if not drawn:
            return None
        image = _grab(stack, spec, width)
        keys = {stack.channel_key[s.channel] for s in drawn}
        if len(keys) == 1 and len(stack.plots) == 1:
            image = _cut(image, stack, keys.pop())
        return _rendered(image, stack, drawn)
    finally:
        stack.deleteLater()


def render_plots(specs: Sequence[PlotSpec], width: int = WIDTH_PX) -> list[RenderedPlot | None]:
    """Several plots. Plots over the same time with the same markers (a run's whole-run
    plots) are drawn in one stack under one lane and cut out each with the lane above it: the
    same image as one stack each, at a third of the cost (a lane and a plot are a pyqtgraph
    PlotItem each, some 30 ms to build; and one paint instead of one a plot)."""
    ensure_app()
    if len(specs) > 1 and all(s.zoom is not None for s in specs):
        return _render_zooms(specs, width)
    shared = len({(s.x_range, s.markers) for s in specs}) == 1
    if len(specs) < 2 or not shared or any(s.zoom is not None for s in specs):
        return [render_plot(spec, width) for spec in specs]
    stack = PlotStack(LIGHT)
    try:
        drawn = _build(stack, specs)
        keys = [{stack.channel_key[s.channel] for s in series} for series in drawn]
        if any(len(k) > 1 for k in keys) or sum(map(len, keys)) != len(stack.plots):
            return [render_plot(spec, width) for spec in specs]  # not one plot each
        image = _grab(stack, specs[0], width)
        out: list[RenderedPlot | None] = []
        for series, key in zip(drawn, keys, strict=True):
            out.append(_rendered(_cut(image, stack, key.pop()), stack, series) if series else None)
        return out
    finally:
        stack.deleteLater()


def _merged(specs: Sequence[PlotSpec]) -> PlotSpec:
    """One spec holding every zoom's curves (a channel's windows joined in time order), bands,
    markers and violations: zoomed onto each in turn, it shows what each would alone, and
    violations near one another show in each other's plots, as in the stored-run view."""
    windows: dict[str, list[Series]] = {}
    for spec in specs:
        for s in spec.series:
            windows.setdefault(s.channel, []).append(s)
    series = []
    for channel, parts in windows.items():
        t, first = np.unique(np.concatenate([p.t for p in parts]), return_index=True)
        v = np.concatenate([p.v for p in parts])[first]
        series.append(Series(channel, parts[0].unit, t, v))
    merge = lambda field: tuple(dict.fromkeys(x for s in specs for x in getattr(s, field)))  # noqa: E731
    return PlotSpec(
        "", tuple(series), merge("limits"), merge("markers"), merge("violations"), (0.0, 1.0)
    )


def _render_zooms(specs: Sequence[PlotSpec], width: int) -> list[RenderedPlot | None]:
    """Plots zoomed on violations, drawn in one stack zoomed onto each in turn, and each cut
    out with the lane above it: a plot per channel built once instead of a stack per plot."""
    stack = PlotStack(LIGHT)
    try:
        (drawn,) = _build(stack, [_merged(specs)])
        if not drawn:
            return [None] * len(specs)
        _lay_out(stack, width)
        view = stack.layout_widget
        view.grab(QRect(0, 0, 1, 1))  # applies the layout, painting next to nothing
        lane = view.mapFromScene(stack.lane.sceneBoundingRect()).boundingRect()
        out: list[RenderedPlot | None] = []
        for spec in specs:
            series = [s for s in spec.series if s.channel in stack.curves]
            keys = {stack.channel_key[s.channel] for s in series}
            if len(keys) != 1:
                out.append(render_plot(spec, width))
                continue
            stack.zoom_to(*spec.zoom)
            plot = view.mapFromScene(stack.plots[keys.pop()].sceneBoundingRect()).boundingRect()
            top = view.grab(QRect(0, 0, width, lane.bottom() + 1)).toImage()
            body = view.grab(QRect(0, plot.top(), width, plot.height())).toImage()
            part = QImage(width, top.height() + body.height(), top.format())
            painter = QPainter(part)
            painter.drawImage(QPoint(0, 0), top)
            painter.drawImage(QPoint(0, top.height()), body)
            painter.end()
            out.append(_rendered(part, stack, series))
        return out
    finally:
        stack.deleteLater()
