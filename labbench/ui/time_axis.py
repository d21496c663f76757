"""The plots' one time axis: seconds since the run's start, read as a clock past ten minutes.

pyqtgraph's own axis with units "s" picks an SI prefix from the range: a fifty-minute run
read "time since run start (ks)" with ticks at 0.5000 and 1.0000, and re-rendered that
title as HTML at every move of the x axis (each live frame).  This axis has no prefix:
seconds ("12", "12.5") while the view stays within the first ten minutes, "m:ss" beyond,
"h:mm:ss" from an hour, with ticks on whole clock steps (15 s, 1 min, 5 min, 1 h, ...).  The
title names the format and changes only when the format does, outside the paint.

It is the one axis a live frame lays out again (the others keep their y range), so it lays
itself out with plain floats and each label measured once: pyqtgraph's general layout
(numpy per tick level, every label measured every frame) was a fifth of a sled frame's paint.
"""

from __future__ import annotations

import bisect
import math

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPen

TITLE = "time since run start"
CLOCK_FROM_S = 600.0
# Major tick steps a clock reads well at, in seconds.
CLOCK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
               43200, 86400)  # fmt: skip
_CENTRED = Qt.AlignmentFlag.AlignCenter
_LABEL_FLAGS = (
    Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom | Qt.TextFlag.TextDontClip
)


def clock_text(seconds: float, step: float, hours: bool = False) -> str:
    """``seconds`` as m:ss (h:mm:ss from an hour, or always with ``hours``), with tenths or
    hundredths when ``step`` is below a second."""
    digits = 0 if step >= 1 else min(max(-math.floor(math.log10(step)), 1), 3)
    sign = "-" if seconds < 0 else ""
    seconds = round(abs(seconds), digits)
    whole = int(seconds)
    hours_, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    fraction = f"{seconds - whole:.{digits}f}"[1:] if digits else ""
    if hours_ or hours:
        return f"{sign}{hours_}:{minutes:02d}:{secs:02d}{fraction}"
    return f"{sign}{minutes}:{secs:02d}{fraction}"


