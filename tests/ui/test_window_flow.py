"""The window around the run: a first window that says what to do, bench rigs that can be
watched, a DUT's runs that open from the Inventory, the keys listed in Help, and a layout
that fits a 1280 x 720 laptop."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtTest import QTest

from labbench.runs.sequencer import run_plan
from labbench.storage import inventory as inventory_store
from labbench.ui.main_window import MainWindow
from labbench.ui.shortcuts import ShortcutsDialog

from .runs import short_run_request


def test_first_window_says_what_to_do_first(qtbot, db):
    win = MainWindow(db, demo=True)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    assert "press F5" in win.live.banner.text()
    assert (
        "Start run" in win.live.step_label.text() and "mock://nominal" in win.live.step_label.text()
    )
    win.history.shutdown()
    win.failures.shutdown()
    win.inventory.shutdown()
    win.compare.shutdown()
    win.bench.shutdown()


def test_a_recording_bench_rig_shows_its_plots_and_console_on_double_click(qtbot, window):
    inventory_store.add_dut(window.db, "chip", "CHP-WATCH")
    bench = window.bench
    window.bench_dock.toggleViewAction().trigger()
    device = "mock://nominal?rate=200"
    QTest.keyClicks(bench.add_edit, device)
    QTest.keyClick(bench.add_edit, Qt.Key.Key_Return)
    QTest.keyClicks(bench.dut, "CHP-WATCH")
    with qtbot.waitSignal(bench.connected, timeout=10_000):
        qtbot.mouseClick(bench.connect_button, Qt.MouseButton.LeftButton)
    row = bench.devices().index(device)
    cell = bench.table.visualItemRect(bench.table.item(row, 0)).center()
    qtbot.mouseClick(bench.table.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    assert bench.watch_button.isEnabled()
    qtbot.mouseDClick(bench.table.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    watch = window.bench_watch
    assert window.central_tabs.currentWidget() is watch and watch.device == device
    assert window.central_tabs.tabText(window.central_tabs.indexOf(watch)) == f"Bench: {device}"
    qtbot.waitUntil(
        lambda: len(watch.view.plots.data.get("vdd_core", ([], []))[0]) > 20, timeout=10_000
    )
    assert "RECORDING" in watch.view.banner.text()
    # the rig answers commands on its console: its lines show up in the watched console
    monitor = bench.monitors[device]
    monitor.send("STATUS?")
    qtbot.waitUntil(lambda: "STATUS PWR" in watch.console.text.toPlainText(), timeout=10_000)
    with qtbot.waitSignal(bench.disconnected, timeout=30_000):
        qtbot.mouseClick(bench.disconnect_button, Qt.MouseButton.LeftButton)
    assert (
        window.central_tabs.indexOf(watch) < 0
        and window.central_tabs.currentWidget() is window.live
    )


def test_a_duts_runs_open_on_double_click_in_the_inventory(qtbot, window):
    outcome = run_plan(
        window.db, short_run_request(window.db, "mock://nominal?rate=100&power=off", "CHP-INV")
    )
    inventory = window.inventory
    window.inventory_dock.show()
    window.inventory_dock.raise_()
    # The window's own first load may still be on its way (it predates this DUT): wait for
    # the tree that holds it, not for whichever load finishes first.
    inventory.refresh()
    qtbot.waitUntil(lambda: inventory.find_item("CHP-INV") is not None, timeout=10_000)
    item = inventory.find_item("CHP-INV")
    with qtbot.waitSignal(inventory.dut_selected, timeout=10_000):
        inventory.tree.setCurrentItem(item)
    assert inventory.runs.rowCount() == 1
    cell = inventory.runs.visualItemRect(inventory.runs.item(0, 0)).center()
    qtbot.mouseClick(inventory.runs.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    qtbot.mouseDClick(inventory.runs.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    detail = window.history.detail
    qtbot.waitUntil(
        lambda: detail.run is not None and detail.run.id == outcome.run_id, timeout=10_000
    )
    assert window.history_dock.isVisible() and f"Run {outcome.run_id}" in detail.title.text()


def test_help_lists_every_key_including_the_plot_keys(qtbot, window):
    # the plot panels add their own actions by name; one stands in for them here
    follow = QAction("Pause / follow", window)
    follow.setObjectName("action_pause_follow")
    follow.setShortcut(QKeySequence("Space"))
    window.addAction(follow)
    help_menu = window.menuBar().actions()[3].menu()
    assert window.shortcuts_action in help_menu.actions()
    window.shortcuts_action.trigger()
    dialogs = [w for w in window.findChildren(ShortcutsDialog) if w.isVisible()]
    assert len(dialogs) == 1
    listed = {keys: what for what, keys in dialogs[0].listed()}
    assert (
        "Start run" in listed["F5"]
        and "Abort run" in listed["Shift+F5"]
        and "Export" in listed["Ctrl+E"]
    )
    assert "Pause / follow" in listed["Space"]
    dialogs[0].reject()


def test_fits_a_1280_by_720_laptop(qtbot, window):
    window.resize(1280, 720)
    assert window.minimumSizeHint().height() <= 680  # the title bar and the panel still fit
    qtbot.waitUntil(lambda: window.width() == 1280, timeout=5_000)
    assert window.console_dock.width() <= 1280 // 4  # not a third of the screen
    # History on top: the right panels widen so its filters and verdict column fit
    window.history_dock.show()
    window.history_dock.raise_()
    history = window.history
    qtbot.waitUntil(lambda: window.history_dock.width() >= 600, timeout=5_000)
    for field in (history.search, history.dut, history.plan, history.station):
        qtbot.waitUntil(
            lambda field=field: field.width() >= field.minimumSizeHint().width(), timeout=5_000
        )
    for combo in (history.verdict, history.days):
        assert combo.width() >= combo.sizeHint().width(), combo.currentText()
    table = history.table
    verdict_x = table.columnViewportPosition(5) + table.columnWidth(5)
    assert table.columnViewportPosition(5) >= 0 and verdict_x <= table.viewport().width()
    # Analytics on top (its shortcut): it widens most, yet the run view's first-run hint is
    # still read whole, not cut off under its own row
    QTest.keyClick(
        window,
        Qt.Key.Key_A,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    qtbot.waitUntil(lambda: window.analytics_dock.width() >= 800, timeout=5_000)
    hint = window.live.step_label
    qtbot.waitUntil(lambda: hint.height() >= hint.heightForWidth(hint.width()), timeout=5_000)
    assert window.centralWidget().width() >= 400
    # back to the console: the run view gets its room again
    window.console_dock.raise_()
    qtbot.waitUntil(lambda: window.console_dock.width() <= 1280 // 4, timeout=5_000)
