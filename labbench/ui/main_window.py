"""The main window: menus, status bar and the panels of the workbench."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from labbench import __version__
from labbench.storage import Database
from labbench.storage import repository as repo


class MainWindow(QMainWindow):
    def __init__(self, db: Database, *, demo: bool = False):
        super().__init__()
        self.db = db
        self.setObjectName("MainWindow")
        self.setWindowTitle(f"labbench — {db.describe()}" + (" (demo)" if demo else ""))
        self.resize(1280, 800)
        self._build_actions()
        self._build_menus()
        self._build_central()
        self._build_status_bar()

    def _build_actions(self) -> None:
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)
        self.about_action = QAction("&About labbench", self)
        self.about_action.triggered.connect(self._on_about)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.about_action)

    def _build_central(self) -> None:
        counts = repo.counts(self.db, ("duts", "runs"))
        central = QWidget(self)
        layout = QVBoxLayout(central)
        self.summary_label = QLabel(
            f"<h2>labbench {__version__}</h2>"
            f"<p>Database: <b>{self.db.describe()}</b></p>"
            f"<p>{counts['duts']} DUTs registered, {counts['runs']} runs recorded.</p>",
            central,
        )
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.summary_label)
        self.setCentralWidget(central)

    def _build_status_bar(self) -> None:
        self.db_status = QLabel(f"DB: {self.db.describe()}", self)
        self.statusBar().addPermanentWidget(self.db_status)

    def _on_about(self) -> None:
        QMessageBox.about(self, "About labbench", f"labbench {__version__}\nSilicon bring-up workbench.")
