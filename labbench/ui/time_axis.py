"""The plots' one time axis: seconds since the run's start, read as a clock past ten minutes.

pyqtgraph's own axis with units "s" picks an SI prefix from the range: a fifty-minute run
read "time since run start (ks)" with ticks at 0.5000 and 1.0000, and re-rendered that
title as HTML at every move of the x axis (each live frame).  This axis has no prefix:
seconds ("12", "12.5") while the view stays within the first ten minutes, "m:ss" beyond,
"h:mm:ss" from an hour, with ticks on whole clock steps (15 s, 1 min, 5 min, 1 h, ...).  The
title names the format and changes only when the format does, outside the paint.
"""

from __future__ import annotations

import math

import pyqtgraph as pg

TITLE = "time since run start"
CLOCK_FROM_S = 600.0
# Major tick steps a clock reads well at, in seconds.
CLOCK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
               43200, 86400)  # fmt: skip


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
