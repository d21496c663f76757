"""The bench: rigs listed (ports as they come and go, simulated rigs), several connected at
once, link state shown, recordings kept as runs; connecting and disconnecting never freeze
the window."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from labbench.storage import inventory as inventory_store
from labbench.storage import open_database
from labbench.storage import runs as run_store
from labbench.storage.telemetry_read import read_channel
from labbench.ui import bench as bench_module
from labbench.ui.bench import BenchView


@pytest.fixture
def db(tmp_path):
    database = open_database(str(tmp_path / "bench.sqlite3"))
    yield database
    database.dispose()


@pytest.fixture
def view(qtbot, db):
    widget = BenchView(db)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()


def _add_and_select(view, device: str) -> None:
    QTest.keyClicks(view.add_edit, device)
    QTest.keyClick(view.add_edit, Qt.Key.Key_Return)
    assert view.selected_device() == device


def _connect(qtbot, view, device: str, serial: str) -> int:
    _add_and_select(view, device)
    view.dut.setText(serial)
    with qtbot.waitSignal(
        view.connected, timeout=10_000, check_params_cb=lambda d, _: d == device
    ) as connected:
        qtbot.mouseClick(view.connect_button, Qt.MouseButton.LeftButton)
    return connected.args[1]


def _disconnect(qtbot, view, device: str) -> None:
    _add_and_select(view, device)
    with qtbot.waitSignal(view.disconnected, timeout=30_000, check_params_cb=lambda d: d == device):
        qtbot.mouseClick(view.disconnect_button, Qt.MouseButton.LeftButton)


def test_ports_come_and_go(qtbot, db, monkeypatch):
    ports = [("/dev/ttyUSB0", "FT232R USB UART", "USB VID:PID=0403:6001")]
    monkeypatch.setattr(bench_module, "list_ports", lambda: list(ports))
    view = BenchView(db)  # its first scan sees the patched list
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.devices()[0] == "/dev/ttyUSB0", timeout=5_000)
    assert view.devices()[0] == "/dev/ttyUSB0" and "mock://nominal" in view.devices()
    ports.clear()
    with qtbot.waitSignal(view.rigs_changed, timeout=5_000):
        view.scan_ports()
    assert "/dev/ttyUSB0" not in view.devices()
    view.shutdown()


def test_two_rigs_at_once_with_link_state(qtbot, view, db):
    inventory_store.add_dut(db, "chip", "CHP-B1")
    first = _connect(qtbot, view, "mock://nominal?rate=200", "CHP-B1")
    second = _connect(qtbot, view, "mock://disconnect?rate=200&at=0.3&gap=0.5", "CHP-B1")
    assert first and second and first != second
    _add_and_select(view, "mock://nominal?rate=200")
    assert view.connect_device("mock://nominal?rate=200", "CHP-B1") is False  # already connected
    assert "already connected" in view.message.text()
    qtbot.waitUntil(
        lambda: view.monitors["mock://disconnect?rate=200&at=0.3&gap=0.5"].stats.reconnects == 1,
        timeout=10_000,
    )
    view._refresh_states()
    row = view.devices().index("mock://disconnect?rate=200&at=0.3&gap=0.5")
    assert view.table.item(row, 2).text() == "connected" and view.table.item(row, 4).text() == str(
        second
    )
    _disconnect(qtbot, view, "mock://nominal?rate=200")
    _disconnect(qtbot, view, "mock://disconnect?rate=200&at=0.3&gap=0.5")
    for run_id in (first, second):
        run = run_store.get_run(db, run_id)
        assert run.status == "recorded" and run.sample_count > 0
    _, seq = read_channel(db, second, "seq")
    assert seq.size > 50


def test_connect_needs_a_known_dut_and_a_real_rig(qtbot, view, db):
    assert view.connect_device("mock://nominal", "") is False and "serial" in view.message.text()
    with qtbot.waitSignal(view.connect_failed, timeout=10_000):
        assert view.connect_device("mock://nominal", "NOPE") is True
    assert "Register" in view.message.text()
    inventory_store.add_dut(db, "chip", "CHP-B2")
    with qtbot.waitSignal(view.connect_failed, timeout=10_000):
        view.connect_device("/dev/ttyNOPE0", "CHP-B2")
    assert "/dev/ttyNOPE0" in view.message.text()
    assert run_store.list_runs(db) == []
