"""Starting the desktop app: QApplication, database, crash handling, main window."""

from __future__ import annotations

import logging
import os
import sys
import traceback

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from labbench import __version__, paths
from labbench.storage import DatabaseError, open_database
from labbench.storage.runs import mark_interrupted_runs

log = logging.getLogger(__name__)

APP_ID = "org.labbench.Labbench"
# The GUI thread shares the interpreter lock with every rig's reader, writer and simulation
# threads.  With Python's default 5 ms switch interval, a few busy threads keep the GUI
# waiting for the lock for 50-120 ms at 2 x 20 k lines/s (measured on 2 cores); at 1 ms the
# longest wait stays well under a frame.
GIL_SWITCH_INTERVAL_S = 0.001


def keep_gui_responsive() -> None:
    """Let the GUI thread get the interpreter lock back quickly from busy worker threads."""
    if sys.getswitchinterval() > GIL_SWITCH_INTERVAL_S:
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


# Python's cyclic garbage collector runs in whichever thread happens to allocate.  When it
# frees a cycle that holds a Qt object (a widget's bound method kept by a worker's closure, a
# timer in a cycle), the object is destroyed on a reader or worker thread and Qt crashes
# (seen as rare segfaults while a window closed with work in flight).  So automatic collection
# is switched off and cycles are collected on the GUI thread on a timer, by pyqtgraph's own
# collector built for this.  Reference counting still frees everything else at once.
GUI_GC_INTERVAL_S = 0.5


def collect_garbage_on_gui_thread(app: QApplication) -> None:
    """Move cyclic garbage collection to the GUI thread for the life of ``app``."""
    if getattr(app, "_labbench_gc", None) is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        app._labbench_gc = GarbageCollector(interval=GUI_GC_INTERVAL_S)


def make_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    collect_garbage_on_gui_thread(app)
    app.setApplicationName("labbench")
    app.setOrganizationName("labbench")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    icon = paths.resources_dir() / "icons" / "labbench.svg"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def install_crash_handler(window) -> None:
    """An exception in the GUI: logged to the user log directory, shown with copyable
    details, and the active run ended as error with its data kept."""
    log_path = paths.user_log_dir() / "labbench.log"

    def handler(kind, value, tb):
        details = "".join(traceback.format_exception(kind, value, tb))
        try:
            with open(log_path, "a", encoding="utf-8") as f:
                f.write(f"--- unhandled exception in labbench {__version__}\n{details}\n")
        except OSError:
            pass
        log.error("unhandled exception: %s", details)
        controller = getattr(window, "controller", None)
        if controller is not None and controller.running:
            controller.fail(f"labbench hit an error: {kind.__name__}: {value}")
        box = QMessageBox(window)
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle("labbench hit an error")
        box.setText(
            f"{kind.__name__}: {value}\n\nThe active run (if any) was ended as error; its data is "
            f"kept.\nDetails are in {log_path}."
        )
        box.setDetailedText(details)
        box.open()
        window.last_crash_box = box

    sys.excepthook = handler


class _FirstPaint(QObject):
    """With LABBENCH_EXIT_AFTER_FIRST_PAINT=1: print 'first-paint' when the main window has
    painted once, then quit (benchmarks/launch.py times launch to first paint this way)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window

    def eventFilter(self, obj, event) -> bool:
        if (
            event.type() == QEvent.Type.Paint
            and isinstance(obj, QWidget)
            and obj.window() is self.window
        ):
            print("first-paint", flush=True)  # noqa: T201 - the launch benchmark reads it
            QApplication.instance().removeEventFilter(self)
            QTimer.singleShot(0, QApplication.instance().quit)
        return False


def run_app(db_target: str | None = None, demo: bool = False) -> int:
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
    interrupted = mark_interrupted_runs(db)
    window = MainWindow(db, demo=demo)
    install_crash_handler(window)
    if os.environ.get("LABBENCH_EXIT_AFTER_FIRST_PAINT") == "1":
        app.installEventFilter(_FirstPaint(window))
    demo_run = QTimer(window)  # the window's: it never fires once the app has ended
    if demo:
        from labbench.ui.demo_run import DEMO_RUN_DELAY_MS, start_demo_run

        # The demo's sled run, once the window is up: launch to first paint is not held up.
        demo_run.setSingleShot(True)
        demo_run.timeout.connect(lambda: start_demo_run(window))
        demo_run.start(DEMO_RUN_DELAY_MS)
    window.show()
    if interrupted:
        QTimer.singleShot(
            0,
            lambda: window.statusBar().showMessage(
                f"Marked interrupted (their process died, data kept): runs "
                f"{', '.join(map(str, interrupted))}",
                15000,
            ),
        )
    try:
        return app.exec()
    finally:
        demo_run.stop()
        sys.excepthook = sys.__excepthook__
        db.dispose()
