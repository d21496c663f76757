"""Watching a bench rig: selecting a rig that records on the Bench shows its live plots and
console, the same views a plan run gets, fed from that rig's own ring buffers."""

from __future__ import annotations

import collections
import threading

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from labbench.runs.recording import RigMonitor
from labbench.acquisition.pipeline import SampleBatch
from labbench.ui.console_view import ConsoleView
from labbench.ui.live_view import LiveRunView
from labbench.ui.results_model import ResultsModel
from labbench.ui.theme import LIGHT, Theme

CONSOLE_BACKLOG = 20_000
CONSOLE_INTERVAL_MS = 250


class MonitorSource(QObject):
    """What the live view needs from a run, for a bench recording: the acquisition and the
    run's start (a recording has no plan, steps or verdicts)."""

    run_started = Signal(int)
    step_started = Signal(int)
    violation = Signal(int, str, float, float, float)
    run_finished = Signal(object)
    run_failed = Signal(str)

    def __init__(self, monitor: RigMonitor, parent=None):
        super().__init__(parent)
        self.monitor = monitor
        self.acquisition = monitor.acquisition
        self.evaluator = None
        self.current_step = -1
        self.run_id = monitor.run_id
        self.console: collections.deque = collections.deque(maxlen=CONSOLE_BACKLOG)
        self._lock = threading.Lock()
        self.active = True
        self.acquisition.add_listener(self._on_batch)

    def _on_batch(self, batch: SampleBatch) -> None:
        if self.active and batch.console:
            with self._lock:
                self.console.extend(batch.console)

    def take_console(self) -> list:
        with self._lock:
            lines = list(self.console)
            self.console.clear()
        return lines


class BenchWatch(QWidget):
    """The live plots and console of one recording bench rig."""

    def __init__(self, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.theme = theme
        self.device: str | None = None
        self.source: MonitorSource | None = None
        self.view: LiveRunView | None = None
        self.console = ConsoleView()
        self.splitter = QSplitter(Qt.Orientation.Vertical)  # plots over console: no extra width
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self.splitter.addWidget(self.console)
        self.console_timer = QTimer(self)
        self.console_timer.setInterval(CONSOLE_INTERVAL_MS)
        self.console_timer.timeout.connect(self._on_console_tick)

    def watch(self, device: str, monitor: RigMonitor) -> None:
        if self.device == device and self.source is not None and self.source.monitor is monitor:
            return
        self.stop()
        self.device = device
        self.source = MonitorSource(monitor, self)
        self.view = LiveRunView(self.source, ResultsModel(self.theme), self.theme)
        self.view.progress.hide()
        self.splitter.insertWidget(0, self.view)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([400, 100])
        self.console.clear()
        self.source.run_started.emit(monitor.run_id)
        self.view.banner.show_verdict("running", f"RECORDING — {device} into run {monitor.run_id}")
        self.view.step_label.setText(
            f"Bench recording of {monitor.dut.serial} (no plan: nothing is judged)"
        )
        self.console_timer.start()

    def stop(self) -> None:
        self.console_timer.stop()
        if self.source is not None:
            self.source.active = False
        if self.view is not None:
            self.view.frame_timer.stop()
            self.view.text_timer.stop()
            self.view.setParent(None)
            self.view.deleteLater()
        self.view = self.source = self.device = None

    def _on_console_tick(self) -> None:
        if self.source is None:
            return
        lines = self.source.take_console()
        if lines:
            t0 = self.source.acquisition.t0_ns
            self.console.append([((c.received_ns - t0) / 1e9, c.kind, c.text) for c in lines])

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        if self.view is not None:
            self.view.set_theme(theme)
