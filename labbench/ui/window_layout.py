"""The main window's layout: its docks, its size on the screen, panels that widen when raised,
and the layout saved and restored across restarts (Reset layout puts it back)."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QScrollArea, QWidget

# The console's default width: a log to glance at, not a third of a laptop screen.
CONSOLE_WIDTH = 300
# The least the run view keeps beside a widened History, Inventory, Compare or Analytics.
RUN_VIEW_MIN_WIDTH = 440


def results_height(window_height: int) -> int:
    """The results table's default height: a fifth of the window, 140 to 200 px.  At 720 px
    high, a fixed 200 px left the run view one plot's sliver under its banner and tiles."""
    return max(140, min(200, window_height // 5))


class WindowLayout:
    """The docking and layout half of ``MainWindow``."""

    _shown_once = False
    _layout_restored = False  # a layout saved by the user was put back

    def _dock(
        self, title: str, name: str, widget: QWidget, area, *, scroll: bool = False
    ) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)  # saveState() needs stable names
        if scroll:
            # A wide panel tabbed with the console must not force the console's width: it
            # scrolls when narrow and widens when raised (_widen_for).
            area_widget = QScrollArea()
            area_widget.setWidgetResizable(True)
            area_widget.setFrameShape(QScrollArea.Shape.NoFrame)
            area_widget.setWidget(widget)
            widget = area_widget
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _fit_to_screen(self) -> None:
        """1400 x 900 where there is room; on a laptop (1280 x 720), the screen's free area."""
        screen = self.screen().availableGeometry() if self.screen() else None
        width, height = 1400, 900
        if screen is not None:
            width, height = min(width, screen.width()), min(height, screen.height())
        self.resize(width, height)

    def _widen_for(self, dock: QDockWidget, share: float = 0.6) -> None:
        """History, Inventory and Compare need room for their filters and columns: the right
        panels take about 60% of the window while one of them is on top (Analytics, with its
        tables beside their plots, three quarters)."""
        if (
            self.dockWidgetArea(dock) == Qt.DockWidgetArea.RightDockWidgetArea
            and not dock.isFloating()
        ):
            # The run view keeps room for its banner and hint (a laptop's 1280 px included).
            wide = min(int(self.width() * share), self.width() - RUN_VIEW_MIN_WIDTH)
            self.resizeDocks([dock], [max(wide, 600)], Qt.Orientation.Horizontal)

    def _narrow_right(self) -> None:
        if (
            self.dockWidgetArea(self.console_dock) == Qt.DockWidgetArea.RightDockWidgetArea
            and not self.console_dock.isFloating()
        ):
            self.resizeDocks([self.console_dock], [CONSOLE_WIDTH], Qt.Orientation.Horizontal)

    def _fit_results(self) -> None:
        self.resizeDocks(
            [self.results_dock], [results_height(self.height())], Qt.Orientation.Vertical
        )

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shown_once:
            # Its size on screen is known now (a script may have resized it after __init__);
            # a layout the user saved keeps its own height.
            self._shown_once = True
            if not self._layout_restored:
                QTimer.singleShot(0, self._fit_results)  # once the window has laid out

    def _restore_layout(self) -> None:
        settings = QSettings()
        geometry = settings.value("ui/geometry")
        state = settings.value("ui/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self._layout_restored = bool(self.restoreState(state))
        for key, splitter in self._splitters().items():
            state = settings.value(f"ui/splitter/{key}")
            if state is not None:
                splitter.restoreState(state)

    def _splitters(self) -> dict:
        return {
            "history": self.history.splitter,
            "inventory": self.inventory.splitter,
            "compare": self.compare.splitter,
            "analytics": self.analytics.capability_split,
        }

    def save_layout(self) -> None:
        settings = QSettings()
        settings.setValue("ui/geometry", self.saveGeometry())
        settings.setValue("ui/state", self.saveState())
        for key, splitter in self._splitters().items():
            settings.setValue(f"ui/splitter/{key}", splitter.saveState())
        settings.sync()

    def reset_layout(self) -> None:
        self.restoreState(self._default_state)
        self._fit_results()
        for dock in (
            self.bench_dock,
            self.results_dock,
            self.console_dock,
            self.history_dock,
            self.inventory_dock,
            self.compare_dock,
            self.analytics_dock,
        ):
            dock.show()
        self.console_dock.raise_()
