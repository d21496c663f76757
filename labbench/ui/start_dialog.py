"""Starting a run: DUT (barcode-scanner friendly), plan with its steps and limits, operator,
station, rig and profile.

A scan (the serial, then Enter) selects the DUT and a plan for its kind and moves the focus
to Start; it never starts the run.  Nothing starts until the operator has seen the DUT, the
plan's steps and limits, the rig and the profile together, with a warning when the profile
cannot give the plan a channel it judges.  Database reads and writes run on a worker."""

from __future__ import annotations

import socket
from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, Qt, Signal
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
from labbench.criteria.band import describe_limits
from labbench.devices.simulation import SCENARIOS
from labbench.devices.transport import list_ports
from labbench.protocols.profile import ProfileError, available_profiles, load_profile
from labbench.records import DutInfo
from labbench.runs.compat import check as check_compat
from labbench.runs.compat import rig_channels_of
from labbench.runs.judgement import judges_per_chip
from labbench.runs.plan import Plan, PlanError, load_plan
from labbench.runs.sequencer import RunRequest
from labbench.storage import Database
from labbench.storage import inventory as inventory_store
from labbench.ui.loader import Loader


class ScanEdit(QLineEdit):
    """The serial field: Enter (a barcode scanner's last key) is handled here and goes no
    further, so it never reaches the dialog's Start button."""

    def keyPressEvent(self, event) -> None:
        super().keyPressEvent(event)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()


