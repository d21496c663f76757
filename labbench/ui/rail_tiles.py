"""One compact tile per judged channel: its present value, min and max in the step, the margin
to the nearest limit, and its verdict (in words and colour).

Tiles are fed only the samples that arrived since the last frame, so keeping them costs the
same at the first minute of a run as at the tenth hour.
"""

from __future__ import annotations

import html
import math
import re

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QLayout,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from labbench.criteria.limits import VERDICT_ORDER, Band
from labbench.ui.cursors import NO_SI_PREFIX, format_value
from labbench.ui.theme import Theme, verdict_colors

TILE_MIN_WIDTH = 210


def margin_to_limits(value: float, band: Band) -> tuple[float, str] | None:
    """(distance, which limit) to the nearest limit; negative when the value is outside it."""
    if not math.isfinite(value):
        return None
    options = []
    if band.low is not None:
        options.append((value - band.low, "low"))
    if band.high is not None:
        options.append((band.high - value, "high"))
    return min(options) if options else None


def format_span(low: float, high: float, unit: str) -> str:
    """``679.1…751.9 mV``: both ends in the larger one's prefix, the unit once."""
    if unit in NO_SI_PREFIX:
        return f"{low:.4g}…{high:.4g}{(' ' + unit) if unit else ''}"
    scale, prefix = pg.siScale(max(abs(low), abs(high)))
    return f"{low * scale:.4g}…{high * scale:.4g} {prefix}{unit}"


class RailTile(QFrame):
    clicked = Signal(str)  # the channel

    def __init__(self, channel: str, unit: str, theme: Theme, parent=None):
        super().__init__(parent)
        self.channel, self.unit, self.theme = channel, unit, theme
        self.band: Band | None = None
        self.verdict = "pending"
        self.value = math.nan
        self.step_min = math.inf
        self.step_max = -math.inf
        self.judged_from = math.inf  # seconds: the step's settle time, before which nothing counts
        # A style sheet's #name selector takes letters, digits and _ only (not vdd_core[2]).
        self.setObjectName("tile_" + re.sub(r"\W", "_", channel))
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.addWidget(self.text)
        self.setMinimumWidth(TILE_MIN_WIDTH)
        # Two lines (the second in a smaller font) and the margins: never clipped.
        self.setMinimumHeight(2 * self.fontMetrics().lineSpacing() + 10)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.refresh()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
            event.position().toPoint()
        ):
            self.clicked.emit(self.channel)
        super().mouseReleaseEvent(event)

    def begin_step(self, band: Band | None, judged_from: float) -> None:
        self.band = band
        self.judged_from = judged_from
        self.step_min, self.step_max = math.inf, -math.inf

    def feed(self, t: np.ndarray, v: np.ndarray) -> None:
        if v.size == 0:
            return
        self.value = float(v[-1])
        judged = v[t >= self.judged_from] if self.band is not None else v
        judged = judged[~np.isnan(judged)]
        if judged.size:
            self.step_min = min(self.step_min, float(judged.min()))
            self.step_max = max(self.step_max, float(judged.max()))

    def refresh(self) -> None:
        bg, fg = verdict_colors(self.theme, self.verdict)
        fmt = lambda x: format_value(x, self.unit)  # noqa: E731
        head = (
            f"<b>{html.escape(self.channel)}</b> &nbsp;{fmt(self.value)} "
            f"&nbsp;<b>{self.verdict.upper()}</b>"
        )
        if self.band is None:
            detail = "not judged in this step"
        else:
            span = (
                "—"
                if not math.isfinite(self.step_min)
                else format_span(self.step_min, self.step_max, self.unit)
            )
            margin = margin_to_limits(self.value, self.band)
            if margin is None:
                where = "no value yet"
            elif margin[0] < 0:
                where = (
                    f"{fmt(-margin[0])} {'below' if margin[1] == 'low' else 'above'} {margin[1]}"
                )
            else:
                where = f"{fmt(margin[0])} to {margin[1]}"
            detail = f"{span} · {where}"
        self.text.setText(f"{head}<br><small>{detail}</small>")
        self.setToolTip(
            f"{self.channel}: present value, min … max in this step (after settling), "
            "margin of the present value to the nearest limit, verdict so far. Click: show its plot"
        )
        style = (
            f"#{self.objectName()} {{ background: {bg.name()}; border-radius: 4px; }}"
            f" QLabel {{ color: {fg.name()}; background: transparent; }}"
        )
        if (
            style != self.styleSheet()
        ):  # restyling is not free: only when the verdict or theme changed
            self.setStyleSheet(style)


