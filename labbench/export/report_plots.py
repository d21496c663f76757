"""What the HTML report's plots show, as plain data (docs/architecture.md §9).

``labbench.export`` may not draw: Qt and pyqtgraph live in ``labbench.ui`` only. This module
decides what each plot holds (the samples or the stored envelope, the limit and guard bands
over the judged part of each step, step boundaries, commands sent, violations) and hands a
:class:`PlotSpec` per plot to a ``render_plots`` callable the caller injects (the app's is
``labbench.ui.report_plots.render_plots``, which draws them with the stored-run view's plots).

Memory stays flat however long the run: a whole-run plot of a channel with many samples is
drawn from the chunk and overview rows' min/max columns (no blob read), and a violation's plot
reads only the chunks around it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from labbench.criteria.shmoo import Shmoo
from labbench.export.run_context import RunContext, item_title
from labbench.protocols.slots import SlotNameError, split_slot
from labbench.records import ChannelInfo, CriterionRecord, RunEventInfo, ViolationRecord
from labbench.storage import Database
from labbench.storage.telemetry_read import overview_summary, read_channel, read_window

__all__ = [
    "LimitSpan",
    "Marker",
    "PlotSpec",
    "RenderPlots",
    "RenderShmoo",
    "RenderedPlot",
    "Series",
    "overview_plots",
    "violation_plots",
    "zoom_window",
]

# A channel with at most this many samples is drawn from its samples (the renderer reduces
# them to what the pixels show); above it, from the stored min/max envelope, as the stored-run
# view does (docs/architecture.md §8, "Drawing cost"). 200 k samples are 3.2 MB of arrays.
SAMPLES_AT_MOST = 200_000
# Points per curve on a whole-run plot at most: a min and a max per column of a plot some 1,100
# pixels wide, so that every group's curves can be in memory at once, whatever the channels.
WHOLE_RUN_PAIRS = 1100
# Commands drawn as markers on a whole-run plot: past this many the lane above the plot is a
# smear of labels, and the events table lists them anyway.
MAX_COMMAND_MARKERS = 40


@dataclass(frozen=True)
class Series:
    """One curve: a channel's samples, or its envelope (min, max per stored block)."""

    channel: str
    unit: str
    t: np.ndarray
    v: np.ndarray


@dataclass(frozen=True)
class LimitSpan:
    """An item's limit and guard bands over the judged part of its step (seconds since t0)."""

    channel: str
    low: float | None
    high: float | None
    marginal_low: float | None
    marginal_high: float | None
    x0: float
    x1: float


@dataclass(frozen=True)
class Marker:
    """A step boundary (``step``) or a command sent to the rig (``command``)."""

    x: float
    text: str
    kind: str


@dataclass(frozen=True)
class PlotSpec:
    """Everything one report plot shows. ``zoom`` names the violation a plot is zoomed on
    (channel, start_s, end_s, extreme): the renderer frames its time and its extreme value
    with the limits."""

    title: str
    series: tuple[Series, ...]
    limits: tuple[LimitSpan, ...]
    markers: tuple[Marker, ...]
    violations: tuple[tuple[str, float, float, float], ...]
    x_range: tuple[float, float]
    zoom: tuple[str, float, float, float] | None = None
    envelope: bool = False  # drawn from stored min/max, not samples


@dataclass(frozen=True)
class RenderedPlot:
    """A drawn plot: PNG bytes, and the colour each drawn channel's curve got (the page
    writes the legend under the image, never over the data)."""

    png: bytes
    colors: tuple[tuple[str, str], ...] = ()


# Draws plots, one image per spec in order (None for a plot with nothing drawable, e.g. only
# bookkeeping channels); handed several at once so that it may draw alike plots together.
RenderPlots = Callable[[list[PlotSpec]], "list[RenderedPlot | None]"]
# Draws a sweep's shmoo grid as PNG bytes, ``width`` wide and at most ``height`` high (the
# app's is ``labbench.ui.shmoo_view.render_shmoo_png``: the app's own grid widget, with a
# letter in every cell, so the image reads without colour).
RenderShmoo = Callable[[Shmoo, int, int], bytes]


