"""The live view's head: the verdict banner and step progress, a sled run's map and the rail
tiles, placed for the room the view has, so that the plots under them keep as much height as
a laptop's screen allows (docs/architecture.md §8, "A laptop's screen")."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QWidget

# Narrower than this, the sled map goes under the banner (a 2 x 2 map is ~300 px wide and
# the banner's sentence needs ~500 px to stay on two lines).
WIDE_ENOUGH_FOR_MAP_BESIDE = 860


class HeadLayout(QGridLayout):
    """``status`` (banner, step and progress), ``sled_map`` and ``tiles`` on a grid.

    Wide, the map stands beside the status and the tiles run under both, across the whole
    width: more tiles to a row, fewer rows (six tiles beside a 4-chip sled's map took three
    rows of a 1280 x 720 screen, two across).  A map taller than the status (a 16-chip sled)
    keeps the tiles beside it instead, in the room it leaves under the banner.  Narrow, all
    three stack."""

    def __init__(self, status: QWidget, sled_map: QWidget, tiles: QWidget):
        super().__init__()
        self.setContentsMargins(0, 0, 0, 0)
        self.status, self.map, self.tiles = status, sled_map, tiles
        self.placed: str | None = None  # "stacked", "across" or "beside"
        self.place(WIDE_ENOUGH_FOR_MAP_BESIDE)

    def setGeometry(self, rect) -> None:
        # Every layout pass (the view resized, the map shown, hidden or resized) places the
        # three for the view's width; placing them again asks for one more pass.
        view = self.parentWidget()
        self.place(view.width() if view is not None else rect.width())
        super().setGeometry(rect)

    def place(self, width: int) -> None:
        if width < WIDE_ENOUGH_FOR_MAP_BESIDE:
            placing = "stacked"
        elif (
            self.map.isHidden()
            or self.map.sizeHint().height() <= self.status.sizeHint().height() + self.spacing()
        ):
            placing = "across"
        else:
            placing = "beside"
        if placing == self.placed:
            return
        self.placed = placing
        for widget in (self.status, self.map, self.tiles):
            self.removeWidget(widget)
        for row in range(3):
            self.setRowStretch(row, 0)
        top = Qt.AlignmentFlag.AlignTop
        if placing == "stacked":
            self.addWidget(self.status, 0, 0)
            self.addWidget(self.map, 1, 0)
            self.addWidget(self.tiles, 2, 0)
            self.setColumnStretch(0, 1)
        elif placing == "across":
            self.addWidget(self.status, 0, 0)
            self.addWidget(self.map, 0, 1, top)
            self.addWidget(self.tiles, 1, 0, 1, 2)
        else:
            self.addWidget(self.status, 0, 0)
            self.addWidget(self.tiles, 1, 0, top)
            self.addWidget(self.map, 0, 1, 2, 1, top)
            self.setRowStretch(1, 1)  # the room beside the map's lower half, under the tiles
        self.setColumnStretch(0, 1)
        self.setColumnStretch(1, 0)
