"""Answering the dialogs a user would answer: find the modal box on screen and press its
button (or a key), from a timer, because the code under test waits in the dialog's own loop."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget


def when_modal(act: Callable[[QWidget], None], *, kind: type = QWidget, tries: int = 400) -> list:
    """Call ``act`` on the next modal dialog of ``kind`` that shows up; returns a list that
    gets the dialog's text (its title if it has none) once answered, so a test can assert it
    appeared and what it said."""
    seen: list = []

    def poll(left: int = tries) -> None:
        widget: QWidget | None = QApplication.activeModalWidget()
        if isinstance(widget, kind) and widget.isVisible():
            seen.append(widget.text() if hasattr(widget, "text") else widget.windowTitle())
            act(widget)
            return
        if left > 0:
            QTimer.singleShot(10, lambda: poll(left - 1))

    QTimer.singleShot(0, poll)
    return seen


def press_button(role_or_text) -> Callable[[QWidget], None]:
    """Click the message box button with this standard button or text."""

    def act(box: QWidget) -> None:
        if isinstance(role_or_text, str):
            button = next(b for b in box.buttons() if b.text().replace("&", "") == role_or_text)
        else:
            button = box.button(role_or_text)
        button.click()

    return act


def press_key(key: Qt.Key) -> Callable[[QWidget], None]:
    def act(box: QWidget) -> None:
        QTest.keyClick(box, key)

    return act
