"""What the ``record`` and ``run`` commands do about storage: refusing a read-only database,
Ctrl-C that always works (also while the database stalls), and the lines printed when a
stall starts and ends."""

from __future__ import annotations

import signal
import sys
import threading


def writable(db) -> None:
    """A run needs a database it can write to: say so before the rig is touched."""
    from labbench.storage.engine import StorageError

    if db.read_only:
        db.dispose()
        raise StorageError(
            f"The database {db.describe()} is read-only (its {db.read_only} cannot be written), "
            "so no run can be "
            "recorded into it; reading commands (runs, export) still work."
        )


def interrupts() -> tuple[threading.Event, threading.Event]:
    """(stop, give_up): the first Ctrl-C stops the run, the second stops waiting for an
    unavailable database (what it has not taken stays in the journal), a third interrupts."""
    stop, give_up = threading.Event(), threading.Event()

    def _on_sigint(*_):
        if not stop.is_set():
            stop.set()
        elif not give_up.is_set():
            give_up.set()
            print("labbench: not waiting for the database any longer", file=sys.stderr, flush=True)
            signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, _on_sigint)
    return stop, give_up


def storage_printer(event) -> None:
    """A run listener that prints when storage stalls, is back, or the end waits for it."""
    from labbench.runs.events import StorageChanged

    if not isinstance(event, StorageChanged):
        return
    label = {"stall": "storage stalled", "back": "storage back", "wait": "storage"}[event.state]
    extra = "; Ctrl-C again to stop waiting" if event.state == "wait" else ""
    print(f"labbench: {label}: {event.detail}{extra}", file=sys.stderr, flush=True)
