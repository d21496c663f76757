"""The live view's verdict banner: the run's verdict in its colour and a sentence, large."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QLabel

from labbench.ui.theme import Theme, verdict_colors

BANNER_POINTS = 20


class VerdictBanner(QLabel):
    def __init__(self, theme: Theme, parent=None):
        super().__init__(parent)
        self.theme = theme
        self.verdict = "pending"
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumHeight(56)
        font = self.font()
        font.setPointSize(BANNER_POINTS)
        font.setBold(True)
        self.setFont(font)
        self.show_verdict("pending", "No run")

    def show_verdict(self, verdict: str, text: str | None = None) -> None:
        self.verdict = verdict
        bg, fg = verdict_colors(self.theme, verdict)
        self.setText(text or verdict.upper())
        self.setStyleSheet(
            f"background: {bg.name()}; color: {fg.name()}; border-radius: 6px; padding: 6px;"
        )
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """The sentence in at most two lines of the banner's 20 pt: a smaller size when it
        is long for the width (a narrow run view beside History cut a third line off)."""
        width = self.width() - 2 * 6
        if width <= 0 or not self.wordWrap():
            return
        font = QFont(self.font())
        font.setPointSize(BANNER_POINTS)
        room = 2 * QFontMetrics(font).lineSpacing()
        flags = int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap)
        for points in range(BANNER_POINTS, 9, -1):
            font.setPointSize(points)
            needed = QFontMetrics(font).boundingRect(QRect(0, 0, width, 10_000), flags, self.text())
            if needed.height() <= room:
                break
        if font.pointSize() != self.font().pointSize():
            self.setFont(font)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.show_verdict(self.verdict, self.text())
