"""`labbench` with no arguments opens the main window; `--demo` a seeded scratch database."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from labbench import cli
from labbench.storage import history as history_store
from labbench.storage import open_database
from labbench.ui.main_window import MainWindow


def test_main_window_shows_database(qtbot, tmp_path):
    db = open_database(str(tmp_path / "w.sqlite3"))
    window = MainWindow(db)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert str(tmp_path / "w.sqlite3") in window.windowTitle()
    assert window.db_status.text() == f"DB: {tmp_path / 'w.sqlite3'}"
    assert {a.text() for a in window.menuBar().actions()} == {"&File", "&Run", "&View", "&Help"}
    assert window.start_action.shortcut().toString() == "F5"
    window.close()
    db.dispose()


def _open_and_quit(qapp, seen):
    def check():
        for window in QApplication.topLevelWidgets():
            if isinstance(window, MainWindow) and window.isVisible():
                seen.append(
                    (window.windowTitle(), history_store.counts(window.db, ("duts",))["duts"])
                )
                window.close()
        qapp.quit()

    QTimer.singleShot(0, check)


def test_cli_without_arguments_opens_main_window(qapp, isolated_user_dirs):
    seen = []
    _open_and_quit(qapp, seen)
    assert cli.main([]) == 0
    assert len(seen) == 1 and "labbench.sqlite3" in seen[0][0]
    assert (isolated_user_dirs / "data" / "labbench" / "labbench.sqlite3").exists()


def test_demo_opens_seeded_scratch_database(qapp, isolated_user_dirs):
    seen = []
    _open_and_quit(qapp, seen)
    assert cli.main(["--demo"]) == 0
    assert len(seen) == 1 and "(demo)" in seen[0][0] and seen[0][1] == 7
    # The demo never touches the user's own database.
    assert not (isolated_user_dirs / "data" / "labbench" / "labbench.sqlite3").exists()
