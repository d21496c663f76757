"""Limits on the plots: which channels a plan judges, how a judged channel's y axis is held
so its band stays large, and a stored run's bands and step boundaries."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from labbench.criteria.limits import Band
from labbench.runs.plan import Plan

if TYPE_CHECKING:
    from labbench.ui.plots import PlotStack

# A judged channel's y axis shows its band plus this many band widths each side ...
FOCUS_MARGIN = 0.4
# ... and follows the data out to at most this many band widths (a band never gets below a
# third of the height; a rail that collapses further leaves the plot, its tile says by how much).
FOCUS_REACH = 1.0
# Live, it does not follow moves smaller than this share of its height (noise at the edge).
FOCUS_SLACK = 0.02


def judged_bands(plan: Plan) -> dict[str, list[Band]]:
    """Each channel the plan judges with limits, and its bands (one per step that judges it)."""
    judged: dict[str, list] = {}
    for step in plan.steps:
        for spec in step.limits:
            judged.setdefault(spec.channel, []).append(spec.band)
    return judged


def draw_stored_limits(plots: PlotStack, plan: Plan, steps, t0_ns: int) -> None:
    """Limit and guard bands over each step's judged time, and the step boundaries, as live."""
    for record in steps:
        if record.position >= len(plan.steps):
            continue
        step = plan.steps[record.position]
        start = (record.started_ns - t0_ns) / 1e9
        end = (record.ended_ns - t0_ns) / 1e9 if record.ended_ns else start + step.duration_s
        plots.add_marker(start, step.name, "step")
        for spec in step.limits:
            plots.add_limit_band(spec.channel, spec.band, start + spec.settle_s, end)


def limit_span(bands: list[Band]) -> tuple[float | None, float | None]:
    """The lowest low and highest high of a channel's bands (None where no band has one)."""
    lows = [b.low for b in bands if b.low is not None]
    highs = [b.high for b in bands if b.high is not None]
    return (min(lows) if lows else None, max(highs) if highs else None)


def focus_range(
    low: float | None, high: float | None, data_min: float, data_max: float
) -> tuple[float, float]:
    """The y range of a judged channel's plot: its band large, the data followed a way out."""
    finite = math.isfinite(data_min) and math.isfinite(data_max)
    if low is not None and high is not None and high > low:
        width = high - low
        y0, y1 = low - FOCUS_MARGIN * width, high + FOCUS_MARGIN * width
        if finite:
            y0 = min(y0, max(data_min, low - FOCUS_REACH * width))
            y1 = max(y1, min(data_max, high + FOCUS_REACH * width))
        pad = 0.04 * (y1 - y0)
        return y0 - pad, y1 + pad
    # One-sided limit: the limit line and the data.
    edge = low if low is not None else high
    values = [edge] + ([data_min, data_max] if finite else [])
    y0, y1 = min(values), max(values)
    span = (y1 - y0) or abs(edge) or 1.0
    return y0 - 0.1 * span, y1 + 0.1 * span


# A live plot's y range shrinks only once what it must show has shrunk below this share of it.
STEADY_SHRINK = 1 / 1.5


def steady_range(
    current: tuple[float, float], wanted: tuple[float, float]
) -> tuple[float, float] | None:
    """A live plot's next y range, or None to keep ``current``: ``wanted`` rounded out to a
    tenth of its span in 1-2-5 steps, kept while it contains ``wanted`` and is not much larger.
    Set to ``wanted`` each frame, the axis followed every wiggle of the noise at the data's
    edge, and redrew its labels 30 times a second (1.4 ms each on a sled)."""
    w0, w1 = wanted
    span = w1 - w0
    if not math.isfinite(span) or abs(w1) > 1e300 or abs(w0) > 1e300:
        return None
    if span <= 1e-9 * max(abs(w0), abs(w1)) or span < 1e-290:  # flat, to the float's grain
        pad = max(abs(w0), abs(w1)) * 0.05 or 1.0
        w0, w1, span = w0 - pad, w1 + pad, w1 - w0 + 2 * pad
    c0, c1 = current
    if c0 <= w0 and w1 <= c1 and span >= STEADY_SHRINK * (c1 - c0):
        return None
    exponent = 10.0 ** math.floor(math.log10(span / 10))
    step = next(m * exponent for m in (1, 2, 5, 10) if m * exponent >= span / 10)
    # min/max: floor and ceil of a quotient can land a grain inside what must be shown.
    return min(math.floor(w0 / step) * step, w0), max(math.ceil(w1 / step) * step, w1)
