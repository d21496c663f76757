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

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from labbench.records import CriterionRecord, StepRecord
from labbench.runs.plan import Plan, TimingSpec
from labbench.ui.theme import Theme, verdict_colors

__all__ = ["TimingMark", "TimingMarks", "crossings_in", "timing_marks"]

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
    value = "—" if record.value is None else f"{record.value:.3g} ms"
    return f"{title} {value} {record.verdict}"


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
            mark = TimingMark(
                step.position,
                record.name,
                spec.kind,
                record.verdict,
                record.value,
                crossings,
                _label(spec, record),
            )
            out.append(mark)
    return out


class TimingMarks:
    """Draws :class:`TimingMark` s on a ``PlotStack`` and keeps them up to date: a mark is
    drawn again only when its verdict, time or crossings changed."""

    def __init__(self, stack):
        self.stack = stack
        self.shown: dict[tuple[int, str], TimingMark] = {}
        self._items: dict[tuple[int, str], list] = {}
        self._labels_on: dict[int, list[tuple[int, str]]] = {}  # plot id -> marks labelled

    def clear(self, *, remove: bool = True) -> None:
        """Take every mark away (``remove=False``: the plots were cleared already)."""
        for key in list(self._items):
            if remove:
                self._remove(key)
        self._items.clear()
        self.shown.clear()
        self._labels_on.clear()

    def update(self, marks: Iterable[TimingMark]) -> None:
        for mark in marks:
            key = (mark.step, mark.name)
            if self.shown.get(key) == mark:
                continue
            self._remove(key)
            self._draw(key, mark)
            self.shown[key] = mark

    def set_theme(self, theme: Theme) -> None:
        marks = list(self.shown.values())
        self.clear()
        self.update(marks)

    def marks(self) -> list[TimingMark]:
        return list(self.shown.values())

    def items(self, step: int, name: str) -> list:
        """The graphics items drawn for one mark (points, spans, label)."""
        return list(self._items.get((step, name), ()))

    def _remove(self, key: tuple[int, str]) -> None:
        for item in self._items.pop(key, ()):
            view = item.getViewBox()
            if view is not None:
                view.removeItem(item)
        for keys in self._labels_on.values():
            if key in keys:
                keys.remove(key)

    def _draw(self, key: tuple[int, str], mark: TimingMark) -> None:
        theme = self.stack.theme
        color = verdict_colors(theme, mark.verdict)[0]
        pen = pg.mkPen(color, width=2)
        items: list = []
        if not mark.crossings:
            self._items[key] = items
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
            dots.setZValue(30)
            plot.addItem(dots, ignoreBounds=True)
            items.append(dots)
            if mark.kind == "rise" and len(found) == 2:
                join = pg.PlotCurveItem(
                    [found[0].t_s, found[1].t_s],
                    [found[0].threshold, found[1].threshold],
                    pen=pg.mkPen(color, width=2, style=Qt.PenStyle.DashLine),
                )
                join.setZValue(29)
                plot.addItem(join, ignoreBounds=True)
                items.append(join)
        last = max(mark.crossings, key=lambda c: c.t_s)
        plot = self.stack.plot_of(last.rail)
        if plot is not None:
            if mark.kind == "delay" and len(mark.crossings) == 2:
                first = min(mark.crossings, key=lambda c: c.t_s)
                span = pg.PlotCurveItem(
                    [first.t_s, first.t_s, last.t_s, last.t_s],
                    [last.threshold * 0.97, last.threshold, last.threshold, last.threshold * 0.97],
                    pen=pen,
                )
                span.setZValue(29)
                plot.addItem(span, ignoreBounds=True)
                items.append(span)
            if mark.kind == "order":
                for k, c in enumerate(mark.crossings, start=1):
                    number = pg.TextItem(str(k), color=color, anchor=(1.2, 1.0))
                    number.setPos(c.t_s, c.threshold)
                    self.stack.plot_of(c.rail).addItem(number, ignoreBounds=True)
                    items.append(number)
            # Labels of one plot stacked upward from the crossing, one line each: a rail's
            # rise and the delays from it happen within milliseconds of one another.
            row = self._labels_on.setdefault(id(plot), [])
            label = pg.TextItem(
                mark.label,
                color=theme.plot_foreground,
                fill=pg.mkBrush(_translucent(theme.plot_background)),
                border=pen,
                anchor=(-0.05, 1.0 + 1.15 * len(row)),
            )
            label.setPos(last.t_s, last.threshold)
            label.setZValue(31)
            plot.addItem(label, ignoreBounds=True)
            items.append(label)
            row.append(key)
        self._items[key] = items

    def label_items(self) -> list[pg.TextItem]:
        return [
            item
            for items in self._items.values()
            for item in items
            if isinstance(item, pg.TextItem) and len(item.toPlainText()) > 3
        ]


def _translucent(color: str):
    c = pg.mkColor(color)
    c.setAlpha(225)
    return c
