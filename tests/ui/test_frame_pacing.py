"""Drawing never takes the whole GUI thread: a frame that costs more than the frame interval
is followed by a longer wait (three times its cost), and the pace returns to 30 Hz when frames
get cheap again.  And a plot's curves, drawn by one item, still set the plot's y range."""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg

from labbench.ui.live_view import FRAME_INTERVAL_MS, FRAME_PACING, MAX_FRAME_INTERVAL_MS
from labbench.ui.plots import PlotStack

from .runs import short_run_request


def test_a_costly_frame_slows_the_frame_timer_and_a_cheap_one_restores_it(qtbot, window):
    live = window.live
    redraw = live.plots.redraw
    slow = [True]

    def costly_redraw(x0, x1):  # 60 ms of drawing, as 128 curves on a slow machine
        redraw(x0, x1)
        if slow[0]:
            time.sleep(0.06)

    live.plots.redraw = costly_redraw
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000):
        window.start_request(short_run_request(window.db, "mock://nominal?rate=200&power=off"))
        qtbot.waitUntil(lambda: live.frame_timer.interval() >= FRAME_PACING * 60, timeout=5_000)
        assert live.frame_timer.interval() <= MAX_FRAME_INTERVAL_MS
        slow[0] = False
        qtbot.waitUntil(lambda: live.frame_timer.interval() == FRAME_INTERVAL_MS, timeout=5_000)
    live.plots.redraw = redraw


def test_the_y_axis_follows_only_the_curves_shown(qtbot):
    stack = PlotStack()
    qtbot.addWidget(stack)
    stack.resize(800, 400)
    stack.show()
    t = np.linspace(0.0, 1.0, 100)
    for slot, level in ((0, 10.0), (1, 50.0)):
        stack.ensure_channel(f"idd[{slot}]", "A")
        stack.set_data(f"idd[{slot}]", t, np.full(t.size, level))
    stack.set_x_range(0.0, 1.0)
    stack.redraw(0.0, 1.0)
    plot = stack.plot_of("idd[0]")
    plot.vb.updateAutoRange()
    low, high = plot.vb.viewRange()[1]
    assert low < 10.0 and high > 50.0, "both slots' curves are in view"
    groups = [i for i in plot.vb.addedItems if not isinstance(i, pg.InfiniteLine)]
    assert len(groups) == 1, "one item draws both slots' curves"
    stack.show_slot(0)
    stack.redraw(0.0, 1.0)
    plot.vb.updateAutoRange()
    low, high = plot.vb.viewRange()[1]
    assert low < 10.0 < high < 50.0, "slot 1, hidden, no longer sets the range"