class TimeAxis(pg.AxisItem):
    def __init__(self, orientation: str = "top", **kwargs):
        self.format = "s"  # or "m:ss", "h:mm:ss"; AxisItem's constructor sets a range already
        self._sizes: dict[tuple[str, str], tuple[float, float]] = {}  # (font, label) -> w, h
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)
        self.setLabel(self._title())

    def _title(self) -> str:
        return f"{TITLE} ({self.format})"

    def setRange(self, mn: float, mx: float) -> None:
        super().setRange(mn, mx)
        reach = max(abs(mn), abs(mx))
        fmt = "s" if reach < CLOCK_FROM_S else "m:ss" if reach < 3600 else "h:mm:ss"
        if fmt != self.format:
            self.format = fmt
            self.setLabel(self._title(), **self.labelStyle)

    def tickSpacing(self, minVal: float, maxVal: float, size: float):
        levels = super().tickSpacing(minVal, maxVal, size)
        if self.format == "s" or not levels or levels[0][0] < 1:
            return levels
        major = next((s for s in CLOCK_STEPS if s >= levels[0][0]), CLOCK_STEPS[-1])
        minor = [s for s in CLOCK_STEPS if s < major and major % s == 0 and major / s <= 6]
        return [(major, 0)] + ([(minor[-1], 0)] if minor else [])

    def tickStrings(self, values, scale, spacing):
        if self.format == "s":
            return super().tickStrings(values, scale, spacing)
        return [clock_text(v, spacing, self.format == "h:mm:ss") for v in values]

    def tickValues(self, minVal: float, maxVal: float, size: float):
        """pyqtgraph's tick values (a lower level leaves out the ticks of the levels above),
        in plain floats."""
        if self.logMode or self.scale != 1:
            return super().tickValues(minVal, maxVal, size)
        low, high = sorted((minVal, maxVal))
        levels = []
        emitted: list[float] = []  # the values of the levels above, in order
        for spacing, offset in self.tickSpacing(low, high, size):
            start = math.ceil((low - offset) / spacing) * spacing + offset
            values = [start + k * spacing for k in range(max(int((high - start) / spacing) + 1, 0))]
            tolerance = spacing * 0.01
            values = [v for v in values if not _near(emitted, v, tolerance)]
            emitted = sorted(emitted + values)
            levels.append((spacing, values))
        return levels

    def generateDrawSpecs(self, p):
        """pyqtgraph's layout of a top axis without a grid (ticks, which labels fit, where),
        with each label's size measured once."""
        if (
            self.orientation != "top"
            or self.grid is not False
            or self._tickLevels is not None
            or self.style["stopAxisAtTick"] != (False, False)
        ):
            return super().generateDrawSpecs(p)
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        bounds = self.mapRectFromParent(self.geometry())
        baseline = bounds.bottom() - 1.0
        start, stop = (
            QPointF(bounds.left() - 1.0, baseline),
            QPointF(bounds.right() + 1.0, baseline),
        )
        ends = self.mapToDevice(start), self.mapToDevice(stop)
        if None in ends:
            return None
        length = math.hypot(ends[1].x() - ends[0].x(), ends[1].y() - ends[0].y())
        if length == 0:
            return None
        levels = self.tickValues(self.range[0], self.range[1], length)
        dif = self.range[1] - self.range[0]
        scale = bounds.width() / dif if dif else 1.0
        shift = self.range[0] * scale if dif else 0.0
        x_min, x_max = sorted((self.range[0] * scale - shift, self.range[1] * scale - shift))
        tick_length = self.style["tickLength"]
        tick_stop = bounds.bottom()
        positions: list[list[float | None]] = []
        tick_specs = []
        for i, (_, values) in enumerate(levels):
            pen = self._level_pen(i)
            reach = tick_stop - tick_length / (i * 0.5 + 1.0)
            row: list[float | None] = []
            for v in values:
                x = v * scale - shift
                if x < x_min or x > x_max:
                    row.append(None)
                    continue
                row.append(x)
                tick_specs.append((pen, QPointF(x, tick_stop), QPointF(x, reach)))
            positions.append(row)
        axis_spec = (self.pen(), start, stop)
        text_specs: list[tuple[QRectF, Qt.AlignmentFlag, str]] = []
        if not self.style["showValues"]:
            return axis_spec, tick_specs, text_specs
        font = p.font().key()
        offset = max(0, tick_length) + self.style["tickTextOffset"][1]
        own = self.boundingRect()
        widths = 0.0
        tallest = last_tallest = 0.0
        for i in range(min(len(levels), self.style["maxTextLevel"] + 1)):
            spacing, values = levels[i]
            strings = self.tickStrings(values, self.autoSIPrefixScale * self.scale, spacing)
            labels = [(x, s) for x, s in zip(positions[i], strings, strict=True) if x is not None]
            sizes = [self._size(p, font, s) for _, s in labels]
            widths += sum(w for w, _ in sizes)
            tallest = max([tallest, *(h for _, h in sizes)])
            if i > 0 and any(
                len(text_specs) >= count and widths / length >= limit
                for count, limit in self.style["textFillLimits"]
            ):
                break  # this level's labels would crowd the axis
            last_tallest = tallest
            for (x, text), (w, h) in zip(labels, sizes, strict=True):
                rect = QRectF(x - w / 2.0, tick_stop - offset - h, w, h)
                if own & rect == rect:
                    text_specs.append((rect, _LABEL_FLAGS, text))
        self._updateMaxTextSize(last_tallest)
        return axis_spec, tick_specs, text_specs

    def _level_pen(self, level: int) -> QPen:
        pen = self.tickPen()
        alpha = self.style["tickAlpha"]
        if alpha is None:
            alpha = 255 / (level + 1)
        elif isinstance(alpha, float):
            alpha = min(max(round(alpha * 255), 0), 255)
        if pen.brush().style() == Qt.BrushStyle.SolidPattern:
            pen = QPen(pen)
            color = QColor(pen.color())
            color.setAlpha(int(alpha))
            pen.setColor(color)
        return pen

    def _size(self, p, font: str, text: str) -> tuple[float, float]:
        size = self._sizes.get((font, text))
        if size is None:
            if len(self._sizes) > 4096:  # a long run's labels: measured again, not kept forever
                self._sizes.clear()
            rect = p.boundingRect(QRectF(0, 0, 100, 100), _CENTRED, text)
            size = self._sizes[(font, text)] = (rect.width(), rect.height() * 0.8)
        return size


def _near(ordered: list[float], value: float, tolerance: float) -> bool:
    """Whether a value of ``ordered`` lies within ``tolerance`` of ``value``."""
    i = bisect.bisect_left(ordered, value - tolerance)
    return i < len(ordered) and ordered[i] <= value + tolerance


def time_strip(layout: pg.GraphicsLayoutWidget, **kwargs) -> pg.PlotItem:
    """A plot in ``layout`` that is only a time axis on top, over the plots' x extent (its
    left axis as wide as theirs, blank): the stack's lane and its copy over a scrolled
    stack.  ``kwargs`` place it in the layout."""
    strip = layout.addPlot(axisItems={"top": TimeAxis("top")}, **kwargs)
    strip.hideAxis("bottom")
    strip.showAxis("top")
    # Major and minor ticks, each labelled; a third, unlabelled level doubled the cost of
    # laying out the one axis that changes every frame (0.9 vs 1.7 ms).
    strip.getAxis("top").setStyle(maxTickLevel=1)
    left = strip.getAxis("left")
    left.setWidth(72)
    left.setStyle(showValues=False)
    left.setPen(pg.mkPen(None))
    strip.setMouseEnabled(x=False, y=False)
    strip.hideButtons()
    return strip


def style_time_strip(strip: pg.PlotItem, foreground) -> None:
    """The strip's axes, title and ticks in the theme's plot foreground."""
    for name in ("top", "left"):
        strip.getAxis(name).setTextPen(pg.mkPen(foreground))
    axis = strip.getAxis("top")
    axis.setLabel(axis.labelText, color=foreground)
    axis.setPen(pg.mkPen(foreground))
