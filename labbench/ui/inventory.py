"""Inventory: sleds with their slots and chips, chip history across sleds, the runs of each
DUT with their verdicts; add, place and edit with validation (edits are audited)."""

from __future__ import annotations

import getpass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from labbench.records import DutInfo
from labbench.storage import Database
from labbench.storage import history as history_store
from labbench.storage import inventory as inventory_store
from labbench.ui.loader import Loader
from labbench.ui.theme import LIGHT, Theme, verdict_colors

# Verdict: the DUT's own in the run (a chip's own in a sled run); Where: the DUT run on
# (a sled and the chip's slot in it); Run verdict: the whole run's.
RUN_COLUMNS = ("Run", "Verdict", "Where", "Run verdict", "Start (UTC)", "Plan")
TEXT_FIELDS = ("part", "generation", "silicon_rev", "lot", "wafer", "notes")


def _load_inventory(db: Database):
    sleds = inventory_store.list_duts(db, "sled")
    return [
        (sled, inventory_store.sled_slots(db, sled.id)) for sled in sleds
    ], inventory_store.unplaced_chips(db)


def _load_dut(db: Database, dut_id: int):
    dut = inventory_store.get_dut(db, dut_id)
    history = inventory_store.chip_history(db, dut_id) if dut.kind == "chip" else []
    sled_serials = {d.id: d.serial for d in inventory_store.list_duts(db, "sled")}
    return (
        dut,
        [(sled_serials.get(p.sled_id, "?"), p) for p in history],
        history_store.dut_runs(db, dut_id),
    )


class DutDialog(QDialog):
    """Register a sled or chip: serial required, numbers checked, duplicates refused."""

    answered = Signal()  # the database said yes (accepted) or no (error shown)

    def __init__(self, db: Database, kind: str, parent=None):
        super().__init__(parent)
        self.db, self.kind = db, kind
        self.loader = Loader(self, name="labbench-inventory")
        self.created: DutInfo | None = None
        self.setWindowTitle(f"Register a {kind}")
        self.serial = QLineEdit()
        self.edits = {name: QLineEdit() for name in TEXT_FIELDS}
        self.slots = QSpinBox()
        self.slots.setRange(1, 64)
        self.slots.setValue(4)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b91c1c;")
        form = QFormLayout()
        form.addRow("Serial", self.serial)
        for name, edit in self.edits.items():
            form.addRow(name.replace("_", " ").capitalize(), edit)
        if kind == "sled":
            form.addRow("Slots", self.slots)
        buttons = self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.try_accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def try_accept(self) -> None:
        fields = {name: edit.text().strip() for name, edit in self.edits.items()}
        if self.kind == "sled":
            fields["slot_count"] = self.slots.value()
        serial = self.serial.text()
        self.buttons.setEnabled(False)
        self.loader.submit(
            lambda: inventory_store.add_dut(self.db, self.kind, serial, **fields), self._on_added
        )

    def _on_added(self, result) -> None:
        self.buttons.setEnabled(True)
        if isinstance(result, Exception):
            self.error.setText(str(result))
            self.answered.emit()
            return
        self.created = result
        self.answered.emit()
        self.accept()

    def done(self, result: int) -> None:
        self.loader.shutdown()
        super().done(result)


