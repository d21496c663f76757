"""The rig's console log: scrolls alongside the plots, filterable, malformed lines marked."""

from __future__ import annotations

import collections

from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

MAX_LINES = 20_000


class ConsoleView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._lines: collections.deque = collections.deque(maxlen=MAX_LINES)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter console lines…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._refilter)
        self.malformed_only = QCheckBox("Malformed only")
        self.malformed_only.toggled.connect(self._refilter)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(MAX_LINES)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        bar = QHBoxLayout()
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.malformed_only)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.text)

    def clear(self) -> None:
        self._lines.clear()
        self.text.clear()

    def append(self, entries: list[tuple[float, str, str]]) -> None:
        """Add (seconds since run start, kind, text) lines."""
        shown = []
        for entry in entries:
            self._lines.append(entry)
            if self._matches(entry):
                shown.append(self._format(entry))
        if shown:
            self.text.appendPlainText("\n".join(shown))

    def _matches(self, entry) -> bool:
        _, kind, text = entry
        if self.malformed_only.isChecked() and kind != "malformed":
            return False
        needle = self.filter_edit.text().strip().lower()
        return not needle or needle in text.lower()

    @staticmethod
    def _format(entry) -> str:
        t, kind, text = entry
        mark = {"malformed": "!! ", "result": "=> "}.get(kind, "   ")
        return f"{t:10.3f}  {mark}{text}"

    def _refilter(self) -> None:
        self.text.setPlainText("\n".join(self._format(e) for e in self._lines if self._matches(e)))

    def visible_lines(self) -> list[str]:
        return [line for line in self.text.toPlainText().splitlines() if line]
