"""`labbench --demo` records a power-sequencing run in the background once the window is up,
then runs its sled run through the window's own run controller (History reloads when it
ends)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QTimer
from PySide6.QtWidgets import QApplication

from labbench import cli
from labbench.storage import history as history_store
from labbench.ui.demo_run import DEMO_SLED_DEVICE
from labbench.ui.main_window import MainWindow


def test_the_demo_window_records_its_sled_run(qapp, isolated_user_dirs):
    seen: dict = {}

    def watch():
        for window in QApplication.topLevelWidgets():
            if isinstance(window, MainWindow) and window.isVisible():
                seen["idle at first"] = not window.controller.running

                def finished(outcome, window=window):
                    seen["outcome"] = outcome
                    seen["device"] = window.controller.request.device
                    seen["plans"] = sorted(row.plan for row in history_store.query_runs(window.db))
                    window.close()
                    qapp.quit()

                window.controller.run_finished.connect(finished)

    QTimer.singleShot(0, watch)
    guard = QTimer()  # never hang the suite
    guard.setSingleShot(True)
    guard.timeout.connect(qapp.quit)
    guard.start(60_000)
    try:
        assert cli.main(["--demo"]) == 0
    finally:
        # Neither the guard nor a Quit event that quit() posted after the window's closing had
        # already ended the app's loop may end a later test's wait (Qt 6 posts it).
        guard.stop()
        QCoreApplication.removePostedEvents(None, QEvent.Type.Quit)
    assert seen["idle at first"], "the run starts after the window is up, not before"
    assert seen["device"] == DEMO_SLED_DEVICE
    assert seen["outcome"].status in ("failed", "error")  # failed once judged per chip
    # A finished power-sequencing run was recorded first, in the background.
    assert seen["plans"] == ["power-sequencing", "sled-chips"]
