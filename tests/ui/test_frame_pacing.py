"""Drawing never takes the whole GUI thread: a frame that costs more than the frame interval
is followed by a longer wait (three times its cost), and the pace returns to 30 Hz when frames
get cheap again.  And a plot's curves, drawn by one item, still set the plot's y range."""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt

from labbench.acquisition.drawing import TURN, DrawingTurn
from labbench.ui.frame_turn import UNPAINTED_MS, FrameTurn
from labbench.ui.live_view import FRAME_INTERVAL_MS, FRAME_PACING, MAX_FRAME_INTERVAL_MS
from labbench.ui.plots import PlotStack

from .runs import short_run_request
from .test_plots_view import _answer_save_dialog


def test_a_costly_frame_slows_the_frame_timer_and_a_cheap_one_restores_it(qtbot, window):
    live = window.live
    redraw = live.plots.redraw
    slow = [True]

    def costly_redraw(x0, x1, keys=None):  # 60 ms of drawing, as 128 curves on a slow machine
        redraw(x0, x1, keys)
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


def test_plots_out_of_view_wait_and_are_drawn_when_scrolled_to(qtbot, window):
    """A frame hands data only to the plots the stack shows; scrolling to the others, even
    while paused, draws them over the span on screen."""
    window.resize(1280, 720)
    live = window.live
    stack = live.plots
    request = short_run_request(window.db, "mock://nominal?rate=200&power=off")
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000):
        window.start_request(request)
        qtbot.waitUntil(lambda: len(stack.plots) >= 4 and bool(stack.data), timeout=10_000)
        bar = stack.scroll.verticalScrollBar()
        qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5_000)  # the stack scrolls
        shown = stack.keys_in_view()
        hidden = [k for k in stack.plots if k not in shown]
        assert shown and hidden, "some plots are in view, some below it"
        far = hidden[-1]
        name = next(n for n, k in stack.channel_key.items() if k == far)
        near = next(n for n, k in stack.channel_key.items() if k in shown)
        before_far, before_near = stack.curves[name].x, stack.curves[near].x
        frames = [0]
        live.frame_drawn.connect(lambda: frames.__setitem__(0, frames[0] + 1))
        qtbot.waitUntil(lambda: frames[0] >= 3, timeout=5_000)
        assert stack.curves[near].x is not before_near, "a plot in view is drawn every frame"
        assert stack.curves[name].x is before_far, "a plot out of view is not"
        window_span = stack.lane.vb.viewRange()[0]  # the time axis shows the live window
        assert window_span[1] > window_span[0]
        for key in shown | {next(iter(stack.plots))}:  # the first plot: the others' reference
            assert stack.plots[key].vb.viewRange()[0] == pytest.approx(window_span), key
        stack.show_cursor(stack.plots[far].vb.viewRange()[0][1] - 0.05)
        assert f"{name} = —" not in stack.readout.text(), (
            "the crosshair reads a plot out of view from the rings, not from stale curves"
        )
        # Past the first second, the view's x range ends at now (before: at 1 s, ahead of
        # any data).
        qtbot.waitUntil(lambda: live.now_s() > 1.3, timeout=5_000)
        qtbot.mouseClick(live.follow_button, Qt.MouseButton.LeftButton)  # Pause
        assert live.paused
        x0, x1 = stack.plots[far].vb.viewRange()[0]
        bar.setValue(bar.maximum())  # what dragging the scroll bar down does
        assert far in stack.keys_in_view()
        t, _ = stack.curves[name].getData()
        assert t.size and t[0] <= x0 + 0.5 and t[-1] >= x1 - 0.5, (
            "scrolled into view while paused, the plot shows the span on screen"
        )
        assert stack.plots[far].vb.viewRange()[0] == pytest.approx(stack.lane.vb.viewRange()[0])
        qtbot.mouseClick(live.follow_button, Qt.MouseButton.LeftButton)  # Follow again


