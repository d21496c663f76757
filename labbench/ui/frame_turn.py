"""The live view's side of the acquisition's drawing turn (``acquisition/drawing.py``): a frame
closes it when it starts and the plots' paint opens it when the frame is on screen.  When no
paint follows (the plots behind another tab, a minimised window), a timer opens it instead."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, SignalInstance

from labbench.acquisition.drawing import TURN, DrawingTurn

# Qt paints a frame right after its tick, before any timer is due; a frame nobody paints
# holds the acquisition this long.
UNPAINTED_MS = 20


class FrameTurn(QObject):
    def __init__(
        self,
        painted: SignalInstance,
        parent: QObject,
        turn: DrawingTurn = TURN,
        unpainted_ms: int = UNPAINTED_MS,
    ):
        super().__init__(parent)
        self.turn = turn
        self._unpainted = QTimer(self)
        self._unpainted.setSingleShot(True)
        self._unpainted.setInterval(unpainted_ms)
        self._unpainted.timeout.connect(self._end)
        painted.connect(self._painted)

    def begin(self) -> None:
        """A frame starts: the acquisition threads hold their work until it is painted."""
        self.turn.drawing()
        self._unpainted.start()

    def _painted(self) -> None:
        self._unpainted.stop()
        self._end()

    def _end(self) -> None:
        self.turn.drawn()
