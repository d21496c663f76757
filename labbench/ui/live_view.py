"""The live run view: verdict banner, step progress, stacked plots with limit bands and
violation marks, a rolling window with pause/follow.  It pulls from the run's ring buffers
on its own timers: curves at 30 Hz, text and the results table twice a second."""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from labbench.runs.plan import Plan
from labbench.ui.envelope import BlockEnvelope
from labbench.ui.envelope import envelope as envelope_of
from labbench.ui.frame_turn import FrameTurn
from labbench.ui.live_head import HeadLayout
from labbench.ui.live_sled import LiveSled
from labbench.ui.marker_items import step_marker_name
from labbench.ui.plot_limits import judged_bands
from labbench.ui.plots import HIDDEN_CHANNELS, PlotStack
from labbench.ui.rail_tiles import RailTiles, channel_verdicts
from labbench.ui.results_model import ResultsModel
from labbench.ui.session_bridge import SessionBridge
from labbench.ui.shmoo_panel import ShmooPanel
from labbench.ui.theme import LIGHT, Theme
from labbench.ui.timing_marks import TimingMarks, timing_marks
from labbench.ui.unseen_folds import backlog_limits, folds_due
from labbench.ui.verdict_banner import VerdictBanner

# Curves at ~30 Hz: smooth to the eye, and a frame every 33 ms leaves the GUI thread idle
# most of the time.  Text and tables at 2 Hz: nobody reads numbers faster.
FRAME_INTERVAL_MS = 33
# A frame that costs more (a 16-chip sled's 128 curves on a slow machine) waits three times
# its own preparing time before the next: with its paint, drawing then takes about half the
# GUI thread, and the event loop, the reader and the writer get the interpreter in between.
FRAME_PACING = 3.0
MAX_FRAME_INTERVAL_MS = 500
TEXT_INTERVAL_MS = 500
WINDOWS = (("10 s", 10.0), ("1 min", 60.0), ("10 min", 600.0), ("Whole run", math.inf))


