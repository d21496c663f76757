"""Runs a plan on a worker thread and tells the GUI what happens, in batches and events.

The run itself (``labbench.runs.sequencer.run_plan``) owns its threads; this object only
starts it, forwards its events as Qt signals (queued to the GUI thread), answers manual
entries through a dialog, and lets widgets pull live data from the acquisition's rings.
"""

from __future__ import annotations

import collections
import logging
import threading

from PySide6.QtCore import QObject, Signal

from labbench.acquisition.pipeline import Acquisition, SampleBatch
from labbench.runs.evaluation import LiveEvaluator
from labbench.runs.sequencer import RunOutcome, RunRequest, run_plan
from labbench.storage import Database

log = logging.getLogger(__name__)

# Console lines the live view keeps in memory (the database keeps them all).
CONSOLE_BACKLOG = 20_000


class RunController(QObject):
    run_started = Signal(int)  # run id
    step_started = Signal(int)  # step position
    violation = Signal(int, str, float, float, float)  # step, channel, start s, end s, extreme
    manual_requested = Signal(object, object)  # Step, ManualSpec
    run_finished = Signal(object)  # RunOutcome
    run_failed = Signal(str)  # the run could not start or broke: one sentence

    def __init__(self, db: Database, parent: QObject | None = None):
        super().__init__(parent)
        self.db = db
        self.request: RunRequest | None = None
        self.acquisition: Acquisition | None = None
        self.evaluator: LiveEvaluator | None = None
        self.run_id: int | None = None
        self.current_step = -1
        self.console: collections.deque = collections.deque(maxlen=CONSOLE_BACKLOG)
        self._console_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failure: list[str] = []
        self._manual_answer: str | None = None
        self._manual_ready = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, request: RunRequest) -> None:
        if self.running:
            raise RuntimeError("a run is already going")
        self.request = request
        self.acquisition = self.evaluator = None
        self.run_id = None
        self.current_step = -1
        self.console.clear()
        self._stop.clear()
        self._failure = []
        self._thread = threading.Thread(target=self._work, name="labbench-run", daemon=True)
        self._thread.start()

    def abort(self) -> None:
        """End the run as aborted (everything recorded is kept)."""
        self._stop.set()
        self._manual_ready.set()

    def fail(self, message: str) -> None:
        """End the run as error (the application hit a bug); everything recorded is kept."""
        self._failure.append(message)
        self.abort()

    def join(self, timeout: float = 30.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def answer_manual(self, value: str | None) -> None:
        self._manual_answer = value
        self._manual_ready.set()

    def take_console(self) -> list:
        with self._console_lock:
            lines = list(self.console)
            self.console.clear()
        return lines

    # --- worker thread --------------------------------------------------------------------

    def _work(self) -> None:
        try:
            outcome: RunOutcome = run_plan(
                self.db,
                self.request,
                stop=self._stop,
                on_violation=self._on_violation,
                on_step=self._on_step,
                ask_manual=self._ask_manual,
                on_started=self._on_started,
                failure=self._failure,
            )
        except Exception as exc:  # DeviceError, RecordError and bugs alike: the GUI says so
            log.exception("run failed to start or broke")
            self.run_failed.emit(str(exc))
            return
        self.run_finished.emit(outcome)

    def _on_started(self, run_id: int, acquisition: Acquisition, evaluator: LiveEvaluator) -> None:
        self.run_id, self.acquisition, self.evaluator = run_id, acquisition, evaluator
        acquisition.add_listener(self._on_batch)
        self.run_started.emit(run_id)

    def _on_batch(self, batch: SampleBatch) -> None:
        if batch.console:
            with self._console_lock:
                self.console.extend(batch.console)

    def _on_step(self, position: int, step) -> None:
        self.current_step = position
        self.step_started.emit(position)

    def _on_violation(self, position: int, channel: str, excursion) -> None:
        self.violation.emit(
            position, channel, excursion.start_s, excursion.end_s, excursion.extreme
        )

    def _ask_manual(self, step, spec) -> str | None:
        self._manual_ready.clear()
        self._manual_answer = None
        self.manual_requested.emit(step, spec)
        while not self._manual_ready.wait(0.1):
            if self._stop.is_set():
                return None
        return self._manual_answer
