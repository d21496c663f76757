from __future__ import annotations

import gc

import pytest
from PySide6.QtCore import QSettings

from labbench.storage import open_database
from labbench.ui.app import collect_garbage_on_gui_thread
from labbench.ui.main_window import MainWindow


@pytest.fixture(scope="session", autouse=True)
def garbage_collected_on_gui_thread(qapp):
    """As in the app: cycles holding Qt objects are freed on the GUI thread only, never on a
    worker or reader thread a test started (which crashes Qt)."""
    collect_garbage_on_gui_thread(qapp)
    yield
    gc.enable()


@pytest.fixture(autouse=True)
def collect_cycles_after_each_test(qapp):
    """Each test's garbage is collected here, on the GUI thread, before the next one starts."""
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def isolated_qsettings(tmp_path, qapp):
    """QSettings in a temporary folder: tests never touch the developer's real settings."""
    qapp.setOrganizationName("labbench-tests")
    qapp.setApplicationName("labbench")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings")
    )
    yield
    QSettings().clear()


@pytest.fixture
def db(tmp_path):
    database = open_database(str(tmp_path / "gui.sqlite3"))
    yield database
    database.dispose()


def _end_run(win: MainWindow) -> None:
    win.controller.abort()
    win.controller.join(30)


@pytest.fixture
def window(qtbot, db):
    win = MainWindow(db)
    # pytest-qt closes the window before this fixture's teardown; a run still going then (a
    # test that failed mid-run) would ask "Abort the run?" in a modal box nobody answers.
    qtbot.addWidget(win, before_close_func=_end_run)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.controller.abort()
    win.controller.join(30)
    win.history.shutdown()
    win.failures.shutdown()
    win.inventory.shutdown()
    win.compare.shutdown()
    win.analytics.shutdown()
    win.bench.shutdown()
