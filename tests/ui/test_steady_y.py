"""Live plots hold their y axes steady: the noise at the data's edge does not move them (each
move redrew an axis's labels, 30 times a second), a real change is followed in the next frame,
and a paused look follows the data again as before."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import Qt

from labbench.criteria.limits import Band
from labbench.ui.plot_limits import steady_range
from labbench.ui.plots import PlotStack
from labbench.ui.theme import LIGHT

from .runs import short_run_request

SPAN_S = 10.0


def test_steady_range_rounds_out_keeps_and_shrinks_late():
    assert steady_range((0.0, 1.0), (0.7123, 0.7811)) == pytest.approx((0.71, 0.79))
    assert steady_range((0.71, 0.79), (0.7123, 0.7811)) is None, "contains it: kept"
    grown = steady_range((0.71, 0.79), (0.7123, 0.7911))
    assert grown is not None and grown[0] <= 0.7123 and grown[1] >= 0.7911
    # What must be shown shrank to under two thirds of the range: it shrinks.
    assert steady_range((0.5, 1.0), (0.7123, 0.7811)) == pytest.approx((0.71, 0.79))
    assert steady_range((0.0, 1.0), (0.0, 0.7)) is None, "0.7 of it: kept"
    flat = steady_range((0.0, 1.0), (5.0, 5.0))
    assert flat is not None and flat[0] < 5.0 < flat[1]
    assert steady_range((0.0, 1.0), (math.nan, 1.0)) is None


def _stack(qtbot) -> PlotStack:
    stack = PlotStack(LIGHT)
    qtbot.addWidget(stack)
    stack.resize(900, 600)
    stack.show()
    return stack


def _frames(stack: PlotStack, t, v, name: str, count: int, end0: float, step_s=1 / 30):
    """``count`` live frames of a window sliding over (t, v); the y ranges each frame showed."""
    key = stack.channel_key[name]
    ranges = []
    for k in range(count):
        end = end0 + k * step_s
        stack.set_data(name, t, v)
        stack.set_x_range(end - SPAN_S, end, settle_y=False, keys={key})
        stack.redraw(end - SPAN_S, end, {key})
        stack.settle()
        ranges.append(tuple(stack.plots[key].vb.viewRange()[1]))
    return ranges


def _warming(seed: int):
    """A die warming up under load: 0.2 °C/s and the sensor's noise, at 1 kHz."""
    t = np.arange(0.0, 40.0, 0.001)
    return t, 45.0 + 0.2 * t + 0.1 * np.random.default_rng(seed).standard_normal(t.size)


def test_a_live_plot_does_not_follow_every_wiggle_and_follows_a_real_change(qtbot):
    stack = _stack(qtbot)
    stack.ensure_channel("temp_die", "°C")
    t, v = _warming(7)
    ranges = _frames(stack, t, v, "temp_die", 60, 12.0)
    # Set to the data each frame, the axis moved in every one of the 60 frames.
    assert len(set(ranges)) <= 4, f"the y axis moved {len(set(ranges)) - 1} times in 2 s"
    low, high = ranges[-1]
    shown = v[(t >= 14.0 - SPAN_S) & (t <= 14.0)]
    assert low <= shown.min() and high >= shown.max() and high - low < 2 * np.ptp(shown)
    # The die jumps 10 °C (a load step): the next frame shows it.
    v = np.where(t >= 14.1, v + 10.0, v)
    low, high = _frames(stack, t, v, "temp_die", 1, 14.2)[-1]
    assert low <= shown.min() and high >= v[(t >= 4.2) & (t <= 14.2)].max()


def test_a_judged_plot_holds_still_and_follows_a_real_change(qtbot):
    stack = _stack(qtbot)
    stack.set_limits({"temp_die": [Band(None, 85.0)]})  # one-sided: y follows the data
    stack.ensure_channel("temp_die", "°C")
    t, v = _warming(3)
    ranges = _frames(stack, t, v, "temp_die", 60, 12.0)
    assert len(set(ranges)) <= 4, f"the y axis moved {len(set(ranges)) - 1} times in 2 s"
    low, high = ranges[-1]
    assert high > 85.0 and low < v[(t >= 4.0) & (t <= 14.0)].min()
    v = np.where((t > 14.0) & (t < 14.1), 30.0, v)  # a sensor glitch far below
    low, _ = _frames(stack, t, v, "temp_die", 1, 14.2)[-1]
    assert low < 30.0, "a real change is followed in the next frame"


def test_a_paused_look_follows_the_data_and_keeps_a_zoom_by_hand(qtbot):
    stack = _stack(qtbot)
    stack.ensure_channel("idd_core", "A")
    t = np.arange(0.0, 40.0, 0.01)
    v = np.where(t < 20.0, 10.0, 50.0) + np.sin(t)
    _frames(stack, t, v, "idd_core", 3, 12.0)
    vb = stack.plot_of("idd_core").vb
    assert not vb.state["autoRange"][1], "live frames hold y themselves"
    stack.redraw(25.0, 35.0)  # paused, a pan to later
    vb.updateAutoRange()
    low, high = vb.viewRange()[1]
    assert vb.state["autoRange"][1] and 48.0 < low < 50.0 < high < 52.0
    vb.setYRange(0.0, 100.0, padding=0.0)  # a zoom by hand while paused
    stack.redraw(26.0, 36.0)
    assert not vb.state["autoRange"][1]
    assert vb.viewRange()[1] == pytest.approx([0.0, 100.0], abs=1.0)


def test_pause_gives_y_back_to_the_data_and_a_zoom_by_hand_then_stays(qtbot, window):
    """Pressing Pause mid-run: the plots the live frames held follow their data again; a y
    zoom made while paused survives what redraws the paused view (a resize of the window)."""
    live = window.live
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000):
        window.start_request(short_run_request(window.db, "mock://nominal?rate=200&power=off"))
        qtbot.waitUntil(lambda: live.plots.plot_of("idd_core") is not None, timeout=10_000)
        vb = live.plots.plot_of("idd_core").vb
        with qtbot.waitSignal(live.frame_drawn, timeout=5_000):
            pass
        assert not vb.state["autoRange"][1], "live frames hold y themselves"
        qtbot.mouseClick(live.follow_button, Qt.MouseButton.LeftButton)  # Pause
        assert live.paused and vb.state["autoRange"][1]
        vb.setYRange(-5.0, 45.0, padding=0.0)  # a zoom by hand (as the mouse wheel makes)
        drawn = []
        live.plots.redraw, redraw = (lambda *a: drawn.append(a) or redraw(*a)), live.plots.redraw
        with qtbot.waitSignal(live.plots.shown_changed, timeout=2_000):
            window.resize(window.width() - 40, window.height() - 30)  # redraws the paused view
        live.plots.redraw = redraw
        assert drawn, "the resize redrew the paused view"
        assert vb.viewRange()[1] == pytest.approx([-5.0, 45.0], abs=0.01)
        assert not vb.state["autoRange"][1]