class LiveRunView(QWidget):
    frame_drawn = Signal()

    def __init__(
        self, controller: SessionBridge, results: ResultsModel, theme: Theme = LIGHT, parent=None
    ):
        super().__init__(parent)
        self.controller = controller
        self.results = results
        self.theme = theme
        self.plan: Plan | None = None
        self.t0_ns = 0
        self._step_bands: list = []
        self._totals: dict[str, int] = {}
        self._envelopes: dict[str, BlockEnvelope] = {}
        self._step_started_at: float | None = None
        self._end_s: float | None = None
        self._violation_index = -1
        self.paused = False

        self.banner = VerdictBanner(theme)
        self.step_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.window_combo = QComboBox()
        for label, _ in WINDOWS:
            self.window_combo.addItem(label)
        self.window_combo.setToolTip("How much of the run the plots show")
        self.window_combo.currentIndexChanged.connect(lambda _: self._on_frame())
        self.follow_button = QPushButton("Pause")
        self.follow_button.setCheckable(True)
        self.follow_button.setToolTip(
            "Pause the plots to look closer (recording goes on); press again to follow"
        )
        self.follow_button.toggled.connect(self._on_pause_toggled)
        self.plots = PlotStack(theme, grid=False)
        self.plots.sample_source = self._samples_between
        self.plots.value_source = self._value_at
        self.plots.shown_changed.connect(self.refresh_plots)
        self.turn = FrameTurn(self.plots.layout_widget.painted, self)  # frames before judging
        self.timing = TimingMarks(self.plots)  # power-sequencing crossings and times
        self.tiles = RailTiles(theme)
        self.tiles.tile_clicked.connect(self.plots.scroll_to)

        self.sled = LiveSled(self)  # a sled run's map, beside the banner

        top = QHBoxLayout()
        top.addWidget(self.step_label, 1)
        top.addWidget(QLabel("Window:"))
        top.addWidget(self.window_combo)
        top.addWidget(self.follow_button)
        status = QWidget()
        column = QVBoxLayout(status)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.banner)
        column.addLayout(top)
        column.addWidget(self.progress)
        self.head = HeadLayout(status, self.sled.map, self.tiles)
        # A plan with sweeps: their shmoo beside the plots, filling in as points are judged;
        # a cell clicked zooms the plots onto that point's dwell.
        self.shmoo = ShmooPanel(theme)
        self.shmoo.hide()
        self.shmoo.point_picked.connect(self.show_step)
        controller.item_verdict_changed.connect(
            lambda e: self.shmoo.set_step_verdict(e.position, e.step_verdict)
        )
        self.body = QSplitter(Qt.Orientation.Horizontal)
        self.body.addWidget(self.plots)
        self.body.addWidget(self.shmoo)
        self.body.setStretchFactor(0, 3)
        self.body.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(self.head)
        layout.addWidget(self.body, 1)

        self.frame_timer = QTimer(self)
        self.frame_timer.setInterval(FRAME_INTERVAL_MS)
        self.frame_timer.timeout.connect(self._on_frame)
        self.text_timer = QTimer(self)
        self.text_timer.setInterval(TEXT_INTERVAL_MS)
        self.text_timer.timeout.connect(self._on_text_tick)

        controller.run_started.connect(self._on_run_started)
        controller.step_started.connect(self._on_step_started)
        controller.violation.connect(self._on_violation)
        controller.run_finished.connect(self._on_run_finished)
        controller.run_failed.connect(self._on_run_failed)

    # --- run events -----------------------------------------------------------------------

    def prepare(self, plan: Plan) -> None:
        self.plan = plan
        self.plots.clear()
        self.timing.clear(remove=False)
        self._totals.clear()
        self._envelopes.clear()
        self._step_bands = []
        self._end_s = None
        self._violation_index = -1
        self.sled.clear()
        judged = judged_bands(plan)
        self.plots.set_limits(judged)
        for name, unit in plan.channel_units.items():
            if plan.is_per_slot(name) and name not in judged:
                continue  # its slots' curves come with their samples
            self.plots.ensure_channel(name, unit)
        for name in judged:
            self.plots.ensure_channel(name, plan.unit(name))
        self.tiles.set_channels({name: plan.unit(name) for name in judged})
        self.results.set_plan(plan)
        self.shmoo.show_plan(plan, running=True)
        self.shmoo.setVisible(self.shmoo.has_sweeps)
        self.banner.show_verdict("running", "STARTING…")
        self.progress.setRange(0, len(plan.steps))
        self.progress.setValue(0)
        self.step_label.setText(f"{plan.name} v{plan.version}")

    def _on_run_started(self, run_id: int) -> None:
        session = self.controller.session
        self.t0_ns = session.t0_ns if session is not None else time.time_ns()
        self.sled.start(session, self.plan)
        self.follow_button.setChecked(False)  # a new run is followed, whatever was paused
        self.banner.show_verdict("running", f"RUNNING — run {run_id}")
        self.frame_timer.start()
        self.text_timer.start()

    def _on_step_started(self, position: int) -> None:
        step = self.plan.steps[position]
        # Where the evaluator starts judging the step (the signal arrives a little later).
        session = self.controller.session
        now_s = session.step_start_s(position) if session is not None else None
        if now_s is None:
            now_s = self._seconds(time.time_ns())
        self._step_started_at = time.monotonic()
        for items in self._step_bands:
            self.plots.stretch_band(items, now_s)
        self._step_bands = []
        for spec in step.limits:
            self.plots.ensure_channel(spec.channel, self.plan.unit(spec.channel))
            self._step_bands.append(
                self.plots.add_limit_band(
                    spec.channel, spec.band, now_s + spec.settle_s, now_s + step.duration_s
                )
            )
        if step.point is not None and step.point.order > 0:
            # A sweep's later points: a boundary only. Forty names and command lines a few
            # tenths of a second apart wrote over one another (the console lists them).
            self.plots.add_marker(now_s, "", "step")
        else:
            self.plots.add_marker(now_s, step_marker_name(step), "step")
            if step.send:
                self.plots.add_marker(now_s, "▸ " + " · ".join(step.send), "command")
        self.tiles.begin_step(
            *self.sled.step_bands(
                {spec.channel: spec.band for spec in step.limits},
                {spec.channel: now_s + spec.settle_s for spec in step.limits},
            )
        )
        self.progress.setValue(position)
        self._update_step_text()

    def _on_violation(
        self, position: int, channel: str, start: float, end: float, extreme: float
    ) -> None:
        self.plots.add_violation(channel, start, end, extreme)

    def _on_run_finished(self, outcome) -> None:
        self._on_frame()
        self.frame_timer.stop()
        self.text_timer.stop()
        self.results.update_steps(outcome.steps)
        self._show_timing(outcome.steps)
        self.progress.setValue(self.progress.maximum())
        self._fold_all()
        self._end_s = self._last_sample_s()
        self._on_frame()  # the window ends with the last sample, not with the moment of finishing
        # Redraw violation marks from the stored (final) results: their true ends.
        self.plots.clear_violations()
        for _, violation in outcome.violations:
            self.plots.add_violation(
                violation.channel, violation.start_s, violation.end_s, violation.extreme
            )
        self.tiles.set_verdicts(channel_verdicts(outcome.steps))
        self.tiles.refresh()
        self.sled.finish(outcome.steps)
        if self.shmoo.has_sweeps:
            self.shmoo.show_plan(self.plan, {s.position: s.verdict for s in outcome.steps})
        self.banner.show_verdict(outcome.status, f"{outcome.status.upper()} — run {outcome.run_id}")
        self.step_label.setText(
            f"{self.plan.name} v{self.plan.version}: {outcome.status}, "
            f"{len(outcome.violations)} violations"
        )

    def _on_run_failed(self, message: str) -> None:
        self._fold_all()
        self._end_s = self._last_sample_s()
        self.frame_timer.stop()
        self.text_timer.stop()
        self.shmoo.set_running(False)
        self.banner.show_verdict("error", "COULD NOT RUN")
        self.step_label.setText(message)

    def _on_pause_toggled(self, paused: bool) -> None:
        self.paused = paused
        self.follow_button.setText("Follow" if paused else "Pause")
        if not paused:
            return self._on_frame()
        self.plots.release_y()

    # --- timers ---------------------------------------------------------------------------

    def window_seconds(self) -> float:
        return WINDOWS[self.window_combo.currentIndex()][1]

    def _on_frame(self) -> None:
        session = self.controller.session
        if session is None or not self.t0_ns or session.t0_ns != self.t0_ns:
            # Not this view's run yet (its t0 unknown, or the last run's): a layout pass
            # between the session's start and run_started drew the time axis at 1.8e9 s.
            return
        limits = backlog_limits(session.ring_capacity)
        if self.paused:
            # A long look back must not let the live rings overwrite what was never folded.
            totals = {n: t - self._totals.get(n, 0) for n, _, t in session.channels()}
            for name in folds_due({n: totals[n] for n in self._envelopes}, *limits):
                self._fold(session, name)
            return
        began = time.perf_counter()
        if self.plots.layout_widget.isVisible() and not self.window().isMinimized():
            self.turn.begin()  # a frame that will be painted: the acquisition waits for it
        now_s = self.now_s()
        span = self.window_seconds()
        x0 = 0.0 if math.isinf(span) else max(now_s - span, 0.0)
        width = max(int(self.plots.layout_widget.width()), 200)
        shown = self.plots.keys_in_view()
        # A channel nobody sees now is folded in only once its backlog is large, a few a
        # frame (ui/unseen_folds.py), or when it comes into view: a sled's 131 channels cost
        # a frame what is shown.
        unseen: dict[str, int] = {}
        for name, unit, total in session.channels():
            if name in HIDDEN_CHANNELS:
                continue
            envelope = self._envelopes.get(name)
            if envelope is None:
                envelope = self._envelopes[name] = BlockEnvelope()
                unit = unit or (self.plan.unit(name) if self.plan else "")
                self.plots.ensure_channel(name, unit)
            curve = self.plots.curves.get(name)
            drawn = (
                curve is not None
                and curve.isVisible()  # not another chip's, while one chip is shown
                and self.plots.channel_key[name] in shown  # not scrolled out of view
            )
            behind = total - self._totals.get(name, 0)
            if behind and (drawn or self.tiles.shows(name)):
                self._fold(session, name)
            elif behind:
                unseen[name] = behind
            if drawn:
                self.plots.set_data(name, *self._drawable(name, envelope, x0, now_s, width))
        for name in folds_due(unseen, *limits):
            self._fold(session, name)
        self.plots.set_x_range(x0, max(now_s, x0 + 1.0), settle_y=False, keys=shown)
        self.plots.redraw(x0, now_s, shown)
        self.plots.settle()
        took_ms = (time.perf_counter() - began) * 1e3
        interval = int(min(max(FRAME_INTERVAL_MS, FRAME_PACING * took_ms), MAX_FRAME_INTERVAL_MS))
        if interval != self.frame_timer.interval():
            self.frame_timer.setInterval(interval)
        self.frame_drawn.emit()

    def _on_text_tick(self) -> None:
        session = self.controller.session
        if session is not None and session.plan is not None:
            steps = session.live_records()
            self.results.update_steps(steps)
            self.tiles.set_verdicts(channel_verdicts(steps))
            self.sled.update(steps)
            self._show_timing(steps)
        self.tiles.refresh()
        self._update_step_text()

    def _show_timing(self, steps) -> None:
        """Draw the crossings and times of the timing items judged so far."""
        if self.plan is None or not any(step.timings for step in self.plan.steps):
            return
        session = self.controller.session

        def window(step) -> tuple[float, float]:
            # Where the evaluator judged the step (its start may differ from the step's own).
            start = session.step_start_s(step.position) if session is not None else None
            start = self._seconds(step.started_ns) if start is None else start
            return start, math.inf if step.ended_ns is None else self._seconds(step.ended_ns)

        marks = timing_marks(self.plan, steps, self._samples_between, window, self.timing.shown)
        self.timing.update(marks)

    def _update_step_text(self) -> None:
        position = self.controller.current_step
        if self.plan is None or position < 0:
            return
        step = self.plan.steps[position]
        left = step.duration_s
        if self._step_started_at is not None:
            left = max(step.duration_s - (time.monotonic() - self._step_started_at), 0.0)
        self.step_label.setText(
            f"Step {position + 1}/{len(self.plan.steps)}: {step.name} — {left:.1f} s left"
        )
        self.progress.setFormat(f"step {position + 1} of {len(self.plan.steps)}")

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.banner.set_theme(theme)
        self.results.set_theme(theme)
        self.plots.set_theme(theme)
        self.timing.set_theme(theme)
        self.shmoo.set_theme(theme)
        self.tiles.set_theme(theme)
        self.sled.map.set_theme(theme)

    def refresh_plots(self) -> None:
        """Draw again what the plots show now (after a slot was picked on the sled map)."""
        if not self.paused:
            return self._on_frame()
        self.draw_all()

    def draw_all(self) -> None:
        """Every plot, in view or not, over the span on screen, with every channel folded in
        (a paused look, or what File > Save view renders)."""
        first = next(iter(self.plots.plots.values()), None)
        if first is not None:
            self.plots.sync_links()
            x0, x1 = first.vb.viewRange()[0]
            self._load_range(x0, x1)
            self.plots.redraw(x0, x1)

    # --- what the view shows (the View menu's shortcuts) ----------------------------------

    def _seconds(self, t_ns: int) -> float:
        """Seconds since the run's t0 (the plots' time base) of an epoch-ns time."""
        return (t_ns - self.t0_ns) / 1e9

    def now_s(self) -> float:
        now = self._seconds(time.time_ns())
        return now if self._end_s is None else min(now, self._end_s)

    def _last_sample_s(self) -> float:
        last = [e.last_t for e in self._envelopes.values() if e.samples]
        return max(last) if last else self._seconds(time.time_ns())

    def toggle_follow(self) -> None:
        self.follow_button.toggle()

    def set_window(self, index: int) -> None:
        """Show the last 10 s / 1 min / 10 min / the whole run, and follow it."""
        self.window_combo.setCurrentIndex(index)
        self.follow_button.setChecked(False)
        self._on_frame()

    def step_violation(self, direction: int) -> bool:
        """Zoom both axes onto the next (+1) or previous (-1) violation; the plots pause there."""
        marks = sorted(self.plots.violation_items, key=lambda item: item[1])
        if not marks:
            return False
        self._violation_index = (self._violation_index + direction) % len(marks)
        channel, start, end, region = marks[self._violation_index]
        self.follow_button.setChecked(True)
        margin = max((end - start) * 2.0, 0.5)
        self._load_range(start - margin, end + margin)
        self.plots.zoom_to(channel, start, end, getattr(region, "extreme", None))
        return True

    def show_step(self, position: int) -> None:
        """Pause the plots on step ``position``'s window (a sweep point's dwell), once run."""
        session = self.controller.session
        windows = session.evaluator.windows if session and session.evaluator else []
        if position >= len(windows):
            return  # not run yet
        start, end = windows[position].start_s, windows[position].end_s
        if end is None or not math.isfinite(end):
            end = self.now_s()
        self.follow_button.setChecked(True)
        margin = max((end - start) * 0.1, 0.005)
        self._load_range(start - margin, end + margin)
        self.plots.redraw(start - margin, end + margin)
        self.plots.set_x_range(start - margin, end + margin)
        self.plots.fit_y(start - margin, end + margin)

    def _load_range(self, x0: float, x1: float) -> None:
        """Hand the plots what the rings hold between x0 and x1 (for a look back while paused)."""
        if self.controller.session is None:
            return
        width = max(int(self.plots.layout_widget.width()), 200)
        self._fold_all()
        for name in self.plots.curves:
            envelope = self._envelopes.get(name)
            if envelope is None:
                self.plots.set_data(name, *self._samples_between(name, x0, x1))
            else:
                self.plots.set_data(name, *self._drawable(name, envelope, x0, x1, width))

    def _fold(self, session, name: str) -> None:
        """Fold what a channel received since its last fold into its envelope and tile (only
        what is new: a frame's cost does not grow with the run)."""
        t_new, v_new, self._totals[name] = session.samples_since(name, self._totals.get(name, 0))
        self._envelopes[name].extend(t_new, v_new)
        self.tiles.feed(name, t_new, v_new)

    def _fold_all(self) -> None:
        session = self.controller.session
        if session is not None:
            for name in self._envelopes:
                self._fold(session, name)

    def _drawable(self, name: str, envelope: BlockEnvelope, x0: float, x1: float, width: int):
        """What a curve needs to show [x0, x1] at ``width`` pixels, at a cost that does not
        grow with the run."""
        count = envelope.count_since(x0)
        if count <= width // 2:
            return self._samples_between(name, x0, x1)  # few enough to draw every sample
        if count <= envelope.block * width // 16:
            # Fewer than a block per 16 pixels would draw a few long straight segments: the
            # samples' own min/max, a pair for every 4 pixels of the window's width (more
            # where the data fills only part of it).  A run's first seconds drew up to 4 points
            # a pixel, 0.9 ms a noisy curve against 0.2 for the blocks' pair every 8 pixels
            # later on, and made half a sled's slowest frames; now 0.35 ms.
            samples = self._samples_between(name, x0, x1)
            return envelope_of(*samples, x0, x1, width // 4, keep=2)
        return envelope.query(x0, x1, width)

    def _value_at(self, name: str, t: float) -> float | None:
        session = self.controller.session
        return None if session is None else session.value_at(name, t)

    def _samples_between(self, name: str, t0: float, t1: float):
        session = self.controller.session
        if session is None:
            return np.empty(0), np.empty(0)
        return session.samples_between(name, t0, t1)
