"""`labbench` with no arguments opens the main window on the default database."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from labbench import cli
from labbench.storage import open_database, repository as repo
from labbench.ui.main_window import MainWindow


def test_main_window_shows_database_and_counts(qtbot, tmp_path):
    db = open_database(str(tmp_path / "w.sqlite3"))
    repo.add_dut(db, "chip", "CHP-W")
    window = MainWindow(db)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert str(tmp_path / "w.sqlite3") in window.windowTitle()
    assert "1 DUTs registered" in window.summary_label.text()
    assert window.db_status.text().startswith("DB: ")
    window.close()
    db.dispose()


def test_cli_without_arguments_opens_main_window(qapp, isolated_user_dirs):
    shown = []

    def _check_and_quit():
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        shown.extend(windows)
        for window in windows:
            window.close()
        qapp.quit()

    QTimer.singleShot(0, _check_and_quit)
    assert cli.main([]) == 0
    assert len(shown) == 1
    assert "labbench.sqlite3" in shown[0].windowTitle()
    assert (isolated_user_dirs / "data" / "labbench" / "labbench.sqlite3").exists()


def test_demo_opens_seeded_scratch_database(qapp, isolated_user_dirs):
    titles = []

    def _check_and_quit():
        for window in QApplication.topLevelWidgets():
            if isinstance(window, MainWindow) and window.isVisible():
                titles.append((window.windowTitle(), window.summary_label.text()))
                window.close()
        qapp.quit()

    QTimer.singleShot(0, _check_and_quit)
    assert cli.main(["--demo"]) == 0
    assert len(titles) == 1 and "(demo)" in titles[0][0]
    assert "7 DUTs registered" in titles[0][1]
    # The demo never touches the user's own database.
    assert not (isolated_user_dirs / "data" / "labbench" / "labbench.sqlite3").exists()
