"""The bench: rigs on this workstation (serial ports as they come and go, plus simulated
rigs), a profile, connect / disconnect, and each rig's link state; several rigs at once.

A connected rig records into a run of its own (``recorded``), so nothing it says is lost."""

from __future__ import annotations

import getpass
import socket
from typing import Optional

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from labbench.acquisition.monitor import RigMonitor
from labbench.devices.simulation import SCENARIOS
from labbench.devices.transport import DeviceError, list_ports
from labbench.protocols.profile import ProfileError, available_profiles, load_profile
from labbench.storage import Database
from labbench.storage import repository as repo
from labbench.ui.history import Loader

# Ports come and go (USB adapters): look every 2 s, on a worker thread.
PORT_SCAN_MS = 2000
COLUMNS = ("Rig", "Description", "State", "Samples/s", "Run")


class BenchView(QWidget):
    rigs_changed = Signal()
    connected = Signal(str, int)  # device, run id
    disconnected = Signal(str)

    def __init__(self, db: Database, parent=None):
        super().__init__(parent)
        self.db = db
        self.loader = Loader(self)
        self.monitors: dict[str, RigMonitor] = {}
        self._ports: list[tuple[str, str, str]] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.profile = QComboBox()
        self.profile.addItems(sorted(available_profiles()))
        self.profile.setCurrentText("default")
        self.dut = QLineEdit()
        self.dut.setPlaceholderText("DUT serial the recording belongs to")
        self.connect_button = QPushButton("Connect")
        self.connect_button.clicked.connect(self._on_connect)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.clicked.connect(self._on_disconnect)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Profile", self.profile)
        form.addRow("DUT", self.dut)
        buttons = QHBoxLayout()
        buttons.addWidget(self.connect_button)
        buttons.addWidget(self.disconnect_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.table, 1)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        self.scan_timer = QTimer(self)
        self.scan_timer.setInterval(PORT_SCAN_MS)
        self.scan_timer.timeout.connect(self.scan_ports)
        self.state_timer = QTimer(self)
        self.state_timer.setInterval(1000)
        self.state_timer.timeout.connect(self._refresh_states)
        self._rebuild()
        self.scan_ports()
        self.scan_timer.start()
        self.state_timer.start()

    def devices(self) -> list[str]:
        return [self.table.item(row, 0).text() for row in range(self.table.rowCount())]

    def scan_ports(self) -> None:
        self.loader.submit(list_ports, self._on_ports)

    def _on_ports(self, ports) -> None:
        if isinstance(ports, Exception) or ports == self._ports:
            return
        self._ports = ports
        self._rebuild()
        self.rigs_changed.emit()

    def _rebuild(self) -> None:
        selected = self.selected_device()
        rows = [(d, desc) for d, desc, _ in self._ports] + [(f"mock://{s}", "simulated rig") for s in SCENARIOS]
        rows += [(d, "connected") for d in self.monitors if d not in {r[0] for r in rows}]
        self.table.setRowCount(len(rows))
        for row, (device, description) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(device))
            self.table.setItem(row, 1, QTableWidgetItem(description))
            for column in (2, 3, 4):
                self.table.setItem(row, column, QTableWidgetItem(""))
            if device == selected:
                self.table.selectRow(row)
        self._refresh_states()

    def selected_device(self) -> Optional[str]:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.table.item(rows[0].row(), 0).text() if rows else None

    def select_device(self, device: str) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).text() == device:
                self.table.selectRow(row)
                return
        self.table.insertRow(self.table.rowCount())  # a device typed by hand (socket://…)
        row = self.table.rowCount() - 1
        for column, text in enumerate((device, "added by hand", "", "", "")):
            self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.selectRow(row)

    def _refresh_states(self) -> None:
        for row in range(self.table.rowCount()):
            device = self.table.item(row, 0).text()
            monitor = self.monitors.get(device)
            if monitor is None or monitor.acquisition is None:
                state, rate, run = "idle", "", ""
            else:
                stats = monitor.acquisition.stats
                state, rate, run = stats.link, f"{stats.sample_rate:,.0f}", str(monitor.run_id)
            for column, text in ((2, state), (3, rate), (4, run)):
                self.table.item(row, column).setText(text)

    def connect_device(self, device: str, serial: str) -> Optional[int]:
        if device in self.monitors:
            self.message.setText(f"{device} is already connected.")
            return None
        dut = repo.find_dut(self.db, serial.strip()) if serial.strip() else None
        if dut is None:
            self.message.setText(f"Register the DUT {serial!r} first (Start run or Inventory)." if serial.strip() else "Enter the DUT serial first.")
            return None
        try:
            profile = load_profile(self.profile.currentText())
            monitor = RigMonitor(self.db, device, dut, profile, operator=getpass.getuser(), station=socket.gethostname())
            run_id = monitor.connect()
        except (DeviceError, ProfileError) as exc:
            self.message.setText(str(exc))
            return None
        self.monitors[device] = monitor
        self.message.setText(f"{device}: recording into run {run_id}.")
        if device not in self.devices():
            self._rebuild()
        self._refresh_states()
        self.connected.emit(device, run_id)
        return run_id

    def disconnect_device(self, device: str) -> bool:
        monitor = self.monitors.pop(device, None)
        if monitor is None:
            return False
        stats = monitor.disconnect()
        self.message.setText(f"{device}: disconnected; run {monitor.run_id} kept {stats.samples:,} samples.")
        self._refresh_states()
        self.disconnected.emit(device)
        return True

    def _on_connect(self) -> None:
        device = self.selected_device()
        if device is None:
            QMessageBox.information(self, "No rig selected", "Select a rig in the list first.")
            return
        self.connect_device(device, self.dut.text())

    def _on_disconnect(self) -> None:
        device = self.selected_device()
        if device is not None:
            self.disconnect_device(device)

    def shutdown(self) -> None:
        self.scan_timer.stop()
        self.state_timer.stop()
        for device in list(self.monitors):
            self.disconnect_device(device)
        self.loader.shutdown()
