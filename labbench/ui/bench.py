"""The bench: rigs on this workstation (serial ports as they come and go, plus simulated
rigs), a profile, connect / disconnect, and each rig's link state; several rigs at once.

A connected rig records into a run of its own (``recorded``), so nothing it says is lost.
Connecting and disconnecting happen on worker threads: opening a port, creating the run and
joining a rig's reader and writer threads can take seconds (a hung USB adapter, longer), and
the window must not freeze meanwhile."""

from __future__ import annotations

import getpass
import logging
import socket
from collections.abc import Callable

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

from labbench.devices.simulation import SCENARIOS
from labbench.devices.transport import DeviceError, list_ports
from labbench.protocols.profile import ProfileError, available_profiles, load_profile
from labbench.runs.recording import RigMonitor
from labbench.storage import Database, RecordError
from labbench.storage import inventory as inventory_store
from labbench.ui.loader import Loader

log = logging.getLogger(__name__)

# Ports come and go (USB adapters): look every 2 s, on a worker thread.
PORT_SCAN_MS = 2000
# Rigs connect and disconnect on their own workers, so one slow rig does not hold up another.
RIG_WORKERS = 4
COLUMNS = ("Rig", "Description", "State", "Samples/s", "Run")


class BenchView(QWidget):
    rigs_changed = Signal()
    connected = Signal(str, int)  # device, run id
    connect_failed = Signal(str, str)  # device, one sentence
    disconnected = Signal(str)
    selection_changed = Signal(str)  # the device selected ("" for none)
    watch_requested = Signal(str)  # show this recording rig's live plots and console

    def __init__(self, db: Database, parent=None):
        super().__init__(parent)
        self.db = db
        self.loader = Loader(self)
        self.rig_worker = Loader(self, workers=RIG_WORKERS, name="labbench-bench-rig")
        self.monitors: dict[str, RigMonitor] = {}
        self.busy: dict[str, str] = {}  # device -> "connecting…" / "disconnecting…"
        self._after_disconnect: dict[str, list[Callable[[], None]]] = {}
        self._ports: list[tuple[str, str, str]] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.table.cellActivated.connect(lambda *_: self._on_watch())
        self.table.cellDoubleClicked.connect(lambda *_: self._on_watch())
        self.profile = QComboBox()
        self.profile.addItems(sorted(available_profiles()))
        self.profile.setCurrentText("default")
        self.add_edit = QLineEdit()
        self.add_edit.setPlaceholderText(
            "Another rig: socket://host:port, rfc2217://…, mock://…, then Enter"
        )
        self.add_edit.returnPressed.connect(self._on_add_rig)
        self.dut = QLineEdit()
        self.dut.setPlaceholderText("DUT serial the recording belongs to")
        self.connect_button = QPushButton("Connect")
        self.connect_button.clicked.connect(self._on_connect)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.clicked.connect(self._on_disconnect)
        self.watch_button = QPushButton("Watch")
        self.watch_button.setToolTip(
            "Show the selected rig's live plots and console (or double-click the rig)"
        )
        self.watch_button.clicked.connect(self._on_watch)
        self.watch_button.setEnabled(False)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Add rig", self.add_edit)
        form.addRow("Profile", self.profile)
        form.addRow("DUT", self.dut)
        buttons = QHBoxLayout()
        buttons.addWidget(self.connect_button)
        buttons.addWidget(self.disconnect_button)
        buttons.addWidget(self.watch_button)
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
        rows = [(d, desc) for d, desc, _ in self._ports] + [
            (f"mock://{s}", "simulated rig") for s in SCENARIOS
        ]
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

    def selected_device(self) -> str | None:
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
            if device in self.busy:
                state, rate, run = self.busy[device], "", ""
            elif monitor is None or monitor.run_id is None:
                state, rate, run = "idle", "", ""
            else:
                stats = monitor.stats
                state, rate, run = stats.link, f"{stats.sample_rate:,.0f}", str(monitor.run_id)
            for column, text in ((2, state), (3, rate), (4, run)):
                self.table.item(row, column).setText(text)

    def connect_device(self, device: str, serial: str) -> bool:
        """Start connecting ``device`` for the DUT ``serial`` on a worker; ``connected`` or
        ``connect_failed`` tells how it went.  False if it cannot even start."""
        serial = serial.strip()
        if device in self.monitors or device in self.busy:
            self.message.setText(
                f"{device} is already connected."
                if device in self.monitors
                else f"{device} is {self.busy[device]}"
            )
            return False
        if not serial:
            self.message.setText("Enter the DUT serial first.")
            return False
        try:
            profile = load_profile(self.profile.currentText())
        except ProfileError as exc:
            self.message.setText(str(exc))
            return False
        self.busy[device] = "connecting…"
        self.message.setText(f"{device}: connecting…")
        if device not in self.devices():
            self._rebuild()
        self._refresh_states()
        operator, station = getpass.getuser(), socket.gethostname()

        def work():
            dut = inventory_store.find_dut(self.db, serial)
            if dut is None:
                raise LookupError(f"Register the DUT {serial!r} first (Start run or Inventory).")
            monitor = RigMonitor(self.db, device, dut, profile, operator=operator, station=station)
            monitor.connect()
            return monitor

        self.rig_worker.submit(work, lambda result: self._on_connected(device, result))
        return True

    def _on_connected(self, device: str, result) -> None:
        self.busy.pop(device, None)
        if isinstance(result, Exception):
            message = (
                str(result)
                if isinstance(result, (DeviceError, LookupError, RecordError))
                else f"{device}: {type(result).__name__}: {result}"
            )
            self.message.setText(message)
            self._refresh_states()
            self.connect_failed.emit(device, message)
            return
        self.monitors[device] = result
        self.message.setText(
            f"{device}: recording into run {result.run_id}. "
            "Watch (or double-click) shows its plots."
        )
        self.watch_button.setEnabled(self.selected_device() in self.monitors)
        self._refresh_states()
        self.connected.emit(device, result.run_id)

    def disconnect_device(self, device: str, then: Callable[[], None] | None = None) -> bool:
        """Stop recording ``device`` on a worker (its threads are joined there, never on the
        GUI thread); ``disconnected`` follows, then ``then`` is called on the GUI thread."""
        monitor = self.monitors.pop(device, None)
        if monitor is None:
            return False
        self.busy[device] = "disconnecting…"
        if then is not None:
            self._after_disconnect.setdefault(device, []).append(then)
        self._refresh_states()
        self.rig_worker.submit(
            monitor.disconnect, lambda stats: self._on_disconnected(device, monitor, stats)
        )
        return True

    def _on_disconnected(self, device: str, monitor: RigMonitor, stats) -> None:
        self.busy.pop(device, None)
        if isinstance(stats, Exception):
            self.message.setText(f"{device}: disconnecting failed: {stats}")
        else:
            self.message.setText(
                f"{device}: disconnected; run {monitor.run_id} kept {stats.samples:,} samples."
            )
        self._refresh_states()
        self.disconnected.emit(device)
        for callback in self._after_disconnect.pop(device, []):
            callback()

    def _on_selection_changed(self) -> None:
        device = self.selected_device() or ""
        self.watch_button.setEnabled(device in self.monitors)
        self.selection_changed.emit(device)

    def _on_watch(self) -> None:
        """Watching is asked for (button, double-click, Enter), not implied by selecting: a
        fast rig's plots take a moment to build, and selecting a rig to disconnect it should
        not cost that."""
        device = self.selected_device()
        if device in self.monitors:
            self.watch_requested.emit(device)

    def _on_add_rig(self) -> None:
        device = self.add_edit.text().strip()
        if device:
            self.select_device(device)
            self.add_edit.clear()

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
        """On closing: every recording ends and is kept; waits for the workers."""
        self.scan_timer.stop()
        self.state_timer.stop()
        for device in list(self.monitors):
            self.disconnect_device(device)
        self.rig_worker.shutdown(cancel_pending=False)
        self.loader.shutdown()