def _base(channel: str) -> tuple[str, int | None]:
    try:
        return split_slot(channel)
    except SlotNameError:
        return channel, None


def limit_spans(ctx: RunContext) -> list[LimitSpan]:
    """Every limit item's bands, once per distinct band and time (a sled's slots share one)."""
    spans: dict[tuple, LimitSpan] = {}
    for step in ctx.steps:
        if step.verdict == "skipped":
            continue
        start = ctx.seconds(step.started_ns)
        end = ctx.seconds(step.ended_ns) if step.ended_ns is not None else start
        for c in step.criteria:
            if c.kind != "limit" or (c.low is None and c.high is None):
                continue
            span = LimitSpan(
                c.channel,
                c.low,
                c.high,
                c.marginal_low,
                c.marginal_high,
                min(start + c.settle_s, end),
                end,
            )
            key = (_base(c.channel)[0], span.low, span.high, span.marginal_low)
            key += (span.marginal_high, span.x0, span.x1)
            spans.setdefault(key, span)
    return list(spans.values())


def step_markers(ctx: RunContext, events: list[RunEventInfo]) -> list[Marker]:
    markers = [
        Marker(ctx.seconds(s.started_ns), s.name, "step")
        for s in ctx.steps
        if s.verdict != "skipped"
    ]
    commands = [e for e in events if e.kind == "command"][:MAX_COMMAND_MARKERS]
    markers += [Marker(ctx.seconds(e.at_ns), "▸ " + e.detail, "command") for e in commands]
    return markers


def plot_groups(ctx: RunContext, channels: list[ChannelInfo]) -> dict[str, list[ChannelInfo]]:
    """The channels per plot, as the stored-run view groups them: a judged channel (all its
    slots) on a plot of its own, a per-slot channel's slots together, the rest by unit."""
    judged = {_base(s.channel)[0] for s in limit_spans(ctx)}
    groups: dict[str, list[ChannelInfo]] = {}
    for channel in channels:
        base, slot = _base(channel.name)
        if base in judged:
            key = base
        elif slot is not None:
            key = f"{base} (every slot)"
        else:
            key = f"\0{channel.unit}"  # named below, once its channels are known
        groups.setdefault(key, []).append(channel)
    named = {}
    for key, group in groups.items():
        if key.startswith("\0"):
            unit = f" ({group[0].unit})" if group[0].unit else ""
            names = [c.name for c in group]
            key = ", ".join(names) if len(names) <= 3 else f"{len(names)} channels"
            key += unit
        named[key] = group
    return named


def _spans_on(spans: list[LimitSpan], names: list[str], x0: float, x1: float) -> tuple:
    """The spans drawn on a plot of these channels between x0 and x1, each named after a
    channel of the plot (a sled's slots share one span, kept under its first slot's name)."""
    by_base = {_base(name)[0]: name for name in names}
    return tuple(
        replace(s, channel=s.channel if s.channel in names else by_base[_base(s.channel)[0]])
        for s in spans
        if (s.channel in names or _base(s.channel)[0] in by_base) and s.x1 >= x0 and s.x0 <= x1
    )


