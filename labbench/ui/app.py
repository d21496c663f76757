"""Starting the desktop app: QApplication, database, main window."""

from __future__ import annotations

import sys
from typing import Optional

from PySide6.QtWidgets import QApplication, QMessageBox

from labbench import __version__
from labbench.storage import DatabaseError, open_database

APP_ID = "org.labbench.Labbench"


def make_application(argv: Optional[list[str]] = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("labbench")
    app.setOrganizationName("labbench")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    return app


def run_app(db_target: Optional[str] = None, demo: bool = False) -> int:
    from labbench.ui.main_window import MainWindow

    app = make_application()
    try:
        if demo:
            from labbench.demo import open_demo_database

            db = open_demo_database()
        else:
            db = open_database(db_target)
    except DatabaseError as exc:
        QMessageBox.critical(None, "labbench cannot open its database", str(exc))
        raise
    window = MainWindow(db, demo=demo)
    window.show()
    try:
        return app.exec()
    finally:
        db.dispose()
