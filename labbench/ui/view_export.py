"""Save what the plots show: every plot of the run in one image, stamped with run, DUT, plan
and verdict, as PNG or PDF."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter

from labbench.ui.plots import PlotStack
from labbench.ui.theme import qcolor

log = logging.getLogger(__name__)

HEADER_PX = 56
FORMATS = {".png": "PNG image (*.png)", ".pdf": "PDF document (*.pdf)"}


class SaveViewError(Exception):
    """The view could not be written; the message names the file."""


def stamp_lines(run_id, dut: str, plan: str, verdict: str, detail: str = "") -> list[str]:
    saved = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    run_text = run_id if run_id is not None else "—"
    first = f"Run {run_text} · DUT {dut or '—'} · plan {plan or '—'} · {verdict.upper()}"
    second = f"{detail + ' · ' if detail else ''}saved {saved} by labbench"
    return [first, second]


def _paint(
    painter: QPainter, stack: PlotStack, lines: list[str], width: float, height: float, scale: float
) -> None:
    theme = stack.theme
    painter.fillRect(QRectF(0, 0, width, height), qcolor(theme.plot_background))
    font = QFont(painter.font())
    font.setPixelSize(max(int(18 * scale), 8))
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(qcolor(theme.text) if theme.name == "light" else QColor(theme.plot_foreground))
    painter.drawText(
        QRectF(8 * scale, 4 * scale, width - 16 * scale, 24 * scale),
        Qt.AlignmentFlag.AlignLeft,
        lines[0],
    )
    font.setBold(False)
    font.setPixelSize(max(int(13 * scale), 6))
    painter.setFont(font)
    painter.drawText(
        QRectF(8 * scale, 30 * scale, width - 16 * scale, 20 * scale),
        Qt.AlignmentFlag.AlignLeft,
        lines[1],
    )
    scene = stack.layout_widget.scene()
    source = stack.layout_widget.sceneRect()
    target = QRectF(0, HEADER_PX * scale, width, height - HEADER_PX * scale)
    scene.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)


def save_view(stack: PlotStack, lines: list[str], path: str | Path) -> Path:
    """Write every plot of the stack under a stamp; the format follows the suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise SaveViewError(f"{path}: save the view as .png or .pdf")
    rect = stack.layout_widget.sceneRect()
    width, height = max(rect.width(), 400.0), max(rect.height(), 200.0) + HEADER_PX
    if suffix == ".png":
        scale = 2.0  # sharp enough to read in a report
        image = QImage(int(width * scale), int(height * scale), QImage.Format.Format_ARGB32)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        _paint(painter, stack, lines, width * scale, height * scale, scale)
        painter.end()
        if not image.save(str(path), "PNG"):
            raise SaveViewError(
                f"{path}: could not write the image (is the folder writable and not full?)"
            )
    else:
        writer = QPdfWriter(str(path))
        writer.setResolution(96)
        writer.setPageLayout(
            QPageLayout(
                QPageSize(QPageSize.PageSizeId.A4),
                QPageLayout.Orientation.Landscape,
                QMarginsF(8, 8, 8, 8),
            )
        )
        painter = QPainter()
        if not painter.begin(writer):
            raise SaveViewError(f"{path}: could not write the PDF (is the folder writable?)")
        page = writer.pageLayout().paintRectPixels(writer.resolution())
        scale = min(page.width() / width, page.height() / height)
        _paint(painter, stack, lines, width * scale, height * scale, scale)
        painter.end()
        if not path.exists() or path.stat().st_size == 0:
            raise SaveViewError(
                f"{path}: could not write the PDF (is the folder writable and not full?)"
            )
    log.info("saved the view to %s", path)
    return path