def min_max_pairs(t: np.ndarray, v: np.ndarray, pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """Samples reduced to a (min, max) pair per run of equal length, at most ``pairs`` of
    them and the leftover samples: what a plot ``pairs`` pixels wide can show anyway."""
    per = t.size // pairs
    if per < 2:
        return t, v
    n = per * pairs
    tt, vv = t[:n].reshape(pairs, per), v[:n].reshape(pairs, per)
    out_t = np.repeat(tt[:, 0], 2)
    out_t[1::2] = tt[:, -1]
    out_v = np.empty(out_t.size)
    # fmin/fmax skip NaN (a gap) unless the whole run of samples is NaN.
    out_v[0::2], out_v[1::2] = np.fmin.reduce(vv, axis=1), np.fmax.reduce(vv, axis=1)
    return np.concatenate((out_t, t[n:])), np.concatenate((out_v, v[n:]))


def _whole_run(db: Database, run_id: int, channel: ChannelInfo) -> tuple[Series, bool]:
    summary = overview_summary(db, run_id, channel.name)
    if int(summary.count.sum()) <= SAMPLES_AT_MOST:
        t, v = min_max_pairs(*read_channel(db, run_id, channel.name), WHOLE_RUN_PAIRS)
        return Series(channel.name, channel.unit, t, v), False
    # One (t_first, v_min), (t_last, v_max) pair per stored block: no blob is read.
    t = np.repeat(summary.t_first, 2)
    t[1::2] = summary.t_last
    v = np.empty(t.size)
    v[0::2], v[1::2] = summary.v_min, summary.v_max
    t, v = min_max_pairs(t, v, 2 * WHOLE_RUN_PAIRS)  # pairs of pairs: still min and max
    return Series(channel.name, channel.unit, t, v), True


def _run_end(ctx: RunContext, series: list[Series]) -> float:
    ends = [float(s.t[-1]) for s in series if s.t.size]
    ends += [ctx.seconds(s.ended_ns) for s in ctx.steps if s.ended_ns is not None]
    if ctx.duration_s is not None:
        ends.append(ctx.duration_s)
    return max(ends, default=1.0) or 1.0


def overview_plots(
    db: Database,
    ctx: RunContext,
    channels: list[ChannelInfo],
    events: list[RunEventInfo],
    violations: list[tuple[CriterionRecord, ViolationRecord]],
) -> Iterator[PlotSpec]:
    """One plot per channel group over the whole run; each curve at most a few thousand
    points (``WHOLE_RUN_PAIRS``), so every group may be drawn at once."""
    spans = limit_spans(ctx)
    markers = tuple(step_markers(ctx, events))
    for title, group in plot_groups(ctx, channels).items():
        names = [c.name for c in group]
        loaded = [_whole_run(db, ctx.run.id, c) for c in group]
        series = [s for s, _ in loaded]
        end = _run_end(ctx, series)
        yield PlotSpec(
            title=title,
            series=tuple(series),
            limits=_spans_on(spans, names, 0.0, end),
            markers=markers,
            violations=tuple(
                (v.channel, v.start_s, v.end_s, v.extreme)
                for _, v in violations
                if v.channel in names
            ),
            x_range=(0.0, end),
            envelope=any(e for _, e in loaded),
        )


def zoom_window(v: ViolationRecord) -> tuple[float, float]:
    """The time a violation's plot shows: the violation and twice its length each side (at
    least half a second), as the stored-run view zooms onto one."""
    margin = max((v.end_s - v.start_s) * 2.0, 0.5)
    return v.start_s - margin, v.end_s + margin


def violation_plots(
    db: Database,
    ctx: RunContext,
    channels: list[ChannelInfo],
    events: list[RunEventInfo],
    violations: list[tuple[CriterionRecord, ViolationRecord]],
) -> Iterator[PlotSpec]:
    """A plot zoomed on each violation: only the chunks around it are read."""
    units = {c.name: c.unit for c in channels}
    spans = limit_spans(ctx)
    markers = tuple(step_markers(ctx, events))
    for c, v in violations:
        x0, x1 = zoom_window(v)
        if v.channel in units:
            t, val = read_window(db, ctx.run.id, v.channel, x0, x1)
        else:
            t, val = np.empty(0), np.empty(0)
        yield PlotSpec(
            title=f"{item_title(c)}: {v.bound} bound, {v.start_s:.3f} s to {v.end_s:.3f} s",
            series=(Series(v.channel, units.get(v.channel, c.unit), t, val),),
            limits=_spans_on(spans, [v.channel], x0, x1),
            markers=tuple(m for m in markers if x0 <= m.x <= x1),
            violations=((v.channel, v.start_s, v.end_s, v.extreme),),
            x_range=(x0, x1),
            zoom=(v.channel, v.start_s, v.end_s, v.extreme),
        )
