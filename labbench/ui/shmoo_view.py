"""The shmoo of a sweep step drawn as a verdict grid (docs/architecture.md §4, Sweeps).

x (``vdd_mv``) runs left to right, y (``freq_mhz``) bottom to top, each axis titled with its
name and ticked with the swept values.  Every cell says its letter (P, M, F, E; ``-`` for a
point not run) on its verdict's colour, so it is never told by colour alone.  Per row:

* Vmin, the smallest x from which every point up to the largest x passes, is marked by a bold
  bar on the left edge of its cell and written in the column right of the grid;
* a hole (a point that did not pass with a passing point at a smaller x) is outlined in a
  thick contrasting frame and counted in the caption.

A second run's Vmin can be overlaid (``set_overlay``) as a line of diamonds per row, named in
the legend ("chip B Vmin").  The legend and the caption sit above the grid, never on it.

Live use: ``set_sweep`` lays out every planned point (all ``-``) before the sweep runs, and
``set_point`` fills one cell as its point is judged (Vmin and holes are recomputed with
:func:`~labbench.criteria.shmoo.build_shmoo`); a finished run is ``set_shmoo``.  A click on a
cell emits ``pointClicked(x, y)`` (y None for a one-axis sweep).
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from labbench.criteria.shmoo import Shmoo, SweepPoint, axis_text, build_shmoo
from labbench.ui.report_plots import ensure_app
from labbench.ui.shmoo_paint import PAD, WORDS, ShmooPainting, where, x_position
from labbench.ui.theme import LIGHT, Theme

__all__ = ["ShmooView", "render_shmoo_png"]


class ShmooView(ShmooPainting, QWidget):
    """A sweep's pass/fail grid with Vmin per row, holes and an optional overlaid run."""

    pointClicked = Signal(object, object)  # x, y (None: a one-axis sweep)

    def __init__(self, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.theme = theme
        self.shmoo: Shmoo | None = None
        self.running = False
        self.last: tuple[float, float | None] | None = None  # the point judged last
        self.selected: tuple[float, float | None] | None = None  # the point clicked
        self.overlay_label: str | None = None
        self.overlay: Shmoo | None = None
        self._points: dict[tuple[float, float | None], SweepPoint] = {}
        self._names: tuple[str, str | None] = ("", None)
        self.setMouseTracking(True)
        self.setMinimumSize(360, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("shmoo")

    # --- what is shown --------------------------------------------------------------------

    def set_sweep(
        self, x_name: str, y_name: str | None, xs: Iterable[float], ys: Iterable[float] | None
    ) -> None:
        """Lay out the whole planned grid, every point not yet run, before the sweep starts
        (``y_name`` and ``ys`` None for a one-axis sweep)."""
        y_values: list[float | None] = [] if ys is None else list(ys)
        if y_name is None or not y_values:
            y_values = [None]
        self._names = (x_name, y_name)
        self._points = {
            (float(x), y if y is None else float(y)): SweepPoint(
                float(x), y if y is None else float(y), None, None
            )
            for y in y_values
            for x in xs
        }
        self.running, self.last = True, None
        self._rebuild()

    def set_point(self, point: SweepPoint) -> None:
        """One judged point (live): its cell fills, Vmin and holes are worked out again."""
        key = (float(point.x), None if point.y is None else float(point.y))
        self._points[key] = SweepPoint(key[0], key[1], point.order, point.verdict)
        self.last = key
        self._rebuild()

    def set_shmoo(self, shmoo: Shmoo) -> None:
        """A finished (or aborted) sweep: points never run stay ``-``."""
        self._names = (shmoo.x_name, shmoo.y_name)
        self._points = {(p.x, p.y): p for p in shmoo.points}
        self.running, self.last = False, None
        self._set(shmoo)

    def set_running(self, running: bool) -> None:
        """False once the sweep ended: cells still ``-`` are then "not run", no longer due."""
        self.running = running
        if not running:
            self.last = None
        self._refresh_text()
        self.update()

    def set_overlay(self, label: str | None, shmoo: Shmoo | None = None) -> None:
        """Draw ``shmoo``'s Vmin per row over this grid, named ``label`` in the legend; None
        clears it."""
        if label is None or shmoo is None:
            self.overlay_label, self.overlay = None, None
        else:
            self.overlay_label, self.overlay = label, shmoo
        self._refresh_text()
        self.update()

    def select(self, x: float, y: float | None) -> None:
        """Frame the point whose telemetry the plots show (until another is clicked)."""
        self.selected = (x, y)
        self.update()

    def clear(self) -> None:
        self._points, self.shmoo, self.last, self.running = {}, None, None, False
        self.selected = None
        self._refresh_text()
        self.update()

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.update()

    def _rebuild(self) -> None:
        self._set(build_shmoo(self._names[0], self._names[1], self._points.values()))

    def _set(self, shmoo: Shmoo) -> None:
        self.shmoo = shmoo
        self._refresh_text()
        self.update()

    # --- read-only queries (what the user sees) -------------------------------------------

    def cell_text(self, x: float, y: float | None) -> str:
        return self.shmoo.cell(x, y) if self.shmoo else ""

    def cell_color(self, x: float, y: float | None) -> QColor:
        """The background a cell is painted with."""
        return self._colors(self.cell_text(x, y))[0]

    def cell_rect(self, x: float, y: float | None) -> QRect:
        """Where a cell is, in widget coordinates."""
        geo = self._geometry()
        col, row = self.shmoo.xs.index(x), self.shmoo.ys.index(y)
        return self._cell_rectf(geo, col, row).toRect()

    def vmin(self, y: float | None) -> float | None:
        return self.shmoo.vmin.get(y) if self.shmoo else None

    def vmin_text(self, y: float | None) -> str:
        """What the Vmin column says for row ``y``."""
        value = self.vmin(y)
        if value is not None:
            return axis_text(value)
        if self.shmoo is None or not self.shmoo.xs:
            return ""
        top = self.shmoo.verdict(self.shmoo.xs[-1], y)
        if top is None:  # its highest point did not run (yet): Vmin is not known
            return "…" if self.running else "not run"
        return "none"

    def holes(self) -> tuple[tuple[float, float | None], ...]:
        return self.shmoo.holes if self.shmoo else ()

    def run_count(self) -> tuple[int, int]:
        """(points judged, points planned)."""
        if self.shmoo is None:
            return 0, 0
        done = sum(1 for p in self.shmoo.points if p.verdict is not None)
        return done, len(self.shmoo.xs) * len(self.shmoo.ys)

    def caption(self) -> str:
        if self.shmoo is None or not self.shmoo.xs:
            return "No sweep"
        s = self.shmoo
        done, total = self.run_count()
        axes = f"{s.x_name} × {s.y_name}" if s.y_name else s.x_name
        parts = [f"Shmoo {axes}: {done} of {total} points run"]
        if not self.running and done < total:
            parts[0] += f" ({total - done} not run)"
        count = len(s.holes)
        if count:
            places = ", ".join(where(s, x, y) for x, y in s.holes[:3])
            more = f" and {count - 3} more" if count > 3 else ""
            parts.append(f"{count} hole{'s' if count > 1 else ''} (outlined): {places}{more}")
        else:
            parts.append("no holes")
        return " · ".join(parts)

    def legend_entries(self) -> list[str]:
        """The legend's words, in order (the overlay's label last when there is one)."""
        entries = [f"{letter} {word}" for letter, word in WORDS.items()]
        entries += ["▌Vmin", "▢ hole"]
        if self.overlay_label:
            entries.append(f"◆ {self.overlay_label}")
        return entries

    def content_height(self) -> int:
        """How high the drawing is at the present width (a one-axis sweep's band leaves the
        rest of a tall widget empty)."""
        geo = self._geometry()
        return min(self.height(), geo.x_title_top + QFontMetrics(self._fonts()[1]).height() + PAD)

    def legend_rect(self) -> QRect:
        """Where the legend is drawn (above the grid, beside the Vmin column's header)."""
        geo = self._geometry()
        rows = len(self._legend_rows(geo.legend_width))
        line = QFontMetrics(self._fonts()[0]).height()
        return QRect(PAD, geo.legend_top, geo.legend_width, rows * (line + 4))

    def _refresh_text(self) -> None:
        self.setAccessibleDescription(self.caption())

    # --- geometry -------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(900, 480)

    # --- events ---------------------------------------------------------------------------

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            cell = self._cell_at(event.position())
            if cell is not None:
                self.pointClicked.emit(*cell)
                return
        super().mousePressEvent(event)

    def event(self, event) -> bool:
        if event.type() == event.Type.ToolTip and self.shmoo is not None:
            cell = self._cell_at(event.position() if hasattr(event, "position") else event.pos())
            if cell is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), self.describe(*cell), self)
            return True
        return super().event(event)

    def describe(self, x: float, y: float | None) -> str:
        """A cell in words (its tooltip)."""
        s = self.shmoo
        letter = s.cell(x, y)
        point = s.point(x, y)
        word = WORDS[letter] if letter != "-" or not self.running else "not yet run"
        text = f"{where(s, x, y)}: {word}"
        if point is not None and point.order is not None:
            text += f" (point {point.order + 1})"
        if (x, y) in s.holes:
            text += " — a hole: it passed at a lower " + s.x_name
        if s.vmin.get(y) == x:
            text += " — Vmin of this row"
        return text + ". Click: this point's telemetry"

    # --- painting -------------------------------------------------------------------------

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            self.paint(painter)
        finally:
            painter.end()

    def overlay_points(self) -> dict[float | None, QPointF]:
        """Where the overlaid run's Vmin of each row is drawn (rows it has a Vmin for)."""
        if self.overlay is None or self.shmoo is None:
            return {}
        geo = self._geometry()
        out = {}
        for row, y in enumerate(self.shmoo.ys):
            value = self.overlay.vmin.get(y)
            if value is not None:
                centre_y = self._cell_rectf(geo, 0, row).center().y()
                out[y] = QPointF(x_position(self.shmoo.xs, geo, value), centre_y)
        return out


def render_shmoo_png(
    shmoo: Shmoo,
    width: int = 1100,
    height: int = 520,
    overlay: tuple[str, Shmoo] | None = None,
    theme: Theme = LIGHT,
) -> bytes:
    """The shmoo drawn offscreen as PNG bytes (the HTML report's grid), ``width`` wide and at
    most ``height`` high (a one-axis sweep's band is cut to what it needs). GUI thread only, as
    :mod:`labbench.ui.report_plots`; makes the QApplication when there is none."""
    ensure_app()
    view = ShmooView(theme)
    try:
        view.set_shmoo(shmoo)
        if overlay is not None:
            view.set_overlay(*overlay)
        view.resize(width, height)
        high = view.content_height() if shmoo.y_name is None else height
        image = view.grab(QRect(0, 0, width, high)).toImage()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        buffer.close()
        return bytes(data.data())
    finally:
        view.deleteLater()
