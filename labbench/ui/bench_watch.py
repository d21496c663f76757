"""Watching a bench rig: selecting a rig that records on the Bench shows its live plots and
console, the same views a plan run gets, fed from that rig's own ring buffers."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from labbench.runs.recording import RigMonitor
from labbench.ui.console_view import ConsoleView
from labbench.ui.live_view import LiveRunView
from labbench.ui.results_model import ResultsModel
from labbench.ui.session_bridge import SessionBridge
from labbench.ui.theme import LIGHT, Theme

CONSOLE_INTERVAL_MS = 250


class BenchWatch(QWidget):
    """The live plots and console of one recording bench rig."""

    def __init__(self, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.theme = theme
        self.device: str | None = None
        self.monitor: RigMonitor | None = None
        # The recording's run session as Qt signals, and its console backlog.
        self.source: SessionBridge | None = None
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
        if self.device == device and self.source is not None and self.monitor is monitor:
            return
        self.stop()
        self.device, self.monitor = device, monitor
        self.source = SessionBridge(self)
        self.source.attach(monitor.session)
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
            self.source.detach()
            self.source.deleteLater()
        if self.view is not None:
            self.view.frame_timer.stop()
            self.view.text_timer.stop()
            self.view.setParent(None)
            self.view.deleteLater()
        self.view = self.source = self.device = self.monitor = None

    def _on_console_tick(self) -> None:
        if self.source is None:
            return
        lines = self.source.take_console()
        if lines:
            seconds = self.source.seconds
            self.console.append([(seconds(c.received_ns), c.kind, c.text) for c in lines])

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        if self.view is not None:
            self.view.set_theme(theme)
