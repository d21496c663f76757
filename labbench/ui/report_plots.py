"""The HTML report's plots drawn offscreen with the stored-run view's own plot stack, as PNG
bytes (docs/architecture.md §9).

``labbench.export.report_plots`` says what a plot shows (a ``PlotSpec``: samples or stored
envelope, limit and guard bands, step and command markers, violations); this draws it with
:class:`~labbench.ui.plots.PlotStack`, so a report's plot looks like the app's: same envelope
reduction, band shading, held y axis around the limits, and zoom onto a violation.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtWidgets import QApplication

from labbench.criteria.band import Band
from labbench.export.report_plots import PlotSpec, RenderedPlot
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


def render_plot(spec: PlotSpec, width: int = WIDTH_PX) -> RenderedPlot | None:
    """The plot as PNG bytes with its curves' colours; None when it holds nothing drawable
    (only bookkeeping channels such as the rig's line counter)."""
    ensure_app()
    stack = PlotStack(LIGHT)  # never shown: grabbed, which lays it out at its size
    try:
        bands = [(span, _band(span)) for span in spec.limits]
        judged: dict[str, list[Band]] = {}
        for span, band in bands:
            if band is not None:
                judged.setdefault(split_channel(span.channel)[0], []).append(band)
        stack.set_limits(judged)
        drawn = [s for s in spec.series if stack.ensure_channel(s.channel, s.unit) is not None]
        if not drawn:
            return None
        for s in drawn:
            stack.set_data(s.channel, s.t, s.v)
        for span, band in bands:
            if band is not None:
                stack.add_limit_band(span.channel, band, span.x0, span.x1)
        for marker in spec.markers:
            stack.add_marker(marker.x, marker.text, marker.kind)
        for channel, start, end, extreme in spec.violations:
            stack.add_violation(channel, start, end, extreme)
        stack.set_theme(LIGHT)  # restyles this stack only, not pyqtgraph's global options
        height = LANE_PX + PLOT_PX * len(stack.plots)
        stack.resize(width, height + 60)
        stack.layout_widget.setFixedSize(width, height)
        x0, x1 = spec.x_range
        stack.redraw(x0, x1)
        stack.set_x_range(x0, x1)
        if spec.zoom is not None:
            stack.zoom_to(*spec.zoom)
        image = stack.layout_widget.grab().toImage()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG", PNG_QUALITY)
        buffer.close()
        colors = tuple(
            (s.channel, stack.curves[s.channel].opts["pen"].color().name()) for s in drawn
        )
        return RenderedPlot(bytes(data.data()), colors)
    finally:
        stack.deleteLater()
