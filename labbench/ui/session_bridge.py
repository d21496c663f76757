"""The one place where a run's event stream becomes Qt signals (docs/architecture.md, "Run
lifecycle").

A :class:`~labbench.runs.session.RunSession` publishes its events on whichever thread they
happen (the run's, the reader's, the storage forwarder's).  :class:`SessionBridge` hands each
one to the GUI thread through a queued connection, in order, and there emits the typed
signal widgets connect to.  Console lines are not signalled one batch at a time: they wait
in a bounded backlog that the console view takes on its own timer.
"""

from __future__ import annotations

import collections
import logging
import threading

from PySide6.QtCore import QObject, Qt, Signal

from labbench.runs.events import (
    BatchJudged,
    ItemVerdictChanged,
    LinkChanged,
    ManualEntryRequested,
    RunEnded,
    RunEvent,
    RunNotStarted,
    RunStarted,
    StepStarted,
    StorageChanged,
    ViolationFound,
)
from labbench.runs.session import RunSession

log = logging.getLogger(__name__)

# Console lines kept in memory for the console view (the database keeps them all).
CONSOLE_BACKLOG = 20_000


class SessionBridge(QObject):
    """Follows one :class:`RunSession` at a time and re-emits its events on the GUI thread."""

    run_started = Signal(int)  # run id
    step_started = Signal(int)  # step position
    violation = Signal(int, str, float, float, float)  # step, channel, start s, end s, extreme
    item_verdict_changed = Signal(object)  # ItemVerdictChanged
    link_changed = Signal(str)  # lost, back, gone
    storage_changed = Signal(str, str)  # stall / back / wait, sentence
    manual_requested = Signal(object, object)  # Step, ManualSpec
    run_ended = Signal(object)  # RunEnded
    run_finished = Signal(object)  # the run's summary (a plan's RunOutcome)
    run_failed = Signal(str)  # the run could not start or broke: one sentence
    _arrived = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.session: RunSession | None = None
        self.run_id: int | None = None
        self.current_step = -1
        self.console: collections.deque = collections.deque(maxlen=CONSOLE_BACKLOG)
        self._console_lock = threading.Lock()
        self._unsubscribe = None
        # Queued even when published on the GUI thread: events arrive in order, after the
        # code that published them has returned.
        self._arrived.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)

    def attach(self, session: RunSession, *, answers_manual: bool = False) -> None:
        """Follow ``session`` (and stop following the previous one)."""
        self.detach()
        self.session = session
        self.run_id = session.run_id
        self.current_step = -1
        with self._console_lock:
            self.console.clear()
        self._unsubscribe = session.subscribe(self._on_event, answers_manual=answers_manual)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def refuse(self, message: str) -> None:
        """The run could not even be prepared (a plan the DUT refuses): tell it as the session
        tells a run that could not start.  Any thread."""
        self._arrived.emit(RunNotStarted("", message))

    def take_console(self) -> list:
        with self._console_lock:
            lines = list(self.console)
            self.console.clear()
        return lines

    def seconds(self, t_ns: int) -> float:
        """Seconds since the followed run's t0 (0 before a run started)."""
        return self.session.seconds(t_ns) if self.session is not None else 0.0

    # --- any thread -----------------------------------------------------------------------

    def _on_event(self, event: RunEvent) -> None:
        if isinstance(event, BatchJudged):
            if event.console:
                with self._console_lock:
                    self.console.extend(event.console)
            return
        self._arrived.emit(event)

    # --- GUI thread -----------------------------------------------------------------------

    def _dispatch(self, event: RunEvent) -> None:
        if isinstance(event, RunStarted):
            self.run_id = event.run_id
            self.run_started.emit(event.run_id)
        elif isinstance(event, StepStarted):
            self.current_step = event.position
            self.step_started.emit(event.position)
        elif isinstance(event, ViolationFound):
            e = event.excursion
            self.violation.emit(event.position, event.channel, e.start_s, e.end_s, e.extreme)
        elif isinstance(event, ItemVerdictChanged):
            self.item_verdict_changed.emit(event)
        elif isinstance(event, LinkChanged):
            self.link_changed.emit(event.state)
        elif isinstance(event, StorageChanged):
            self.storage_changed.emit(event.state, event.detail)
        elif isinstance(event, ManualEntryRequested):
            self.manual_requested.emit(event.step, event.spec)
        elif isinstance(event, RunNotStarted):
            self.run_failed.emit(event.reason)
        elif isinstance(event, RunEnded):
            self.run_ended.emit(event)
            if event.summary is not None:
                self.run_finished.emit(event.summary)
            elif event.status == "error":  # it broke before it could be summed up
                self.run_failed.emit(f"run {event.run_id} ended as error: {event.error}")
