"""The time axis reads seconds early in a run and a clock later, never kiloseconds."""

from __future__ import annotations

import types

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QImage, QPainter

from labbench.ui.plots import PlotStack
from labbench.ui.time_axis import clock_text


def test_clock_text():
    assert clock_text(0, 60) == "0:00"
    assert clock_text(754, 60) == "12:34"
    assert clock_text(3723, 60) == "1:02:03"
    assert clock_text(612.5, 0.5) == "10:12.5"
    assert clock_text(600.25, 0.05) == "10:00.25"
    assert clock_text(-30, 15) == "-0:30"
    assert clock_text(3596, 2, hours=True) == "0:59:56"


def _drawn_ticks(axis) -> list[str]:
    image = QImage(1000, 100, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _, _, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [text for _, _, text in texts]


def _stack_over(qtbot, seconds: float) -> PlotStack:
    stack = PlotStack()
    qtbot.addWidget(stack)
    stack.resize(1100, 400)
    stack.show()
    t = np.linspace(0.0, seconds, 500)
    stack.ensure_channel("vdd_core", "V")
    stack.set_data("vdd_core", t, np.full(t.size, 0.75))
    stack.redraw(0.0, seconds)
    stack.set_x_range(0.0, seconds)
    return stack


def test_a_fifty_minute_run_reads_as_a_clock_on_whole_minutes(qtbot):
    axis = _stack_over(qtbot, 3000.0).lane.getAxis("top")
    assert "(m:ss)" in axis.labelString() and "ks" not in axis.labelString()
    ticks = _drawn_ticks(axis)
    assert "10:00" in ticks and "20:00" in ticks, ticks
    assert all(":" in tick for tick in ticks), ticks


def test_the_first_minutes_read_in_seconds(qtbot):
    stack = _stack_over(qtbot, 12.0)
    axis = stack.lane.getAxis("top")
    assert "(s)" in axis.labelString()
    ticks = _drawn_ticks(axis)
    assert "10" in ticks and not any(":" in tick for tick in ticks), ticks
    stack.set_x_range(3590.0, 3600.0)  # a live 10 s window an hour in
    assert "(h:mm:ss)" in axis.labelString()
    assert "0:59:56" in _drawn_ticks(axis) or "0:59:58" in _drawn_ticks(axis)


def _specs(generate, axis):
    image = QImage(1200, 100, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        axis_spec, ticks, texts = generate(axis, painter)
    finally:
        painter.end()
    return (
        (axis_spec[1].x(), axis_spec[1].y(), axis_spec[2].x(), axis_spec[2].y()),
        [
            (pen.color().name(), pen.color().alpha(), a.x(), a.y(), b.x(), b.y())
            for pen, a, b in ticks
        ],
        [(r.x(), r.y(), r.width(), r.height(), int(flags), text) for r, flags, text in texts],
    )


@pytest.mark.parametrize(
    "x0, x1",
    [(0.0, 10.0), (3.3, 13.3), (0.0, 0.05), (-5.0, 5.0), (0.0, 3000.0), (3590.0, 3610.0),
     (86000.0, 86600.0), (250.0, 1250.0), (12.0, 12.0001), (2744.5, 2745.8), (233.5, 234.8),
     (12.6, 13.6)],
)  # fmt: skip
def test_the_time_axis_lays_out_its_ticks_and_labels_as_pyqtgraph_does(qtbot, monkeypatch, x0, x1):
    """The time axis's own quick layout (each frame) gives what pyqtgraph's general one
    would: the same ticks, the same labels in the same places, the same left out."""
    stack = _stack_over(qtbot, 10.0)
    axis = stack.lane.getAxis("top")
    axis.setRange(x0, x1)
    assert type(axis).generateDrawSpecs is not pg.AxisItem.generateDrawSpecs
    ours = _specs(type(axis).generateDrawSpecs, axis)
    monkeypatch.setattr(axis, "tickValues", types.MethodType(pg.AxisItem.tickValues, axis))
    theirs = _specs(pg.AxisItem.generateDrawSpecs, axis)
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]
    assert ours[2] == theirs[2]
    assert ours[2], "labels are drawn"


@pytest.mark.parametrize("levels", [1, 2])
def test_the_time_axis_ticks_are_pyqtgraphs_over_many_ranges(qtbot, levels):
    """Ticks a lower level leaves out are those the levels above drew (a major tick rounded
    off the end of the range leaves its minor one in, as in pyqtgraph)."""
    stack = _stack_over(qtbot, 10.0)
    axis = stack.lane.getAxis("top")
    axis.setStyle(maxTickLevel=levels)
    rng = np.random.default_rng(7)
    starts = np.round(rng.uniform(-100.0, 5000.0, 3000), 1)
    spans = rng.choice([0.05, 0.3, 1.3, 2.5, 10.0, 60.0, 700.0, 4000.0], 3000)
    for x0, span in zip(starts, spans, strict=True):
        x1 = round(float(x0 + span), 1)
        ours = axis.tickValues(float(x0), x1, 1000.0)
        theirs = pg.AxisItem.tickValues(axis, float(x0), x1, 1000.0)
        assert [s for s, _ in ours] == [s for s, _ in theirs], (x0, x1)
        for (spacing, values), (_, their_values) in zip(ours, theirs, strict=True):
            assert values == pytest.approx(their_values, rel=0, abs=spacing * 1e-9), (x0, x1)
