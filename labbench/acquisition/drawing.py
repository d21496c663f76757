"""While the GUI thread draws a live frame, the app's acquisition threads hold back their own
Python work for a bounded moment.

Every thread of the app shares one interpreter lock.  A reader thread that wakes while the GUI
thread draws takes the lock from it at the next switch interval (5 ms) and parses and judges
for a few milliseconds; Qt's painting holds the lock too (PySide6 does not release it around
``QPainter`` calls).  On a 16-chip sled a frame of 9 ms CPU took 20-30 ms on the wall that
way (``benchmarks/sled.py``).  Nothing is lost by waiting: a local port is drained by the
serial pump into a pipe that holds 400 ms of a sled's stream (``devices/pump.py``), a socket
and a simulated rig wait in their own buffers.

So the live view says :meth:`DrawingTurn.drawing` when a frame starts and
:meth:`DrawingTurn.drawn` once it is painted, and the acquisition threads call
:meth:`DrawingTurn.wait` before their work.  A wait never outlasts ``hold_s`` after the
frame began: a GUI that stops in mid-frame (a hang, a window that is never painted) delays the
acquisition by that much, never more (docs/architecture.md §1, "Threads").
"""

from __future__ import annotations

import threading
import time

# A sled's frame is 8-15 ms of CPU here; a held reader catches up from the pump's pipe.
HOLD_S = 0.05


class DrawingTurn:
    """A gate the GUI thread closes while it draws and the acquisition threads wait at."""

    def __init__(self, hold_s: float = HOLD_S):
        self.hold_s = hold_s
        self._free = threading.Event()
        self._free.set()
        self._until = 0.0  # monotonic time after which nobody waits for this frame any more

    def drawing(self) -> None:
        """A frame begins (GUI thread)."""
        self._until = time.monotonic() + self.hold_s
        self._free.clear()

    def drawn(self) -> None:
        """The frame is painted, or will not be (GUI thread)."""
        self._free.set()

    @property
    def free(self) -> bool:
        return self._free.is_set()

    def wait(self) -> None:
        """Return when no frame is being drawn, or when the current one has had its hold."""
        if self._free.is_set():
            return
        left = self._until - time.monotonic()
        if left > 0:
            self._free.wait(left)


# The app's one: the lock its threads share is the interpreter's, one per process.
TURN = DrawingTurn()