class InventoryView(QWidget):
    dut_selected = Signal(int)
    run_activated = Signal(int)  # a run of the DUT double-clicked: open it
    run_opened = Signal(int, object)  # the same, with the chip's slot in it (a sled run) or None
    changed = Signal()  # an edit or placement was answered (saved or refused)

    def __init__(self, db: Database, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.db, self.theme = db, theme
        self.loader = Loader(self)
        self.dut: DutInfo | None = None
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["DUT", "Part", "Rev / gen", "Lot / wafer"])
        self.tree.itemSelectionChanged.connect(self._on_selected)
        add_sled = QPushButton("Add sled…")
        add_sled.clicked.connect(lambda: self.add_dut("sled"))
        add_chip = QPushButton("Add chip…")
        add_chip.clicked.connect(lambda: self.add_dut("chip"))
        self.place_sled = QComboBox()
        self.place_slot = QSpinBox()
        self.place_slot.setRange(0, 63)
        self.place_button = QPushButton("Place chip")
        self.place_button.clicked.connect(self._on_place)
        left_buttons = QHBoxLayout()
        left_buttons.addWidget(add_sled)
        left_buttons.addWidget(add_chip)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.tree)
        left_layout.addLayout(left_buttons)

        self.title = QLabel("Select a sled or chip")
        self.field_edits = {name: QLineEdit() for name in TEXT_FIELDS}
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Why (kept in the audit trail)")
        self.save_button = QPushButton("Save changes")
        self.save_button.clicked.connect(self._on_save)
        self.message = QLabel("")
        form = QFormLayout()
        for name, edit in self.field_edits.items():
            form.addRow(name.replace("_", " ").capitalize(), edit)
        form.addRow("Reason", self.reason)
        place_row = QHBoxLayout()
        place_row.addWidget(QLabel("into"))
        place_row.addWidget(self.place_sled, 1)
        place_row.addWidget(QLabel("slot"))
        place_row.addWidget(self.place_slot)
        place_row.addWidget(self.place_button)
        self.history = QListWidget()
        self.runs = QTableWidget(0, len(RUN_COLUMNS))
        self.runs.setHorizontalHeaderLabels(list(RUN_COLUMNS))
        self.runs.verticalHeader().setVisible(False)
        self.runs.horizontalHeader().setStretchLastSection(True)
        self.runs.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.runs.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.runs.setToolTip(
            "Verdict: this DUT's own (a chip's in a sled run); Run verdict: the whole run's. "
            "Double-click a run to open it in the History"
        )
        self.runs.cellDoubleClicked.connect(self._on_run_activated)
        self.runs.cellActivated.connect(self._on_run_activated)
        self.open_run_button = QPushButton("Open run")
        self.open_run_button.setToolTip("Open the selected run in the History")
        self.open_run_button.clicked.connect(lambda: self._on_run_activated(self.runs.currentRow()))
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.title)
        right_layout.addLayout(form)
        right_layout.addWidget(self.save_button)
        right_layout.addWidget(self.message)
        right_layout.addLayout(place_row)
        right_layout.addWidget(QLabel("Placement history"))
        right_layout.addWidget(self.history)
        runs_head = QHBoxLayout()
        runs_head.addWidget(QLabel("Runs"), 1)
        runs_head.addWidget(self.open_run_button)
        right_layout.addLayout(runs_head)
        right_layout.addWidget(self.runs)
        # The DUT's form, placements and runs scroll rather than force a tall window.
        right_scroll = QScrollArea()
        right_scroll.setWidgetResizable(True)
        right_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        right_scroll.setWidget(right)
        splitter = self.splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right_scroll)
        splitter.setSizes([420, 520])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)
        self._set_editable(False)

    # --- loading --------------------------------------------------------------------------

    def refresh(self, on_loaded=None) -> None:
        self.loader.submit(
            lambda: _load_inventory(self.db), lambda data: self._show_tree(data, on_loaded)
        )

    def _show_tree(self, data, on_loaded) -> None:
        if isinstance(data, Exception):
            self.message.setText(f"Could not load the inventory: {data}")
            return
        sleds, unplaced = data
        self.tree.clear()
        self.place_sled.clear()
        for sled, slots in sleds:
            node = self._item(
                self.tree,
                sled,
                f"{sled.serial}  ({len(slots)}/{sled.slot_count or '?'} slots used)",
            )
            for slot in range(sled.slot_count or (max(slots) + 1 if slots else 0)):
                chip = slots.get(slot)
                if chip is None:
                    QTreeWidgetItem(node, [f"slot {slot}: empty"])
                else:
                    self._item(node, chip, f"slot {slot}: {chip.serial}")
            self.place_sled.addItem(sled.serial, sled.id)
        loose = QTreeWidgetItem(self.tree, [f"Chips not in a sled ({len(unplaced)})"])
        for chip in unplaced:
            self._item(loose, chip, chip.serial)
        self.tree.expandAll()
        for column in range(4):
            self.tree.resizeColumnToContents(column)
        if on_loaded:
            on_loaded()

    @staticmethod
    def _item(parent, dut: DutInfo, label: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem(
            parent,
            [
                label,
                dut.part,
                dut.silicon_rev or dut.generation,
                " / ".join(x for x in (dut.lot, dut.wafer) if x),
            ],
        )
        item.setData(0, Qt.ItemDataRole.UserRole, dut.id)
        return item

    def find_item(self, serial: str) -> QTreeWidgetItem | None:
        for item in self.tree.findItems(
            serial, Qt.MatchFlag.MatchContains | Qt.MatchFlag.MatchRecursive
        ):
            if item.data(0, Qt.ItemDataRole.UserRole) is not None:
                return item
        return None

    def _on_selected(self) -> None:
        items = self.tree.selectedItems()
        dut_id = items[0].data(0, Qt.ItemDataRole.UserRole) if items else None
        if dut_id is not None:
            self.open_dut(dut_id)

    def open_dut(self, dut_id: int, on_loaded=None) -> None:
        self.loader.submit(
            lambda: _load_dut(self.db, dut_id), lambda data: self._show_dut(data, on_loaded)
        )

    def _show_dut(self, data, on_loaded) -> None:
        if isinstance(data, Exception):
            self.message.setText(str(data))
            return
        dut, history, runs = data
        self.dut = dut
        self.title.setText(f"<b>{dut.serial}</b> — {dut.kind}")
        for name, edit in self.field_edits.items():
            edit.setText(getattr(dut, name))
        self._set_editable(True)
        self.place_button.setEnabled(dut.kind == "chip")
        self.history.clear()
        for sled_serial, p in history:
            until = "now" if p.removed_at is None else f"{p.removed_at:%Y-%m-%d %H:%M}"
            self.history.addItem(
                f"{sled_serial} slot {p.slot}: {p.placed_at:%Y-%m-%d %H:%M} → {until}"
            )
        self.runs.setRowCount(len(runs))
        for row, r in enumerate(runs):
            in_sled = r.slot is not None and r.dut_serial != dut.serial
            # A chip's verdict in a sled run is its own (None: the run was not judged per chip).
            own = (r.chip_verdict or "") if in_sled else r.status
            cells = [
                str(r.id),
                own.upper() or "—",
                f"{r.dut_serial} slot {r.slot}" if in_sled else r.dut_serial,
                r.status.upper(),
                f"{r.started_at:%Y-%m-%d %H:%M}",
                f"{r.plan} v{r.plan_version}" if r.plan else "—",
            ]
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if column in (1, 3):
                    bg, fg = verdict_colors(
                        self.theme, (own or "pending") if column == 1 else r.status
                    )
                    cell.setBackground(bg)
                    cell.setForeground(fg)
                if column == 0:
                    cell.setData(Qt.ItemDataRole.UserRole, r.slot if in_sled else None)
                self.runs.setItem(row, column, cell)
        self.runs.resizeColumnsToContents()
        self.open_run_button.setEnabled(bool(runs))
        self.dut_selected.emit(dut.id)
        if on_loaded:
            on_loaded()

    def _set_editable(self, on: bool) -> None:
        for edit in self.field_edits.values():
            edit.setEnabled(on)
        self.save_button.setEnabled(on)

    # --- changes --------------------------------------------------------------------------

    def add_dut(self, kind: str) -> DutInfo | None:
        dialog = DutDialog(self.db, kind, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.refresh()
            return dialog.created
        return None

    def _on_save(self) -> None:
        if self.dut is None:
            return
        changes = {name: edit.text().strip() for name, edit in self.field_edits.items()}
        dut_id, user, reason = (
            self.dut.id,
            getpass.getuser() or "unknown",
            self.reason.text().strip(),
        )
        self.save_button.setEnabled(False)
        self.message.setText("Saving…")
        self.loader.submit(
            lambda: inventory_store.update_dut(
                self.db, dut_id, user=user, reason=reason, **changes
            ),
            self._on_saved,
        )

    def _on_saved(self, result) -> None:
        self.save_button.setEnabled(self.dut is not None)
        if isinstance(result, Exception):
            self.message.setText(str(result))
            self.changed.emit()
            return
        self.dut = result
        self.message.setText("Saved (recorded in the audit trail).")
        self.reason.clear()
        self.refresh()
        self.changed.emit()

    def _on_place(self) -> None:
        if self.dut is None or self.dut.kind != "chip":
            return
        chip, sled_id, slot, sled = (
            self.dut,
            self.place_sled.currentData(),
            self.place_slot.value(),
            self.place_sled.currentText(),
        )
        user = getpass.getuser() or "unknown"  # audited, as the command line does
        self.place_button.setEnabled(False)
        self.loader.submit(
            lambda: inventory_store.place_chip(self.db, chip.id, sled_id, slot, user=user),
            lambda result: self._on_placed(chip, sled, slot, result),
        )

    def _on_placed(self, chip, sled: str, slot: int, result) -> None:
        self.place_button.setEnabled(self.dut is not None and self.dut.kind == "chip")
        if isinstance(result, Exception):
            QMessageBox.warning(self, "Cannot place the chip", str(result))
            self.changed.emit()
            return
        self.message.setText(f"{chip.serial} placed in {sled} slot {slot}.")
        self.refresh()
        self.open_dut(chip.id)

    def _on_run_activated(self, row: int, _column: int = 0) -> None:
        item = self.runs.item(row, 0)
        if item is not None:
            self.run_activated.emit(int(item.text()))
            self.run_opened.emit(int(item.text()), item.data(Qt.ItemDataRole.UserRole))

    def shutdown(self) -> None:
        self.loader.shutdown()