def test_save_view_mid_run_draws_the_plots_out_of_view(qtbot, window, tmp_path):
    """File > Save view renders every plot: those scrolled out of view are drawn first, over
    the span on screen, not left empty or cut off where they left view."""
    window.resize(1280, 720)
    stack = window.live.plots
    path = tmp_path / "view.png"
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000):
        window.start_request(short_run_request(window.db, "mock://nominal?rate=200&power=off"))
        qtbot.waitUntil(lambda: len(stack.plots) >= 4 and bool(stack.data), timeout=10_000)
        qtbot.waitUntil(lambda: stack.scroll.verticalScrollBar().maximum() > 0, timeout=5_000)
        qtbot.waitUntil(lambda: stack.plots and _span(stack)[1] > 1.0, timeout=5_000)
        hidden = [k for k in stack.plots if k not in stack.keys_in_view()]
        assert hidden
        window.view_actions.save_view.trigger()
        _answer_save_dialog(qtbot, path)
        qtbot.waitUntil(path.exists, timeout=20_000)
        x0, x1 = _span(stack)
        for key in hidden:
            assert stack.plots[key].vb.viewRange()[0] == pytest.approx([x0, x1]), key
            names = [n for n, k in stack.channel_key.items() if k == key]
            t = stack.curves[names[0]].getData()[0]
            assert t.size and t[-1] >= x1 - 0.2, f"{key}: drawn up to the span's end"


def _span(stack) -> tuple[float, float]:
    return tuple(next(iter(stack.plots.values())).vb.viewRange()[0])


class _TinyRingSession:
    """Just what the live view reads from a run session, with small rings (64 samples: a
    pause of more than 64 samples would let a ring overwrite what the plots never folded
    in); one channel, or ``channels`` of units of their own (a plot each)."""

    plan = None

    def __init__(self, capacity: int = 64, channels: int = 1):
        from labbench.acquisition.ring import ChannelRing

        self.names = ["vdd_core"] if channels == 1 else [f"ch{i:02d}" for i in range(channels)]
        self.rings = {name: ChannelRing(capacity) for name in self.names}
        self.ring = self.rings[self.names[0]]
        self.ring_capacity = capacity
        self.appended = 0

    def append(self, n: int) -> None:
        t = (self.appended + np.arange(n)) / 100.0
        for ring in self.rings.values():
            ring.extend(t, np.full(n, 0.75))
        self.appended += n

    def channels(self):
        units = {name: "V" if len(self.names) == 1 else f"u{name}" for name in self.names}
        return [(name, units[name], ring.total) for name, ring in self.rings.items()]

    def samples_since(self, name, since_total):
        return self.rings[name].snapshot(since_total)

    def samples_between(self, name, t0, t1):
        return self.rings[name].between(t0, t1)

    def value_at(self, name, t):
        return self.rings[name].value_at(t)

    def step_start_s(self, position):
        return None


def _live_view_of(qtbot, session):
    """A live view reading ``session`` as if a run of a one-step plan had just started."""
    from labbench.runs.plan import parse_plan
    from labbench.ui.live_view import LiveRunView
    from labbench.ui.results_model import ResultsModel
    from labbench.ui.run_controller import RunController
    from labbench.ui.theme import LIGHT

    controller = RunController(db=None)
    controller.session = session
    view = LiveRunView(controller, ResultsModel(LIGHT), LIGHT)
    qtbot.addWidget(view)
    view.plan = parse_plan(
        '[plan]\nname="p"\nversion="1"\ndut_kind="chip"\n[[step]]\nname="s"\nduration_s=1.0\n'
    )
    view.t0_ns = session.t0_ns = time.time_ns()  # the run the view was told of
    return view


