"""Export and Abort as the operator reaches them: the shortcut on the window, the toolbar
button, the menu item; the abort confirmation answered through its buttons and Escape."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QToolBar

from labbench.runs.sequencer import run_plan
from labbench.storage import runs as run_store
from labbench.ui.export_dialog import ExportDialog

from .dialogs import press_button, press_key, when_modal
from .runs import short_run_request


def _export_dialogs() -> list[ExportDialog]:
    return [
        w for w in QApplication.topLevelWidgets() if isinstance(w, ExportDialog) and w.isVisible()
    ]


def _select_history_rows(qtbot, window, count: int) -> None:
    window.history_dock.show()
    window.history_dock.raise_()
    with qtbot.waitSignal(window.history.model.loaded, timeout=10_000):
        window.history.apply_filters()
    table = window.history.table
    qtbot.waitUntil(lambda: table.model().rowCount() >= count, timeout=10_000)
    first = table.visualRect(table.model().index(0, 0)).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=first)
    for row in range(1, count):
        pos = table.visualRect(table.model().index(row, 0)).center()
        qtbot.mouseClick(
            table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, pos
        )


def _toolbar_button(window, action):
    toolbar = window.findChild(QToolBar, "RunToolBar")
    return toolbar.widgetForAction(action)


@pytest.mark.parametrize("how", ["shortcut", "toolbar", "menu"])
def test_export_opens_for_the_selected_runs(qtbot, window, how):
    runs = [
        run_plan(
            window.db, short_run_request(window.db, "mock://nominal?rate=100&power=off")
        ).run_id
        for _ in range(2)
    ]
    _select_history_rows(qtbot, window, 2)
    assert sorted(window.history.selected_run_ids()) == sorted(runs)
    refused = when_modal(press_button(QMessageBox.StandardButton.Ok), kind=QMessageBox, tries=30)
    if how == "shortcut":
        window.activateWindow()
        QTest.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    elif how == "toolbar":
        qtbot.mouseClick(_toolbar_button(window, window.export_action), Qt.MouseButton.LeftButton)
    else:
        file_menu = window.menuBar().actions()[0].menu()
        assert window.export_action in file_menu.actions()
        window.export_action.trigger()
    qtbot.waitUntil(lambda: bool(_export_dialogs()) or bool(refused), timeout=5_000)
    assert not refused, "Export answered 'nothing to export' with runs selected"
    (dialog,) = _export_dialogs()
    assert sorted(dialog.run_ids) == sorted(runs)
    dialog.reject()


def test_export_shortcut_takes_the_finished_run_on_screen(qtbot, window):
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000) as finished:
        window.start_request(short_run_request(window.db, "mock://nominal?rate=100&power=off"))
    refused = when_modal(press_button(QMessageBox.StandardButton.Ok), kind=QMessageBox, tries=30)
    QTest.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(_export_dialogs()) or bool(refused), timeout=5_000)
    assert not refused
    (dialog,) = _export_dialogs()
    assert dialog.run_ids == [finished.args[0].run_id]
    dialog.reject()


def test_abort_asks_and_escape_keeps_the_run_going(qtbot, window):
    plan_request = short_run_request(window.db, "mock://nominal?rate=100")
    with qtbot.waitSignal(window.controller.run_started, timeout=10_000):
        window.start_request(plan_request)
    # Shift+F5 asks; Escape answers "keep going".
    asked = when_modal(press_key(Qt.Key.Key_Escape), kind=QMessageBox)
    QTest.keyClick(window, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: bool(asked), timeout=5_000)
    assert "Abort run" in asked[0]
    assert window.controller.running and not window.controller._stop.is_set()
    # The Run menu's item asks too; Cancel keeps going.
    asked = when_modal(press_button(QMessageBox.StandardButton.Cancel), kind=QMessageBox)
    window.abort_action.trigger()
    qtbot.waitUntil(lambda: bool(asked), timeout=5_000)
    assert window.controller.running and not window.controller._stop.is_set()
    # The toolbar button asks; Abort ends the run as aborted, its data kept.
    asked = when_modal(press_button(QMessageBox.StandardButton.Abort), kind=QMessageBox)
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000) as finished:
        qtbot.mouseClick(_toolbar_button(window, window.abort_action), Qt.MouseButton.LeftButton)
    assert asked and finished.args[0].status == "aborted"
    assert run_store.get_run(window.db, finished.args[0].run_id).sample_count > 0
