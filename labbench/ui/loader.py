"""Work off the GUI thread: database reads and writes, rig connects and disconnects."""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


class Loader(QObject):
    """Runs a function on a worker thread and delivers its result on the GUI thread.

    Results travel in a Python queue and the signal that wakes the GUI thread carries no
    arguments: Python objects never sit in Qt's event queue, where a window closing with
    results still queued would free them outside the interpreter's control."""

    done = Signal()  # a result was delivered (its callback has run)
    _ready = Signal()

    def __init__(self, parent=None, *, workers: int = 1, name: str = "labbench-history"):
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._results: queue.SimpleQueue = queue.SimpleQueue()
        self._ready.connect(self._deliver)

    def submit(self, work: Callable[[], object], callback: Callable[[object], None]) -> None:
        """Run ``work`` in the pool, then ``callback(result)`` on the GUI thread; nothing once
        the pool is shut down (its window is closing: a result delivered late asked for more)."""

        def run():
            try:
                result = work()
            except Exception as exc:  # shown, not swallowed
                log.exception("background work failed")
                result = exc
            self._results.put((callback, result))
            try:
                self._ready.emit()
            except RuntimeError:  # the owner is gone: nobody waits for this result
                pass

        try:
            self._pool.submit(run)
        except RuntimeError:  # shut down: nobody is left to show the result
            log.debug("work submitted after shutdown dropped")

    def _deliver(self) -> None:
        while True:
            try:
                callback, result = self._results.get_nowait()
            except queue.Empty:
                return
            callback(result)
            self.done.emit()

    def shutdown(self, *, cancel_pending: bool = True) -> None:
        """Wait for the work under way; queued work is dropped unless ``cancel_pending`` is
        False."""
        self._pool.shutdown(wait=True, cancel_futures=cancel_pending)