def test_a_paused_view_still_folds_what_the_rings_would_overwrite(qtbot):
    """Paused for longer than the live ring holds, the plots still get every sample: the
    whole-run view after Follow has no hole where the pause was."""
    session = _TinyRingSession()
    view = _live_view_of(qtbot, session)
    view.show()
    session.append(10)
    view._on_frame()  # what the frame timer does while a run goes on
    envelope = view._envelopes["vdd_core"]
    assert envelope.samples == 10
    qtbot.mouseClick(view.follow_button, Qt.MouseButton.LeftButton)  # Pause
    assert view.paused
    view.frame_timer.start()
    try:
        for _ in range(6):  # 240 samples while paused: almost four rings' worth
            session.append(40)
            qtbot.waitUntil(lambda: envelope.samples == session.appended, timeout=5_000)
    finally:
        view.frame_timer.stop()
    qtbot.mouseClick(view.follow_button, Qt.MouseButton.LeftButton)  # Follow
    assert envelope.samples == session.appended == 250


def test_a_live_frame_is_painted_once(qtbot, window):
    """A frame moves the views' x range; pyqtgraph leaves the new matrices to the paint, where
    they move items' geometry mid-paint and Qt paints the whole stack a second time.  The
    frame settles them first: one paint per frame."""
    window.resize(1280, 720)
    stack = window.live.plots
    view = stack.layout_widget
    paints, frames = [0], [0]
    paint_event = type(view).paintEvent

    def counted_paint(event):
        paints[0] += 1
        paint_event(view, event)

    view.paintEvent = counted_paint
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000):
        window.start_request(short_run_request(window.db, "mock://nominal?rate=200&power=off"))
        window.live.frame_drawn.connect(lambda: frames.__setitem__(0, frames[0] + 1))
        qtbot.waitUntil(lambda: len(stack.plots) >= 4 and bool(stack.data), timeout=10_000)
        # Counted from three frames after the plots were made: laid out and first drawn.
        frames[0] = 0
        qtbot.waitUntil(lambda: frames[0] >= 3, timeout=10_000)
        paints[0] = frames[0] = 0
        qtbot.waitUntil(lambda: frames[0] >= 20, timeout=10_000)
        counted = paints[0], frames[0]
        window.controller.abort()
    assert counted[0] <= counted[1] + 1, f"{counted[0]} paints for {counted[1]} frames"


def test_unseen_channels_are_folded_a_few_a_frame_not_all_in_one(qtbot):
    """Channels scrolled out of view all reach their backlog threshold together (a sled's
    ~100 unseen channels, every 65 s at 1 kHz): no frame folds more than a few of them, and
    none falls so far behind that its ring could overwrite what was never folded."""
    from labbench.ui.unseen_folds import FOLDS_PER_FRAME, backlog_limits

    session = _TinyRingSession(capacity=4096, channels=24)
    soft, hard = backlog_limits(session.ring_capacity)
    view = _live_view_of(qtbot, session)
    view.resize(900, 500)
    view.show()
    session.append(10)
    view._on_frame()  # the plots are made
    stack = view.plots

    def out_of_view() -> list[str]:
        return [n for n in session.names if stack.channel_key[n] not in stack.keys_in_view()]

    # Once laid out, most of the 24 plots are below the stack's view.
    qtbot.waitUntil(lambda: len(out_of_view()) > 2 * FOLDS_PER_FRAME, timeout=5_000)
    unseen = out_of_view()
    folded: list[list[str]] = []
    fold = view._fold

    def counted_fold(session_, name):
        folded[-1].append(name)
        fold(session_, name)

    view._fold = counted_fold
    for _ in range(10):  # every unseen channel crosses the thresholds in the same frame
        session.append(soft)
        for _ in range(8):
            folded.append([])
            view._on_frame()  # what the frame timer does
            assert sum(n in unseen for n in folded[-1]) <= FOLDS_PER_FRAME, folded[-1]
            for name in unseen:
                assert session.rings[name].total - view._totals.get(name, 0) < hard, name
    assert all(any(name in frame for frame in folded) for name in unseen), "each folded"


