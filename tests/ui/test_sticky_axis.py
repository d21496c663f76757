"""The time axis stays in sight when the plot stack scrolls: a copy of the lane's axis over
the top of the scroll area, at the plots' x extent, following their range."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QAbstractSlider

from labbench.ui.plots import PlotStack

from .runs import short_run_request

CHANNELS = [("vdd_core", "V"), ("idd", "A"), ("temp", "°C"), ("fan", "rpm"), ("clk", "MHz")]


def _screen_x(widget, item) -> tuple[float, float]:
    """Where a pyqtgraph item's left and right edges are on screen."""
    rect = item.sceneBoundingRect()
    left = widget.mapToGlobal(widget.mapFromScene(rect.topLeft()))
    right = widget.mapToGlobal(widget.mapFromScene(rect.topRight()))
    return left.x(), right.x()


def _stack(qtbot) -> PlotStack:
    stack = PlotStack(grid=False)
    qtbot.addWidget(stack)
    t = np.linspace(0.0, 10.0, 500)
    for i, (name, unit) in enumerate(CHANNELS):
        stack.ensure_channel(name, unit)
        stack.set_data(name, t, np.sin(t * (i + 1)))
    stack.resize(900, 380)
    stack.show()
    qtbot.waitExposed(stack)
    stack.redraw(0.0, 10.0)
    stack.set_x_range(0.0, 10.0)
    return stack


def test_scrolled_the_time_axis_stays_over_the_plots(qtbot):
    stack = _stack(qtbot)
    sticky, bar = stack.sticky, stack.scroll.verticalScrollBar()
    assert bar.maximum() > 0, "five plots do not fit 380 px: the stack scrolls"
    assert not sticky.isVisible(), "at the top, the lane's own axis is in sight"
    bar.setValue(bar.maximum())
    qtbot.waitUntil(sticky.isVisible, timeout=2_000)
    assert sticky.geometry().top() == 0
    assert sticky.plot.vb.viewRange()[0] == stack.lane.vb.viewRange()[0]
    # Its ticks stand over the same times as the plots': the same x extent on screen.
    last = stack.plots[list(stack.plots)[-1]]
    mine = _screen_x(sticky, sticky.plot.vb)
    theirs = _screen_x(stack.layout_widget, last.vb)
    assert abs(mine[0] - theirs[0]) <= 1 and abs(mine[1] - theirs[1]) <= 1, (mine, theirs)
    # It follows a zoom or pan of the plots.
    stack.set_x_range(2.0, 7.0)
    assert sticky.plot.vb.viewRange()[0] == [2.0, 7.0]
    assert sticky.axis.tickValues(2.0, 7.0, 800)  # ticks to draw
    bar.setValue(0)
    qtbot.waitUntil(lambda: not sticky.isVisible(), timeout=2_000)


def test_a_cleared_stack_has_no_sticky_axis(qtbot):
    stack = _stack(qtbot)
    bar = stack.scroll.verticalScrollBar()
    bar.setValue(bar.maximum())
    qtbot.waitUntil(stack.sticky.isVisible, timeout=2_000)
    stack.clear()
    assert not stack.sticky.isVisible() and stack.sticky.lane is None


def test_scrolled_mid_run_the_time_axis_follows_the_live_window(qtbot, window):
    """At 1280 x 720 the live stack scrolls; scrolled to its last plot (what dragging the
    scroll bar down does), the time axis is over the plots and moves with every frame."""
    window.resize(1280, 720)
    live = window.live
    stack = live.plots
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000):
        window.start_request(short_run_request(window.db, "mock://nominal?rate=200&power=off"))
        qtbot.waitUntil(lambda: len(stack.plots) >= 4 and bool(stack.data), timeout=10_000)
        bar = stack.scroll.verticalScrollBar()
        qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5_000)
        bar.triggerAction(QAbstractSlider.SliderAction.SliderToMaximum)
        qtbot.waitUntil(stack.sticky.isVisible, timeout=2_000)
        assert stack.sticky.mapTo(stack.scroll, stack.sticky.rect().topLeft()).y() == 0
        first = stack.sticky.plot.vb.viewRange()[0]
        qtbot.waitUntil(lambda: stack.sticky.plot.vb.viewRange()[0][1] > first[1], timeout=3_000)
        assert stack.sticky.plot.vb.viewRange()[0] == stack.lane.vb.viewRange()[0]
        x0, x1 = stack.sticky.plot.vb.viewRange()[0]
        assert -1.0 <= x0 < x1 < 1e6  # the run's seconds
    # A plot picked is placed under the axis, not behind it.
    last = list(stack.channel_key)[-1]
    bar.setValue(0)
    stack.scroll_to(last)
    qtbot.waitUntil(stack.sticky.isVisible, timeout=2_000)
    top = stack.layout_widget.mapFromScene(stack.plot_of(last).sceneBoundingRect().topLeft())
    assert top.y() - bar.value() >= stack.sticky.height() - 1
