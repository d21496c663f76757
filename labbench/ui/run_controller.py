"""Runs a plan on a worker thread and follows it through its session's event stream.

The run itself is a :class:`~labbench.runs.session.RunSession` driven by
``labbench.runs.sequencer.run_plan``; this object only starts it on a worker thread, forwards
its events as Qt signals (it is a :class:`~labbench.ui.session_bridge.SessionBridge`), and
passes the operator's stop, failure and manual answers to the session.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject

from labbench.runs.sequencer import RunRequest, plan_session, run_plan
from labbench.storage import Database
from labbench.ui.session_bridge import CONSOLE_BACKLOG, SessionBridge

__all__ = ["CONSOLE_BACKLOG", "RunController"]

log = logging.getLogger(__name__)


class RunController(SessionBridge):
    def __init__(self, db: Database, parent: QObject | None = None):
        super().__init__(parent)
        self.db = db
        self.request: RunRequest | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._failures: list[str] = []  # failures told before the session existed
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, request: RunRequest) -> None:
        if self.running:
            raise RuntimeError("a run is already going")
        self.detach()
        self.request = request
        self.session = None
        self.run_id = None
        self.current_step = -1
        with self._console_lock:
            self.console.clear()
        self._stop = threading.Event()
        with self._lock:
            self._failures = []
        self._thread = threading.Thread(
            target=self._work, args=(request, self._stop), name="labbench-run", daemon=True
        )
        self._thread.start()

    def abort(self) -> None:
        """End the run as aborted (everything recorded is kept)."""
        with self._lock:
            session = self.session
        if session is not None:
            session.stop()
        self._stop.set()

    def fail(self, message: str) -> None:
        """End the run as error (the application hit a bug); everything recorded is kept."""
        with self._lock:
            session = self.session
            if session is None:
                self._failures.append(message)
        if session is not None:
            session.fail(message)
        self._stop.set()

    def join(self, timeout: float = 30.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def answer_manual(self, value: str | None) -> None:
        if self.session is not None:
            self.session.answer_manual(value)

    # --- worker thread --------------------------------------------------------------------

    def _work(self, request: RunRequest, stop: threading.Event) -> None:
        try:
            session = plan_session(self.db, request, stop=stop)
        except Exception as exc:  # a plan the DUT or the database refuses
            log.exception("run could not be prepared")
            self.refuse(str(exc))
            return
        with self._lock:
            self.session = session
            failures, self._failures = self._failures, []
        for message in failures:
            session.fail(message)
        self.attach(session, answers_manual=True)
        try:
            run_plan(self.db, request, session=session)
        except Exception:  # the session told the GUI (RunNotStarted / RunEnded)
            log.exception("run failed to start or broke")
