"""Painting the shmoo grid (the drawing half of :class:`~labbench.ui.shmoo_view.ShmooView`):
geometry, cells, axes, Vmin, holes, legend and the overlaid run."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen, QPolygonF

from labbench.criteria.shmoo import Shmoo, axis_text
from labbench.ui.theme import qcolor, verdict_colors

WORDS = {"P": "passed", "M": "marginal", "F": "failed", "E": "error", "-": "not run"}
# A hole's frame: amber on the red of a failed cell and the green beside it, in both themes.
HOLE_COLOR = "#facc15"
# The overlaid run's Vmin: a colour no verdict uses.
OVERLAY_COLOR = {"light": "#0891b2", "dark": "#67e8f9"}
PAD = 8
MIN_CELL = 14  # below this a cell's letter is left out (the colour and the tooltip stay)


@dataclass(frozen=True)
class _Geometry:
    grid: QRect  # the cells' area
    cell_w: float
    cell_h: float
    caption_h: int
    legend_top: int
    legend_width: int
    x_ticks_top: int
    x_title_top: int
    vmin_left: int
    tick_every: int


class ShmooPainting:
    """The painting half of ``ShmooView``; it uses the view's ``shmoo``, ``theme``,
    ``running``, ``last`` and ``overlay`` and its size and font."""

    def _fonts(self) -> tuple[QFont, QFont, QFont]:
        base = QFont(self.font())
        # Text grows with the widget (a full-screen grid is read from further away), never
        # below the widget's own font.
        pixels = QFontMetrics(base).height() * 0.75
        grown = min(self.width() / 95, self.height() / 58, 17.0)
        if grown > pixels:
            base.setPixelSize(round(grown))
        bold = QFont(base)
        bold.setBold(True)
        cell = QFont(bold)
        return base, bold, cell

    def _legend_rows(self, width: int) -> list[list[tuple[str, str]]]:
        """Legend entries (kind, text) flowed into rows no wider than ``width``."""
        base, _, _ = self._fonts()
        fm = QFontMetrics(base)
        items = [(letter, f"{word}") for letter, word in WORDS.items()]
        items += [("vmin", "Vmin"), ("hole", "hole")]
        if self.overlay_label:
            items.append(("overlay", self.overlay_label))
        rows: list[list[tuple[str, str]]] = [[]]
        used = 0
        for kind, text in items:
            need = (
                fm.height() + 6 + fm.horizontalAdvance(text) + 16 + (8 if kind == "overlay" else 0)
            )
            if rows[-1] and used + need > width:
                rows.append([])
                used = 0
            rows[-1].append((kind, text))
            used += need
        return rows

    def _caption_height(self, width: int) -> int:
        _, bold, _ = self._fonts()
        flags = int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap)
        return (
            QFontMetrics(bold)
            .boundingRect(QRect(0, 0, width, 10_000), flags, self.caption())
            .height()
        )

    def _geometry(self) -> _Geometry:
        base, bold, _ = self._fonts()
        fm, fb = QFontMetrics(base), QFontMetrics(bold)
        s = self.shmoo
        width, height = self.width(), self.height()
        line = fm.height()
        ys = s.ys if s else ()
        xs = s.xs if s else ()
        x_name = s.x_name if s else ""
        # The Vmin column right of the grid: its header ("Vmin", the x name) and values.
        vmin_w = max(
            [fb.horizontalAdvance("Vmin"), fm.horizontalAdvance(x_name)]
            + [fb.horizontalAdvance(self.vmin_text(y)) for y in ys]
        )
        right = vmin_w + 2 * PAD + 10
        caption_h = self._caption_height(width - 2 * PAD)
        legend_top = PAD + caption_h + 4
        legend_width = max(width - right - 2 * PAD, 120)
        legend_rows = len(self._legend_rows(legend_width))
        top = max(legend_top + legend_rows * (line + 4) + 6, legend_top + 2 * line + 8)
        y_labels = [axis_text(y) for y in ys if y is not None]
        y_tick_w = max((fm.horizontalAdvance(t) for t in y_labels), default=0)
        y_title_w = line + 6 if s is not None and s.y_name else 0
        left = PAD + y_title_w + y_tick_w + 6
        bottom = line + 4 + line + PAD + 4
        grid = QRect(left, top, max(width - left - right, 10), max(height - top - bottom, 10))
        cols, rows = max(len(xs), 1), max(len(ys), 1)
        cell_w = grid.width() / cols
        cell_h = grid.height() / rows
        if s is not None and s.y_name is None:
            # One row: a band, not a wall of colour.
            cell_h = min(cell_h, max(3.0 * line, 40.0))
            grid.setHeight(int(cell_h))
        widest = max((fm.horizontalAdvance(axis_text(x)) for x in xs), default=0)
        tick_every = max(1, math.ceil((widest + 8) / max(cell_w, 1.0)))
        return _Geometry(
            grid=grid,
            cell_w=cell_w,
            cell_h=cell_h,
            caption_h=caption_h,
            legend_top=legend_top,
            legend_width=legend_width,
            x_ticks_top=grid.bottom() + 4,
            x_title_top=grid.bottom() + 4 + line + 2,
            vmin_left=grid.right() + PAD + 6,
            tick_every=tick_every,
        )

    def _cell_rectf(self, geo: _Geometry, col: int, row: int) -> QRectF:
        rows = len(self.shmoo.ys)
        return QRectF(
            geo.grid.left() + col * geo.cell_w,
            geo.grid.top() + (rows - 1 - row) * geo.cell_h,
            geo.cell_w,
            geo.cell_h,
        )

    def _cell_at(self, pos) -> tuple[float, float | None] | None:
        if self.shmoo is None or not self.shmoo.xs:
            return None
        geo = self._geometry()
        dx, dy = pos.x() - geo.grid.left(), pos.y() - geo.grid.top()
        col, row_from_top = math.floor(dx / geo.cell_w), math.floor(dy / geo.cell_h)
        rows = len(self.shmoo.ys)
        if not (0 <= col < len(self.shmoo.xs) and 0 <= row_from_top < rows):
            return None
        return self.shmoo.xs[col], self.shmoo.ys[rows - 1 - row_from_top]

    def _colors(self, letter: str) -> tuple[QColor, QColor]:
        verdict = WORDS.get(letter, "not run")
        if verdict == "not run":
            return verdict_colors(self.theme, "pending")
        return verdict_colors(self.theme, verdict)

    def paint(self, painter: QPainter) -> None:
        t = self.theme
        painter.fillRect(self.rect(), qcolor(t.base))
        base, bold, cell_font = self._fonts()
        painter.setFont(bold)
        painter.setPen(qcolor(t.text))
        s = self.shmoo
        geo = self._geometry()
        painter.drawText(
            QRect(PAD, PAD, self.width() - 2 * PAD, geo.caption_h),
            int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap),
            self.caption(),
        )
        self._paint_legend(painter, geo)
        if s is None or not s.xs:
            return
        self._paint_cells(painter, geo, cell_font)
        self._paint_axes(painter, geo, base, bold)
        self._paint_vmin(painter, geo, base, bold)
        if self.overlay is not None:
            self._paint_overlay(painter, geo)

    def _paint_legend(self, painter: QPainter, geo: _Geometry) -> None:
        base, _, _ = self._fonts()
        fm = QFontMetrics(base)
        painter.setFont(base)
        line = fm.height()
        y = geo.legend_top
        for row in self._legend_rows(geo.legend_width):
            x = PAD
            for kind, text in row:
                if kind == "overlay":
                    x += 8  # its line reaches past the diamond
                box = QRectF(x, y, line, line)
                self._legend_swatch(painter, kind, box)
                painter.setPen(qcolor(self.theme.text))
                painter.drawText(
                    QRectF(x + line + 6, y, fm.horizontalAdvance(text) + 2, line),
                    int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                    text,
                )
                x += line + 6 + fm.horizontalAdvance(text) + 16
            y += line + 4

    def _legend_swatch(self, painter: QPainter, kind: str, box: QRectF) -> None:
        t = self.theme
        if kind in WORDS:
            bg, fg = self._colors(kind)
            painter.fillRect(box, bg)
            painter.setPen(QPen(qcolor(t.muted), 1))
            painter.drawRect(box)
            painter.setPen(fg)
            painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), kind)
        elif kind == "vmin":
            painter.fillRect(box, self._colors("P")[0])
            painter.fillRect(QRectF(box.left(), box.top(), 4, box.height()), qcolor(t.text))
        elif kind == "hole":
            painter.fillRect(box, self._colors("F")[0])
            painter.setPen(QPen(qcolor(HOLE_COLOR), 3))
            painter.drawRect(box.adjusted(1.5, 1.5, -1.5, -1.5))
        else:
            color = qcolor(OVERLAY_COLOR.get(t.name, OVERLAY_COLOR["light"]))
            painter.setPen(QPen(color, 2))
            mid = box.center().y()
            painter.drawLine(QPointF(box.left() - 4, mid), QPointF(box.right() + 4, mid))
            _diamond(painter, box.center(), box.height() / 3, color, qcolor(t.base))

    def _paint_cells(self, painter: QPainter, geo: _Geometry, font: QFont) -> None:
        s, t = self.shmoo, self.theme
        size = max(8, min(int(geo.cell_h * 0.45), int(geo.cell_w * 0.45), 18))
        font.setPixelSize(size)
        painter.setFont(font)
        gap = QPen(qcolor(t.base), 1)
        for row, y in enumerate(s.ys):
            for col, x in enumerate(s.xs):
                rect = self._cell_rectf(geo, col, row)
                letter = s.cell(x, y)
                bg, fg = self._colors(letter)
                painter.fillRect(rect, bg)
                painter.setPen(gap)
                painter.drawRect(rect)
                if min(geo.cell_w, geo.cell_h) >= MIN_CELL:
                    painter.setPen(fg)
                    painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), letter)
        # Holes over the cells, so their frames are never half covered by a neighbour.
        for x, y in s.holes:
            rect = self._cell_rectf(geo, s.xs.index(x), s.ys.index(y))
            painter.setPen(QPen(qcolor("#111827"), 1))
            painter.drawRect(rect.adjusted(0.5, 0.5, -0.5, -0.5))
            painter.setPen(QPen(qcolor(HOLE_COLOR), 3))
            painter.drawRect(rect.adjusted(2.5, 2.5, -2.5, -2.5))
        if self.running and self.last is not None and self.last in s._by_coordinate:
            x, y = self.last
            rect = self._cell_rectf(geo, s.xs.index(x), s.ys.index(y))
            painter.setPen(QPen(qcolor(t.highlight), 2, Qt.PenStyle.DotLine))
            painter.drawRect(rect.adjusted(1, 1, -1, -1))
        if self.selected is not None and self.selected in s._by_coordinate:
            x, y = self.selected  # the point whose telemetry the plots show
            rect = self._cell_rectf(geo, s.xs.index(x), s.ys.index(y))
            painter.setPen(QPen(qcolor(t.highlight), 3))
            painter.drawRect(rect.adjusted(1.5, 1.5, -1.5, -1.5))

    def _paint_axes(self, painter: QPainter, geo: _Geometry, base: QFont, bold: QFont) -> None:
        s, t = self.shmoo, self.theme
        fm = QFontMetrics(base)
        painter.setFont(base)
        painter.setPen(qcolor(t.text))
        line = fm.height()
        last = len(s.xs) - 1
        shown = list(range(0, last + 1, geo.tick_every))
        if shown[-1] != last:
            if last - shown[-1] < geo.tick_every:
                shown.pop()  # the last value is always labelled; its neighbour gives way
            shown.append(last)
        for col in shown:
            x = s.xs[col]
            centre = geo.grid.left() + (col + 0.5) * geo.cell_w
            text = axis_text(x)
            w = fm.horizontalAdvance(text) + 4
            painter.drawText(
                QRectF(centre - w / 2, geo.x_ticks_top, w, line),
                int(Qt.AlignmentFlag.AlignCenter),
                text,
            )
        painter.setFont(bold)
        painter.drawText(
            QRectF(geo.grid.left(), geo.x_title_top, geo.grid.width(), line + 2),
            int(Qt.AlignmentFlag.AlignCenter),
            f"{s.x_name} →",
        )
        if s.y_name is None:
            return
        painter.setFont(base)
        for row, y in enumerate(s.ys):
            rect = self._cell_rectf(geo, 0, row)
            painter.drawText(
                QRectF(PAD, rect.top(), geo.grid.left() - PAD - 6, rect.height()),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                axis_text(y),
            )
        painter.save()
        painter.setFont(bold)
        centre_y = geo.grid.top() + geo.grid.height() / 2
        painter.translate(PAD, centre_y)
        painter.rotate(-90)
        fb = QFontMetrics(bold)
        w = fb.horizontalAdvance(f"{s.y_name} →") + 4
        painter.drawText(
            QRectF(-w / 2, 0, w, fb.height()), int(Qt.AlignmentFlag.AlignCenter), f"{s.y_name} →"
        )
        painter.restore()

    def _paint_vmin(self, painter: QPainter, geo: _Geometry, base: QFont, bold: QFont) -> None:
        s, t = self.shmoo, self.theme
        fm = QFontMetrics(base)
        line = fm.height()
        left = geo.vmin_left
        width = self.width() - left - PAD
        painter.setFont(bold)
        painter.setPen(qcolor(t.text))
        header_bottom = geo.grid.top() - 2
        align = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        painter.drawText(QRectF(left, header_bottom - 2 * line, width, line), align, "Vmin")
        painter.setFont(base)
        painter.setPen(qcolor(t.muted))
        painter.drawText(QRectF(left, header_bottom - line, width, line), align, s.x_name)
        mark = qcolor(t.text)
        for row, y in enumerate(s.ys):
            rect = self._cell_rectf(geo, 0, row)
            value = s.vmin.get(y)
            painter.setFont(bold if value is not None else base)
            painter.setPen(qcolor(t.text) if value is not None else qcolor(t.muted))
            painter.drawText(
                QRectF(left, rect.top(), width, rect.height()),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                self.vmin_text(y),
            )
            if value is None:
                continue
            cell = self._cell_rectf(geo, s.xs.index(value), row)
            bar = max(3.0, min(6.0, geo.cell_w / 6))
            painter.fillRect(QRectF(cell.left(), cell.top(), bar, cell.height()), mark)

    def _paint_overlay(self, painter: QPainter, geo: _Geometry) -> None:
        s, other = self.shmoo, self.overlay
        color = qcolor(OVERLAY_COLOR.get(self.theme.name, OVERLAY_COLOR["light"]))
        points = []
        for row, y in enumerate(s.ys):
            value = other.vmin.get(y)
            if value is None:
                continue
            centre_y = self._cell_rectf(geo, 0, row).center().y()
            points.append(QPointF(x_position(s.xs, geo, value), centre_y))
        if not points:
            return
        painter.setPen(QPen(color, 2))
        for a, b in itertools.pairwise(points):
            painter.drawLine(a, b)
        radius = max(4.0, min(7.0, geo.cell_h / 4))
        for p in points:
            _diamond(painter, p, radius, color, qcolor(self.theme.base))


def x_position(xs: tuple[float, ...], geo: _Geometry, value: float) -> float:
    """The left edge of the cell of ``value`` (where this run's Vmin bar is too); between
    cells, interpolated, for another run swept on other values."""
    if value in xs:
        return geo.grid.left() + xs.index(value) * geo.cell_w
    if len(xs) < 2:
        return geo.grid.left()
    for i in range(len(xs) - 1):
        if xs[i] <= value <= xs[i + 1]:
            frac = (value - xs[i]) / (xs[i + 1] - xs[i])
            return geo.grid.left() + (i + frac) * geo.cell_w
    return geo.grid.left() if value < xs[0] else geo.grid.right()


def _diamond(painter: QPainter, centre: QPointF, r: float, color: QColor, edge: QColor) -> None:
    shape = QPolygonF(
        [
            QPointF(centre.x(), centre.y() - r),
            QPointF(centre.x() + r, centre.y()),
            QPointF(centre.x(), centre.y() + r),
            QPointF(centre.x() - r, centre.y()),
        ]
    )
    painter.setPen(QPen(edge, 1.5))
    painter.setBrush(color)
    painter.drawPolygon(shape)
    painter.setBrush(Qt.BrushStyle.NoBrush)


def where(s: Shmoo, x: float, y: float | None) -> str:
    here = f"{s.x_name} {axis_text(x)}"
    return here if y is None or s.y_name is None else f"{here} @ {s.y_name} {axis_text(y)}"