class PlanCombo(QComboBox):
    """Tells when its list closes, so the preview can go back to the chosen plan after
    following the highlighted one."""

    popup_closed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        # The list's window hides on a choice, a click outside and Escape alike.
        self.view().window().installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Hide and watched is self.view().window():
            self.popup_closed.emit()
        return False


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
        self.loader = Loader(self)
        self.dut: DutInfo | None = None
        self.plan: Plan | None = None
        self.preview_plan: Plan | None = None
        settings = QSettings()

        self.serial_edit = ScanEdit()
        self.serial_edit.setPlaceholderText("Scan or type the serial number, then Enter")
        self.serial_edit.returnPressed.connect(self._on_serial_entered)
        self.dut_label = QLabel("No DUT selected")
        self.plan_combo = PlanCombo()
        for path in plan_files():
            self.plan_combo.addItem(path.stem, str(path))
        self.plan_combo.currentIndexChanged.connect(self._on_plan_changed)
        self.plan_combo.highlighted.connect(self._on_plan_highlighted)
        self.plan_combo.popup_closed.connect(
            lambda: self._show_preview(self.plan_combo.currentIndex())
        )
        open_button = QPushButton("Open…")
        open_button.setAutoDefault(False)
        open_button.clicked.connect(self._on_open_plan)
        self.plan_tree = QTreeWidget()
        self.plan_tree.setHeaderLabels(["Step / item", "Channel", "Limits", "Settle / hold"])
        self.plan_tree.setMinimumHeight(140)
        self.operator_edit = QLineEdit(settings.value("run/operator", ""))
        self.operator_edit.setPlaceholderText("Your name (kept with the run)")
        self.station_edit = QLineEdit(settings.value("run/station", socket.gethostname()))
        self.device_combo = QComboBox()
        self.device_combo.setEditable(True)
        for device, description, _ in list_ports():
            self.device_combo.addItem(f"{device}", device)
            self.device_combo.setItemData(
                self.device_combo.count() - 1, description, Qt.ItemDataRole.ToolTipRole
            )
        for scenario in SCENARIOS:
            self.device_combo.addItem(f"mock://{scenario}", f"mock://{scenario}")
        self.device_combo.setCurrentText(
            default_device or settings.value("run/device", "mock://nominal")
        )
        self.profile_combo = QComboBox()
        self.profile_combo.addItems(sorted(available_profiles()))
        self.profile_combo.setCurrentText(settings.value("run/profile", "default"))
        self.warning = QLabel("")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #b45309; font-weight: bold;")
        self.warning.hide()
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        for signal in (
            self.operator_edit.textChanged,
            self.device_combo.currentTextChanged,
            self.profile_combo.currentTextChanged,
        ):
            signal.connect(self._update_ok)

        plan_row = QHBoxLayout()
        plan_row.addWidget(self.plan_combo, 1)
        plan_row.addWidget(open_button)
        top = QFormLayout()
        top.addRow("DUT serial", self.serial_edit)
        top.addRow("", self.dut_label)
        top.addRow("Plan", plan_row)
        bottom = QFormLayout()
        bottom.addRow("Operator", self.operator_edit)
        bottom.addRow("Station", self.station_edit)
        bottom.addRow("Rig", self.device_combo)
        bottom.addRow("Profile", self.profile_combo)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.start_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.start_button.setText("Start")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.plan_tree, 1)
        layout.addLayout(bottom)
        layout.addWidget(self.warning)
        layout.addWidget(self.summary)
        layout.addWidget(self.buttons)
        self._on_plan_changed()
        self._update_ok()
        self.serial_edit.setFocus()
        # Tall enough to read the plan's steps and limits, never taller than the screen.
        screen = self.screen().availableGeometry() if self.screen() else None
        self.resize(720, min(640, int(screen.height() * 0.9)) if screen else 640)

    # --- DUT ------------------------------------------------------------------------------

    dut_looked_up = Signal()  # a scan was answered (found, registered, declined or refused)

    def _on_serial_entered(self) -> None:
        serial = self.serial_edit.text().strip()
        if not serial:
            return
        self.dut_label.setText(f"Looking up {serial}…")
        self.loader.submit(
            lambda: inventory_store.find_dut(self.db, serial),
            lambda dut: self._on_found(serial, dut),
        )

    def _on_found(self, serial: str, dut) -> None:
        if isinstance(dut, Exception):
            self._scan_refused(f"Could not look up {serial}: {dut}")
            return
        if dut is not None:
            self.select_dut(dut)
            return
        kind = self.ask_register(serial)
        if kind is None:
            self._scan_refused(f"{serial} is not registered")
            return
        self.dut_label.setText(f"Registering {serial} as a {kind}…")
        self.loader.submit(
            lambda: inventory_store.add_dut(self.db, kind, serial), self._on_registered
        )

    def _on_registered(self, dut) -> None:
        if isinstance(dut, Exception):
            self._scan_refused(str(dut))
            return
        self.select_dut(dut)

    def _scan_refused(self, message: str) -> None:
        self.dut_label.setText(message + (f" — still {self.dut.serial}" if self.dut else ""))
        self.serial_edit.selectAll()
        self.serial_edit.setFocus()
        self.dut_looked_up.emit()

    def ask_register(self, serial: str) -> str | None:
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

    def select_dut(self, dut: DutInfo) -> None:
        self.dut = dut
        details = ", ".join(
            x for x in (dut.part, dut.silicon_rev and f"rev {dut.silicon_rev}", dut.lot) if x
        )
        self.dut_label.setText(
            f"<b>{dut.serial}</b> — {dut.kind}" + (f" ({details})" if details else "")
        )
        # Pick a plan for this kind of DUT if the current one does not fit: one that runs
        # on any such DUT first (a plan judged per chip needs chips placed in the sled, so
        # the operator chooses it), else the first that fits.
        if self.plan is not None and self.plan.dut_kind != dut.kind:
            fitting = []
            for i in range(self.plan_combo.count()):
                try:
                    plan = load_plan(self.plan_combo.itemData(i))
                except PlanError:
                    continue
                if plan.dut_kind == dut.kind:
                    fitting.append((judges_per_chip(plan), i))
            if fitting:
                self.plan_combo.setCurrentIndex(min(fitting)[1])
        self._update_ok()
        # The operator's next look: what is about to run, on the Start button (or the
        # operator field, if the run cannot start without a name).
        (self.start_button if self.start_button.isEnabled() else self.operator_edit).setFocus()
        self.dut_looked_up.emit()

    # --- plan -----------------------------------------------------------------------------

    def _on_open_plan(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a plan", str(Path.home()), "Plans (*.toml)"
        )
        if path:
            self.plan_combo.addItem(Path(path).stem, path)
            self.plan_combo.setCurrentIndex(self.plan_combo.count() - 1)

    def _on_plan_changed(self) -> None:
        path = self.plan_combo.currentData()
        self.plan = None
        if path:
            try:
                self.plan = load_plan(path)
            except PlanError:
                self.plan = None
        self._show_preview(self.plan_combo.currentIndex())
        self._update_ok()

    def _on_plan_highlighted(self, index: int) -> None:
        """The preview follows the highlighted plan while the list is open."""
        self._show_preview(index)

    def _show_preview(self, index: int) -> None:
        self.plan_tree.clear()
        path = self.plan_combo.itemData(index) if index >= 0 else None
        self.preview_plan = None
        if not path:
            return
        try:
            plan = self.preview_plan = load_plan(path)
        except PlanError as exc:
            QTreeWidgetItem(self.plan_tree, [str(exc)])
            return
        for step in plan.steps:
            node = QTreeWidgetItem(
                self.plan_tree,
                [f"{step.name} ({step.duration_s:g} s)", "", "; ".join(step.send), ""],
            )
            for s in step.limits:
                QTreeWidgetItem(
                    node,
                    [
                        f"limit {s.channel}",
                        s.channel,
                        describe_limits(
                            s.band.low,
                            s.band.high,
                            s.band.marginal_low,
                            s.band.marginal_high,
                            unit=plan.unit(s.channel),
                        ),
                        f"{s.settle_s:g} s / {s.hold_s:g} s",
                    ],
                )
            for s in step.measures:
                QTreeWidgetItem(
                    node,
                    [
                        f"{s.stat} {s.name}",
                        s.channel,
                        describe_limits(
                            s.band.low,
                            s.band.high,
                            s.band.marginal_low,
                            s.band.marginal_high,
                            unit=plan.unit(s.channel),
                        ),
                        f"{s.settle_s:g} s",
                    ],
                )
            for s in step.results:
                band = s.band
                QTreeWidgetItem(
                    node,
                    [
                        f"rig result {s.name}",
                        "",
                        describe_limits(band and band.low, band and band.high, equals=s.equals),
                        "",
                    ],
                )
            for s in step.manuals:
                band = s.band
                QTreeWidgetItem(
                    node,
                    [
                        f"manual {s.name}",
                        "",
                        describe_limits(
                            band and band.low, band and band.high, equals=s.equals, unit=s.unit
                        ),
                        s.prompt,
                    ],
                )
            for s in step.timings:
                QTreeWidgetItem(node, [f"{s.kind} {s.name}", s.channel, s.describe(), ""])
        self.plan_tree.expandAll()
        for column in range(4):
            self.plan_tree.resizeColumnToContents(column)

    def missing(self) -> str:
        """What still keeps the run from starting, in one sentence ("" when nothing)."""
        if self.dut is None:
            return "Scan or type the DUT's serial number."
        if self.plan is None:
            return "Choose a plan."
        if self.plan.dut_kind != self.dut.kind:
            return (
                f"{self.plan.name} is a plan for a {self.plan.dut_kind}; "
                f"{self.dut.serial} is a {self.dut.kind}."
            )
        if not self.operator_edit.text().strip():
            return "Enter your name as the operator."
        if not self.device_combo.currentText().strip():
            return "Choose the rig."
        return ""

    def compat_warnings(self) -> list[str]:
        """Channels the plan judges that the chosen profile (on this rig) cannot give it."""
        if self.plan is None:
            return []
        try:
            profile = load_profile(self.profile_combo.currentText())
        except ProfileError as exc:
            return [str(exc)]
        device = self.device_combo.currentText().strip()
        return [m.sentence() for m in check_compat(self.plan, profile, rig_channels_of(device))]

    def _update_ok(self) -> None:
        missing = self.missing()
        self.start_button.setEnabled(not missing)
        self.start_button.setToolTip(missing)
        warnings = self.compat_warnings()
        self.warning.setText(
            "⚠ This plan will end in error with this profile: " + "; ".join(warnings)
            if warnings
            else ""
        )
        self.warning.setVisible(bool(warnings))
        if missing:
            self.summary.setText(missing)
        else:
            plan, dut = self.plan, self.dut
            self.summary.setText(
                f"Start <b>{plan.name} v{plan.version}</b> ({len(plan.steps)} steps) on "
                f"<b>{dut.serial}</b> ({dut.kind}) "
                f"— rig <b>{self.device_combo.currentText().strip()}</b>, profile "
                f"<b>{self.profile_combo.currentText()}</b>, "
                f"operator {self.operator_edit.text().strip()}"
            )

    def done(self, result: int) -> None:
        self.loader.shutdown()
        super().done(result)

    def request(self) -> RunRequest:
        missing = self.missing()
        if missing:
            raise ValueError(missing)
        try:
            profile = load_profile(self.profile_combo.currentText())
        except ProfileError as exc:
            raise ValueError(str(exc)) from None
        settings = QSettings()
        settings.setValue("run/operator", self.operator_edit.text())
        settings.setValue("run/station", self.station_edit.text())
        settings.setValue("run/device", self.device_combo.currentText())
        settings.setValue("run/profile", self.profile_combo.currentText())
        return RunRequest(
            self.plan,
            self.dut,
            self.device_combo.currentText().strip(),
            profile,
            self.operator_edit.text().strip(),
            self.station_edit.text().strip() or None,
        )
