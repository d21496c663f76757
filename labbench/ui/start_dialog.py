"""Starting a run: DUT (barcode-scanner friendly), plan with its steps and limits, operator,
station, rig and profile."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from labbench import paths
from labbench.devices.simulation import SCENARIOS
from labbench.devices.transport import list_ports
from labbench.protocols.profile import ProfileError, available_profiles, load_profile
from labbench.runs.plan import Plan, PlanError, load_plan
from labbench.runs.sequencer import RunRequest
from labbench.storage import Database
from labbench.storage import repository as repo
from labbench.ui.results_model import limits_text


def plan_files() -> list[Path]:
    found = sorted((paths.resources_dir() / "plans").glob("*.toml"))
    user = paths.user_config_dir() / "plans"
    if user.is_dir():
        found += sorted(user.glob("*.toml"))
    return found


class StartRunDialog(QDialog):
    def __init__(self, db: Database, parent=None, *, default_device: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Start a run")
        self.setMinimumWidth(640)
        self.db = db
        self.dut: Optional[repo.DutInfo] = None
        self.plan: Optional[Plan] = None
        settings = QSettings()

        self.serial_edit = QLineEdit()
        self.serial_edit.setPlaceholderText("Scan or type the serial number, then Enter")
        self.serial_edit.returnPressed.connect(self._on_serial_entered)
        self.dut_label = QLabel("No DUT selected")
        self.plan_combo = QComboBox()
        for path in plan_files():
            self.plan_combo.addItem(path.stem, str(path))
        self.plan_combo.currentIndexChanged.connect(self._on_plan_changed)
        open_button = QPushButton("Open…")
        open_button.clicked.connect(self._on_open_plan)
        self.plan_tree = QTreeWidget()
        self.plan_tree.setHeaderLabels(["Step / item", "Channel", "Limits", "Settle / hold"])
        self.plan_tree.setMinimumHeight(220)
        self.operator_edit = QLineEdit(settings.value("run/operator", ""))
        self.station_edit = QLineEdit(settings.value("run/station", socket.gethostname()))
        self.device_combo = QComboBox()
        self.device_combo.setEditable(True)
        for device, description, _ in list_ports():
            self.device_combo.addItem(f"{device}", device)
            self.device_combo.setItemData(self.device_combo.count() - 1, description, Qt.ItemDataRole.ToolTipRole)
        for scenario in SCENARIOS:
            self.device_combo.addItem(f"mock://{scenario}", f"mock://{scenario}")
        self.device_combo.setCurrentText(default_device or settings.value("run/device", "mock://nominal"))
        self.profile_combo = QComboBox()
        self.profile_combo.addItems(sorted(available_profiles()))
        self.profile_combo.setCurrentText(settings.value("run/profile", "default"))

        plan_row = QHBoxLayout()
        plan_row.addWidget(self.plan_combo, 1)
        plan_row.addWidget(open_button)
        form = QFormLayout()
        form.addRow("DUT serial", self.serial_edit)
        form.addRow("", self.dut_label)
        form.addRow("Plan", plan_row)
        form.addRow(self.plan_tree)
        form.addRow("Operator", self.operator_edit)
        form.addRow("Station", self.station_edit)
        form.addRow("Rig", self.device_combo)
        form.addRow("Profile", self.profile_combo)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self._on_plan_changed()
        self._update_ok()

    # --- DUT ------------------------------------------------------------------------------

    def _on_serial_entered(self) -> None:
        serial = self.serial_edit.text().strip()
        if not serial:
            return
        dut = repo.find_dut(self.db, serial)
        if dut is None:
            kind = self.ask_register(serial)
            if kind is None:
                self.serial_edit.selectAll()
                return
            dut = repo.add_dut(self.db, kind, serial)
        self.select_dut(dut)

    def ask_register(self, serial: str) -> Optional[str]:
        """Offer to register an unknown serial; returns the kind, or None if declined."""
        box = QMessageBox(self)
        box.setWindowTitle("Unknown DUT")
        box.setText(f"{serial} is not registered. Register it now?")
        sled = box.addButton("Register as sled", QMessageBox.ButtonRole.AcceptRole)
        chip = box.addButton("Register as chip", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        return "sled" if clicked is sled else "chip" if clicked is chip else None

    def select_dut(self, dut: repo.DutInfo) -> None:
        self.dut = dut
        details = ", ".join(x for x in (dut.part, dut.silicon_rev and f"rev {dut.silicon_rev}", dut.lot) if x)
        self.dut_label.setText(f"<b>{dut.serial}</b> — {dut.kind}" + (f" ({details})" if details else ""))
        # Pick a plan for this kind of DUT if the current one does not fit.
        if self.plan is not None and self.plan.dut_kind != dut.kind:
            for i in range(self.plan_combo.count()):
                try:
                    if load_plan(self.plan_combo.itemData(i)).dut_kind == dut.kind:
                        self.plan_combo.setCurrentIndex(i)
                        break
                except PlanError:
                    continue
        self._update_ok()
        self.operator_edit.setFocus()

    # --- plan -----------------------------------------------------------------------------

    def _on_open_plan(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a plan", str(Path.home()), "Plans (*.toml)")
        if path:
            self.plan_combo.addItem(Path(path).stem, path)
            self.plan_combo.setCurrentIndex(self.plan_combo.count() - 1)

    def _on_plan_changed(self) -> None:
        self.plan_tree.clear()
        path = self.plan_combo.currentData()
        self.plan = None
        if not path:
            self._update_ok()
            return
        try:
            self.plan = load_plan(path)
        except PlanError as exc:
            QTreeWidgetItem(self.plan_tree, [str(exc)])
            self._update_ok()
            return
        plan = self.plan
        for step in plan.steps:
            node = QTreeWidgetItem(self.plan_tree, [f"{step.name} ({step.duration_s:g} s)", "", "; ".join(step.send), ""])
            for s in step.limits:
                QTreeWidgetItem(node, [f"limit {s.channel}", s.channel, limits_text(s.band.low, s.band.high, s.band.marginal_low, s.band.marginal_high, unit=plan.unit(s.channel)), f"{s.settle_s:g} s / {s.hold_s:g} s"])
            for s in step.measures:
                QTreeWidgetItem(node, [f"{s.stat} {s.name}", s.channel, limits_text(s.band.low, s.band.high, s.band.marginal_low, s.band.marginal_high, unit=plan.unit(s.channel)), f"{s.settle_s:g} s"])
            for s in step.results:
                band = s.band
                QTreeWidgetItem(node, [f"rig result {s.name}", "", limits_text(band and band.low, band and band.high, equals=s.equals), ""])
            for s in step.manuals:
                band = s.band
                QTreeWidgetItem(node, [f"manual {s.name}", "", limits_text(band and band.low, band and band.high, equals=s.equals, unit=s.unit), s.prompt])
        self.plan_tree.expandAll()
        for column in range(4):
            self.plan_tree.resizeColumnToContents(column)
        self._update_ok()

    def _update_ok(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(self.dut is not None and self.plan is not None and self.plan.dut_kind == self.dut.kind)
        if self.dut is not None and self.plan is not None and self.plan.dut_kind != self.dut.kind:
            ok.setToolTip(f"{self.plan.name} is a plan for a {self.plan.dut_kind}")
        else:
            ok.setToolTip("")

    def request(self) -> RunRequest:
        try:
            profile = load_profile(self.profile_combo.currentText())
        except ProfileError as exc:
            raise ValueError(str(exc)) from None
        settings = QSettings()
        settings.setValue("run/operator", self.operator_edit.text())
        settings.setValue("run/station", self.station_edit.text())
        settings.setValue("run/device", self.device_combo.currentText())
        settings.setValue("run/profile", self.profile_combo.currentText())
        return RunRequest(self.plan, self.dut, self.device_combo.currentText().strip(), profile,
                          self.operator_edit.text().strip(), self.station_edit.text().strip() or None)
