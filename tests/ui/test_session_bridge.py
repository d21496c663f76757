"""A run started from the window (F5, scan, Start) reaches the widgets through the session
bridge: its signals carry the run's events on the GUI thread, in order, with one end."""

from __future__ import annotations

import threading

from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QInputDialog

from labbench.runs.events import ItemVerdictChanged, RunEnded
from labbench.storage import inventory as inventory_store
from labbench.ui.session_bridge import SessionBridge

from .dialogs import when_modal
from .test_start_flow import _open_start_dialog, _scan


def test_a_run_started_with_f5_drives_the_bridge_signals(qtbot, window):
    bridge = window.controller
    assert isinstance(bridge, SessionBridge)
    heard: list[tuple[str, object]] = []
    gui_thread = threading.current_thread()
    off_thread = []

    def hear(name):
        def slot(*args):
            if threading.current_thread() is not gui_thread:
                off_thread.append(name)
            heard.append((name, args[0] if args else None))

        return slot

    for name in (
        "run_started",
        "step_started",
        "item_verdict_changed",
        "manual_requested",
        "run_ended",
        "run_finished",
        "run_failed",
    ):
        getattr(bridge, name).connect(hear(name))
    QSettings().setValue("run/operator", "ana")
    QSettings().setValue("run/profile", "default")
    inventory_store.add_dut(window.db, "chip", "CHP-BRIDGE")
    dialog = _open_start_dialog(qtbot, window)
    dialog.device_combo.setCurrentText("mock://nominal?rate=200")
    _scan(qtbot, dialog, "CHP-BRIDGE")

    def answer_ok(box: QInputDialog) -> None:
        box.setTextValue("OK")
        box.accept()

    visual = when_modal(answer_ok, kind=QInputDialog, tries=1000)
    with qtbot.waitSignal(bridge.run_finished, timeout=30_000) as finished:
        QTest.keyClick(dialog.start_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10_000)
    outcome = finished.args[0]
    names = [name for name, _ in heard]
    assert visual and not off_thread
    assert names[0] == "run_started" and heard[0][1] == outcome.run_id
    assert names.count("run_ended") == 1 and names.count("run_finished") == 1
    assert "run_failed" not in names
    assert names[-2:] == ["run_ended", "run_finished"]
    steps = [arg for name, arg in heard if name == "step_started"]
    assert steps == list(range(len(outcome.steps)))
    verdicts = [arg for name, arg in heard if name == "item_verdict_changed"]
    assert verdicts and all(isinstance(v, ItemVerdictChanged) for v in verdicts)
    assert names.index("item_verdict_changed") > names.index("step_started")
    assert names.index("manual_requested") < names.index("run_ended")
    ended = heard[names.index("run_ended")][1]
    assert isinstance(ended, RunEnded) and ended.status == outcome.status == "passed"
    # the widgets followed the same signals
    assert "PASSED" in window.live.banner.text()
