"""Power-sequencing marks on the rails' plots (docs/architecture.md §4 "Power sequencing").

When a timing item (``[[step.timing]]``) has been judged, the plots show where it was measured:

* ``rise``: the rail's 10 % and 90 % crossings, joined, labelled ``vdd_io rise 3.05 ms``;
* ``delay``: both rails' crossings and the span between them, drawn on the later rail's
  plot at its threshold, labelled ``vdd_io → vdd_hbm 4.2 ms``;
* ``order``: each rail's 90 % crossing numbered in the listed order, labelled with the
  smallest gap.

Each mark is in its verdict's colour and its label ends with the verdict in words.  The
crossing times are found again here, from the samples the plots hold, with the judging code
itself (:class:`~labbench.criteria.timing.TimingTracker` over the step's window), so a mark sits
exactly where the judged crossing was; the time written is the judged value.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from labbench.records import CriterionRecord, StepRecord
from labbench.runs.plan import Plan, TimingSpec
from labbench.ui.theme import Theme, verdict_colors

__all__ = ["Crossing", "TimingMark", "TimingMarks", "crossings_in", "timing_marks"]

Samples = Callable[[str, float, float], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Crossing:
    rail: str
    fraction: float
    threshold: float
    t_s: float


@dataclass(frozen=True)
class TimingMark:
    """One judged timing item as drawn: its crossings (those the rails made) and label."""

    step: int
    name: str
    kind: str
    verdict: str
    value_ms: float | None
    crossings: tuple[Crossing, ...]
    label: str


def crossings_in(spec: TimingSpec, samples: Samples, start_s: float, end_s: float) -> list:
    """The first upward crossing of each of the item's thresholds in [start_s, end_s): a
    :class:`Crossing` each, None where the rail never crossed it."""
    tracker = spec.tracker()
    for rail in tracker.rails:
        t, v = samples(rail, start_s, end_s)
        keep = (t >= start_s) & (t < end_s)
        tracker.feed(rail, t[keep], v[keep])
    out = []
    for (rail, fraction, _), found in zip(tracker.thresholds, tracker.trackers, strict=True):
        c = found.result()
        out.append(None if c.t_s is None else Crossing(rail, fraction, c.threshold, c.t_s))
    return out


def _label(spec: TimingSpec, record: CriterionRecord) -> str:
    if spec.kind == "rise":
        title = f"{spec.rails[0]} rise"
    elif spec.kind == "delay":
        title = f"{spec.rails[0]} → {spec.rails[1]}"
    else:
        title = "order " + " → ".join(spec.rails) + ", gap"
    return f"{title} {_ms(record.value)}"


def timing_marks(
    plan: Plan,
    steps: Iterable[StepRecord],
    samples: Samples,
    window: Callable[[StepRecord], tuple[float, float]],
    shown: dict | None = None,
) -> list[TimingMark]:
    """A mark for every timing item of ``steps`` with a measured time.  ``window`` gives a
    step's judged window in the plots' time (seconds since t0; a step still open ends at
    infinity), ``samples`` a rail's samples between two times.
    Items whose verdict and time are those of their mark in ``shown`` are left out (their
    crossings cannot have moved: the first crossing counts)."""
    shown = shown or {}
    out = []
    for step in steps:
        specs = {s.name: s for s in plan.steps[step.position].timings}
        if not specs:
            continue
        start_s, end_s = window(step)
        for record in step.criteria:
            spec = specs.get(record.name)
            if record.kind != "timing" or spec is None or record.value is None:
                continue
            before = shown.get((step.position, record.name))
            if before is not None and (before.verdict, before.value_ms) == (
                record.verdict,
                record.value,
            ):
                continue
            found = crossings_in(spec, samples, start_s, end_s)
            crossings = tuple(c for c in found if c is not None)
            label = _label(spec, record)
            kind, verdict, value = spec.kind, record.verdict, record.value
            out.append(
                TimingMark(step.position, record.name, kind, verdict, value, crossings, label)
            )
    return out


class TimingMarks:
    """Draws :class:`TimingMark` s on a ``PlotStack`` and keeps them up to date: a mark is
    drawn again only when its verdict, time or crossings changed.

    At the data: the crossings (dots), a rise's join, a delay's span, an order's numbers, and
    a short tag with the time.  Above the plot of the item's last crossing, off the data: the
    plot's items in full (``■ vdd_io rise 3.05 ms passed``), so that items milliseconds apart
    stay readable at any zoom."""

    def __init__(self, stack):
        self.stack = stack
        self.shown: dict[tuple[int, str], TimingMark] = {}
        self._items: dict[tuple[int, str], list] = {}
        self._home: dict[tuple[int, str], object] = {}  # mark -> the plot listing it

    def clear(self, *, remove: bool = True) -> None:
        """Take every mark away (``remove=False``: the plots were cleared already)."""
        if remove:
            for plot in {id(p): p for p in self._home.values()}.values():
                plot.setTitle(None)
            for key in list(self._items):
                self._remove(key)
        self._items.clear()
        self._home.clear()
        self.shown.clear()

    def update(self, marks: Iterable[TimingMark]) -> None:
        changed = set()
        for mark in marks:
            key = (mark.step, mark.name)
            if self.shown.get(key) == mark:
                continue
            changed.add(id(self._home.get(key)))
            self._remove(key)
            self.shown[key] = mark
            self._draw(key, mark)
            changed.add(id(self._home.get(key)))
        for plot in {id(p): p for p in self._home.values()}.values():
            if id(plot) in changed:
                self._list(plot)

    def set_theme(self, theme: Theme) -> None:
        marks = list(self.shown.values())
        self.clear()
        self.update(marks)

    def marks(self) -> list[TimingMark]:
        return list(self.shown.values())

    def items(self, step: int, name: str) -> list:
        """The graphics items drawn at the data for one mark (dots, joins, spans, tags)."""
        return list(self._items.get((step, name), ()))

    def listed(self) -> dict[str, str]:
        """Each plot's list of timing items as shown above it (plot's axis title → text)."""
        out = {}
        for plot in {id(p): p for p in self._home.values()}.values():
            if plot.titleLabel.isVisible():
                out[plot.getAxis("left").labelText] = plot.titleLabel.item.toPlainText()
        return out

    def listing(self, step: int, name: str) -> str:
        """The text above the plot that lists the item ("" when it is listed nowhere)."""
        plot = self._home.get((step, name))
        if plot is None or not plot.titleLabel.isVisible():
            return ""
        return plot.titleLabel.item.toPlainText()

    def _remove(self, key: tuple[int, str]) -> None:
        for item in self._items.pop(key, ()):
            view = item.getViewBox()
            if view is not None:
                view.removeItem(item)
        self._home.pop(key, None)

    def _list(self, plot) -> None:
        """The plot's items, above it (never over the data), two a line."""
        theme = self.stack.theme
        here = [m for k, m in self.shown.items() if self._home.get(k) is plot]
        # In the order they happened (their last crossing).
        here.sort(key=lambda m: (m.step, max(c.t_s for c in m.crossings)))
        entries = []
        for mark in here:
            color = verdict_colors(theme, mark.verdict)[0].name()
            entries.append(
                f'<span style="color:{color}">■</span> {html.escape(mark.label)} '
                f'<b style="color:{color}">{html.escape(mark.verdict)}</b>'
            )
        if not entries:
            plot.setTitle(None)
            return
        lines = ["&nbsp;&nbsp;&nbsp; ".join(entries[i : i + 2]) for i in range(0, len(entries), 2)]
        plot.setTitle("<br>".join(lines), color=theme.plot_foreground, size="9pt")
        height = 16 * len(lines) + 8
        plot.titleLabel.setMaximumHeight(height)
        plot.layout.setRowFixedHeight(0, height)

    def _draw(self, key: tuple[int, str], mark: TimingMark) -> None:
        theme = self.stack.theme
        color = verdict_colors(theme, mark.verdict)[0]
        pen = pg.mkPen(color, width=2)
        items: list = []
        self._items[key] = items
        if not mark.crossings:
            return
        by_rail: dict[str, list[Crossing]] = {}
        for c in mark.crossings:
            by_rail.setdefault(c.rail, []).append(c)
        for rail, found in by_rail.items():
            plot = self.stack.plot_of(rail)
            if plot is None:
                continue
            dots = pg.ScatterPlotItem(
                [c.t_s for c in found],
                [c.threshold for c in found],
                symbol="o",
                size=9,
                pen=pg.mkPen(theme.plot_background, width=1),
                brush=pg.mkBrush(color),
            )
            items.append(self._add(plot, dots, 30))
            if mark.kind == "rise" and len(found) == 2:
                join = pg.PlotCurveItem(
                    [found[0].t_s, found[1].t_s],
                    [found[0].threshold, found[1].threshold],
                    pen=pg.mkPen(color, width=2, style=Qt.PenStyle.DashLine),
                )
                items.append(self._add(plot, join, 29))
        last = max(mark.crossings, key=lambda c: c.t_s)
        plot = self.stack.plot_of(last.rail)
        if plot is None:
            return
        self._home[key] = plot
        value = _ms(mark.value_ms)
        if mark.kind == "rise":
            # Right of the 90 % point, under the rail's flat top: never clipped by the frame.
            tag = pg.TextItem(value, color=color, anchor=(-0.15, 0.1))
            tag.setPos(last.t_s, last.threshold)
            items.append(self._add(plot, tag, 31))
        elif mark.kind == "delay" and len(mark.crossings) == 2:
            first = min(mark.crossings, key=lambda c: c.t_s)
            y = last.threshold
            span = pg.PlotCurveItem(
                [first.t_s, first.t_s, last.t_s, last.t_s],
                [y * 0.94, y, y, y * 0.94],
                pen=pen,
            )
            items.append(self._add(plot, span, 29))
            tag = pg.TextItem(f"Δ {value}", color=color, anchor=(0.5, 1.0))
            tag.setPos((first.t_s + last.t_s) / 2, y)
            items.append(self._add(plot, tag, 31))
        elif mark.kind == "order":
            for k, c in enumerate(mark.crossings, start=1):
                number = pg.TextItem(str(k), color=color, anchor=(0.5, -0.2))
                number.setPos(c.t_s, c.threshold)
                items.append(self._add(self.stack.plot_of(c.rail) or plot, number, 31))

    @staticmethod
    def _add(plot, item, z: float):
        item.setZValue(z)
        plot.addItem(item, ignoreBounds=True)
        return item


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} ms"