# It bounds a latency (the paint within UNPAINTED_MS of its tick).
@pytest.mark.alone
def test_a_live_frame_holds_the_acquisition_until_it_is_painted(qtbot, window, monkeypatch):
    """The frame tick closes the acquisition's drawing turn; the plots' paint, right after,
    opens it (not the fallback timer): the reader never waits longer than a frame.  Only a
    paint that really came UNPAINTED_MS late is left to the timer: in 2 of 4 full runs, the
    plots' second frame, in a process that had run hundreds of tests before (never alone)."""
    events: list[tuple[str, float]] = []
    turn = window.live.turn.turn
    assert turn is TURN, "the live view's frames gate the acquisition's threads"
    drawing, drawn = turn.drawing, turn.drawn

    def log(name: str) -> None:
        events.append((name, time.monotonic()))

    monkeypatch.setattr(turn, "drawing", lambda: (log("drawing"), drawing()))
    monkeypatch.setattr(turn, "drawn", lambda: (log("drawn"), drawn()))
    window.live.plots.layout_widget.painted.connect(lambda: log("painted"))
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000):
        window.start_request(short_run_request(window.db, "mock://nominal?rate=200&power=off"))
    qtbot.waitUntil(lambda: turn.free, timeout=2_000)  # the last frame's paint
    names = [name for name, _ in events]
    frames = [i for i, name in enumerate(names) if name == "drawing"]
    assert len(frames) >= 10, names[:20]
    late = 0
    for i in frames:
        following = names[i + 1 : i + 3]
        if following[:1] == ["drawing"]:
            continue  # the run's end draws twice in one go; the second frame's paint opens it
        if following == ["drawn", "painted"]:
            # Opened by its paint: in the same moment, not by a timer before a paint.
            assert events[i + 2][1] - events[i + 1][1] < 0.002, f"frame at {i}"
            continue
        assert names[i + 1 : i + 4] == ["drawn", "drawn", "painted"], (
            f"frame at {i}: {names[i : i + 4]}"
        )
        tick, timer, paint = events[i][1], events[i + 1][1], events[i + 3][1]
        assert timer - tick >= 0.9 * UNPAINTED_MS / 1e3, "the timer opened it early"
        assert paint - tick >= 0.9 * UNPAINTED_MS / 1e3, (
            f"frame at {i}: painted {1e3 * (paint - tick):.1f} ms after its tick, "
            "yet the timer opened it"
        )
        late += 1
    assert late <= len(frames) // 10, f"{late} of {len(frames)} frames painted late"


def test_a_frame_nobody_paints_frees_the_acquisition_after_a_moment(qtbot):
    """Plots behind another tab or in a minimised window are not painted: a timer opens the
    turn, so the acquisition is held UNPAINTED_MS, not the whole hold."""
    never_painted = PlotStack()  # never shown: never painted
    qtbot.addWidget(never_painted)
    turn = DrawingTurn(hold_s=30.0)
    frames = FrameTurn(never_painted.layout_widget.painted, never_painted, turn)
    began = time.monotonic()
    frames.begin()
    assert not turn.free
    qtbot.waitUntil(lambda: turn.free, timeout=5_000)
    assert time.monotonic() - began >= 0.9 * UNPAINTED_MS / 1e3


def test_the_plots_paint_frees_the_acquisition_before_the_timer(qtbot):
    stack = PlotStack()
    qtbot.addWidget(stack)
    stack.resize(800, 400)
    stack.show()
    qtbot.waitExposed(stack)
    turn = DrawingTurn(hold_s=30.0)
    frames = FrameTurn(stack.layout_widget.painted, stack, turn, unpainted_ms=60_000)
    frames.begin()
    with qtbot.waitSignal(stack.layout_widget.painted, timeout=5_000):
        stack.layout_widget.viewport().update()
    assert turn.free, "the paint opened the turn"
    assert not frames._unpainted.isActive(), "and stopped the fallback timer"