class RailTiles(QWidget):
    """The judged channels' tiles, as many to a row as fit."""

    tile_clicked = Signal(str)  # the channel

    def __init__(self, theme: Theme, parent=None):
        super().__init__(parent)
        self.theme = theme
        self.tiles: dict[str, RailTile] = {}
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(4)
        self.grid.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        # One column's width at least: the tiles flow onto more rows when the run view
        # narrows (History widened beside it) instead of four holding it 860 px wide.
        self.setMinimumWidth(TILE_MIN_WIDTH)
        self._columns = 0  # the columns that fit, as last laid out (0: lay out again)
        self._stretched = 0  # the grid's columns given a share of the width
        self._laying_out = self._again = False
        self.hidden: set[str] = set()  # tiles of the chips the sled map does not show
        self.setVisible(False)

    def set_channels(self, channels: dict[str, str]) -> None:
        for tile in self.tiles.values():
            self.grid.removeWidget(tile)
            tile.deleteLater()
        self.tiles = {
            name: RailTile(name, unit, self.theme, self) for name, unit in channels.items()
        }
        for tile in self.tiles.values():
            tile.clicked.connect(self.tile_clicked)
        self.hidden = set()
        self._columns = 0
        self._relayout()
        self.setVisible(bool(self.tiles))

    def show_only(self, hidden: set[str]) -> None:
        """Hide these channels' tiles (another chip's, when the sled map shows one)."""
        self.hidden = set(hidden) & set(self.tiles)
        self._columns = 0
        self._relayout()
        self.refresh()
        self.setVisible(len(self.hidden) < len(self.tiles))

    def _relayout(self) -> None:
        if self._laying_out:
            # Showing a tile lays the parents out at once, which can resize this widget (the
            # live view's head places the tiles across when a sled's map hides): lay out again
            # for that width once this pass is done, not with this pass's stale columns.
            self._columns = 0
            self._again = True
            return
        self._laying_out = True
        try:
            self._lay_out()
        finally:
            self._laying_out = False
        if self._again:
            self._again = False
            self._relayout()

    def _lay_out(self) -> None:
        shown = [tile for name, tile in self.tiles.items() if name not in self.hidden]
        fit = max(1, self.width() // (TILE_MIN_WIDTH + 4))
        if fit == self._columns:
            return
        # Every column that fits shares the width, filled or not: one tile across a wide view
        # stays a tile, not a bar the width of the window.
        for column in range(max(fit, self._stretched)):
            self.grid.setColumnStretch(column, 1 if column < fit else 0)
        self._columns = self._stretched = fit
        columns = max(1, min(len(shown), fit))
        for tile in self.tiles.values():
            self.grid.removeWidget(tile)
            tile.setVisible(tile.channel not in self.hidden)
        for i, tile in enumerate(shown):
            self.grid.addWidget(tile, i // columns, i % columns)
        if shown:  # as many rows high as the columns need
            rows = -(-len(shown) // columns)
            tile_height = shown[0].minimumHeight()
            self.setFixedHeight(rows * tile_height + (rows - 1) * self.grid.spacing())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._relayout()

    def begin_step(self, bands: dict[str, Band], judged_from: dict[str, float]) -> None:
        for name, tile in self.tiles.items():
            tile.begin_step(bands.get(name), judged_from.get(name, math.inf))
        self.refresh()

    def shows(self, channel: str) -> bool:
        """Whether the channel has a tile on screen (not another chip's)."""
        return channel in self.tiles and channel not in self.hidden

    def feed(self, channel: str, t: np.ndarray, v: np.ndarray) -> None:
        tile = self.tiles.get(channel)
        if tile is not None:
            tile.feed(t, v)

    def set_verdicts(self, verdicts: dict[str, str]) -> None:
        for name, verdict in verdicts.items():
            if name in self.tiles:
                self.tiles[name].verdict = verdict

    def refresh(self) -> None:
        """Rewrite the tiles on screen (another chip's are rewritten when they are shown)."""
        for name, tile in self.tiles.items():
            if name not in self.hidden:
                tile.refresh()

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        for tile in self.tiles.values():
            tile.theme = theme
        self.refresh()


def channel_verdicts(steps) -> dict[str, str]:
    """The worst verdict so far of each channel's limits, over the steps judged."""
    rank = {v: i for i, v in enumerate(VERDICT_ORDER)}
    out: dict[str, str] = {}
    for step in steps:
        for c in step.criteria:
            if c.kind != "limit" or c.verdict not in rank:
                continue
            if c.channel not in out or rank[c.verdict] > rank[out[c.channel]]:
                out[c.channel] = c.verdict
    return out