def test_after_live_frames_a_pan_still_moves_every_plot_in_view_and_the_time_axis(qtbot, window):
    """Live frames set each plot's x range directly; paused, the plots are linked again: a
    plot dragged sideways takes the others in view and the time axis with it."""
    live, stack = window.live, window.live.plots
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000):
        window.start_request(short_run_request(window.db, "mock://nominal?rate=200&power=off"))
        frames = [0]
        live.frame_drawn.connect(lambda: frames.__setitem__(0, frames[0] + 1))
        qtbot.waitUntil(lambda: frames[0] >= 5 and len(stack.plots) >= 2, timeout=10_000)
        qtbot.mouseClick(live.follow_button, Qt.MouseButton.LeftButton)  # Pause
        shown = stack.keys_in_view()
        first = next(iter(stack.plots.values()))
        x0, x1 = first.vb.viewRange()[0]
        first.vb.translateBy(x=-(x1 - x0) / 2)  # what dragging the plot sideways does
        span = first.vb.viewRange()[0]
        assert span[0] == pytest.approx(x0 - (x1 - x0) / 2)
        for key in shown:
            assert stack.plots[key].vb.viewRange()[0] == pytest.approx(span), key
        assert stack.lane.vb.viewRange()[0] == pytest.approx(span), "the time axis"
        qtbot.mouseClick(live.follow_button, Qt.MouseButton.LeftButton)  # Follow again


def test_a_minimised_window_does_not_hold_the_acquisition(qtbot, window, monkeypatch):
    """Frames nobody can see are not painted: they do not close the drawing turn at all."""
    live = window.live
    drawings = [0]
    drawing = TURN.drawing
    monkeypatch.setattr(
        TURN, "drawing", lambda: (drawings.__setitem__(0, drawings[0] + 1), drawing())
    )
    frames = [0]
    live.frame_drawn.connect(lambda: frames.__setitem__(0, frames[0] + 1))
    window.showMinimized()
    qtbot.waitUntil(window.isMinimized, timeout=5_000)
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000):
        window.start_request(short_run_request(window.db, "mock://nominal?rate=200&power=off"))
        qtbot.waitUntil(lambda: frames[0] >= 5, timeout=10_000)
        assert drawings[0] == 0, "a minimised window's frames held the acquisition"
        window.showNormal()
        qtbot.waitUntil(lambda: not window.isMinimized(), timeout=5_000)
        qtbot.waitUntil(lambda: drawings[0] >= 3, timeout=10_000)


def test_a_frame_before_the_run_started_signal_draws_nothing(qtbot):
    """The controller has the session a moment before the view hears run_started: a layout
    pass then (the sled map showing resizes the plots) drew the time axis at 1.8e9 s, and the
    plots out of view kept that range."""
    session = _TinyRingSession()
    view = _live_view_of(qtbot, session)
    view.t0_ns = 0  # run_started not delivered yet
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    session.append(10)
    view.refresh_plots()  # what a resize of the plots does
    assert "vdd_core" not in view._envelopes
    x1 = view.plots.lane.vb.viewRange()[0][1] if view.plots.lane is not None else 0.0
    assert x1 < 1e6, f"the time axis ends at {x1:.4g} s"
    view.t0_ns = session.t0_ns  # run_started
    view.refresh_plots()
    assert view._envelopes["vdd_core"].samples == 10
    x0, x1 = view.plots.lane.vb.viewRange()[0]
    assert -1.0 < x0 < x1 < 100.0


def test_a_frame_before_either_knows_t0_draws_nothing(qtbot):
    """A new session's t0 is 0 until its rig is open, and so is a new view's: a frame then
    is not of any run."""
    session = _TinyRingSession()
    view = _live_view_of(qtbot, session)
    view.t0_ns = session.t0_ns = 0
    view.show()
    qtbot.waitExposed(view)
    session.append(10)
    view.refresh_plots()
    assert "vdd_core" not in view._envelopes
