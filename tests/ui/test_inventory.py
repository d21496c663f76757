"""Inventory: sleds, slots and chips; chip history; runs per DUT; add, place and edit with
validation."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialogButtonBox

from labbench.demo import open_demo_database
from labbench.storage import RecordError
from labbench.storage import events as event_store
from labbench.storage import inventory as inventory_store
from labbench.storage import runs as run_store
from labbench.ui.inventory import DutDialog, InventoryView


@pytest.fixture
def demo_db(tmp_path):
    db = open_demo_database(tmp_path)
    yield db
    db.dispose()


@pytest.fixture
def view(qtbot, demo_db):
    widget = InventoryView(demo_db)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()


def _refresh(qtbot, view):
    with qtbot.waitSignal(view.loader.done, timeout=10_000):
        view.refresh()


def _open(qtbot, view, serial):
    dut = inventory_store.find_dut(view.db, serial)
    with qtbot.waitSignal(view.dut_selected, timeout=10_000):
        view.open_dut(dut.id)
    return dut


def test_tree_shows_sleds_slots_and_loose_chips(qtbot, view):
    _refresh(qtbot, view)
    top = [view.tree.topLevelItem(i).text(0) for i in range(view.tree.topLevelItemCount())]
    assert top == [
        "SLD-A1-0007  (4/4 slots used)",
        "SLD-A1-0012  (0/4 slots used)",
        "Chips not in a sled (1)",
    ]
    first = view.tree.topLevelItem(0)
    assert [first.child(i).text(0) for i in range(first.childCount())] == [
        "slot 0: CHP-A1-W03-0412",
        "slot 1: CHP-A1-W03-0413",
        "slot 2: CHP-A1-W03-0527",
        "slot 3: CHP-A1-W07-0101",
    ]
    assert view.tree.topLevelItem(1).child(0).text(0) == "slot 0: empty"
    assert view.tree.topLevelItem(2).child(0).text(0) == "CHP-B0-W01-0220"


def test_chip_history_across_sleds_and_its_runs(qtbot, view):
    _refresh(qtbot, view)
    chip = _open(qtbot, view, "CHP-A1-W03-0412")
    run = run_store.start_run(view.db, chip.id)
    run_store.finish_run(view.db, run.id, "failed")
    view.place_sled.setCurrentIndex(view.place_sled.findText("SLD-A1-0012"))
    view.place_slot.setValue(2)
    with qtbot.waitSignal(view.dut_selected, timeout=10_000):
        view.place_button.click()
    assert [view.history.item(i).text().split(":")[0] for i in range(view.history.count())] == [
        "SLD-A1-0007 slot 0",
        "SLD-A1-0012 slot 2",
    ]
    assert view.history.item(1).text().endswith("→ now")
    assert view.runs.rowCount() == 1 and view.runs.item(0, 3).text() == "FAILED"
    assert (
        inventory_store.sled_slots(view.db, inventory_store.find_dut(view.db, "SLD-A1-0012").id)[
            2
        ].serial
        == "CHP-A1-W03-0412"
    )


def _click_tree_item(qtbot, view, serial):
    """Select a DUT in the tree the way a user does: a click on its row."""
    item = view.find_item(serial)
    view.tree.scrollToItem(item)
    with qtbot.waitSignal(view.dut_selected, timeout=10_000):
        qtbot.mouseClick(
            view.tree.viewport(),
            Qt.MouseButton.LeftButton,
            # the label's start: wide rows reach past the narrow viewport's right edge
            pos=view.tree.visualItemRect(item).topLeft() + QPoint(12, 7),
        )


def test_chip_placed_in_a_sled_shows_the_sled_runs_with_its_slot(qtbot, view):
    _refresh(qtbot, view)
    chip = _open(qtbot, view, "CHP-B0-W01-0220")
    sled = inventory_store.find_dut(view.db, "SLD-A1-0012")
    view.place_sled.setCurrentIndex(view.place_sled.findText("SLD-A1-0012"))
    view.place_slot.setValue(1)
    with qtbot.waitSignal(view.dut_selected, timeout=10_000):
        qtbot.mouseClick(view.place_button, Qt.MouseButton.LeftButton)
    first = run_store.start_run(view.db, sled.id)
    run_store.finish_run(view.db, first.id, "failed")
    view.place_sled.setCurrentIndex(view.place_sled.findText("SLD-A1-0012"))
    view.place_slot.setValue(3)
    with qtbot.waitSignal(view.dut_selected, timeout=10_000):
        qtbot.mouseClick(view.place_button, Qt.MouseButton.LeftButton)
    second = run_store.start_run(view.db, sled.id)
    run_store.finish_run(view.db, second.id, "passed")
    _refresh(qtbot, view)
    _click_tree_item(qtbot, view, "SLD-A1-0012")
    assert view.dut.serial == "SLD-A1-0012"
    _click_tree_item(qtbot, view, "slot 3: CHP-B0-W01-0220")
    assert view.dut.id == chip.id
    # Run, the chip's own verdict (none: these runs were not judged per chip), where it sat,
    # the whole run's verdict.
    shown = [
        tuple(view.runs.item(row, column).text() for column in range(4))
        for row in range(view.runs.rowCount())
    ]
    assert shown == [
        (str(second.id), "—", "SLD-A1-0012 slot 3", "PASSED"),
        (str(first.id), "—", "SLD-A1-0012 slot 1", "FAILED"),
    ]
    cell = view.runs.visualItemRect(view.runs.item(1, 0)).topLeft() + QPoint(6, 6)
    qtbot.mouseClick(view.runs.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    with qtbot.waitSignal(view.run_opened, timeout=10_000) as opened:
        qtbot.mouseDClick(view.runs.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    assert opened.args == [first.id, 1]  # the run, and the slot the chip sat in
    with qtbot.waitSignal(view.run_opened, timeout=10_000) as opened:
        view.open_run_button.click()
    assert opened.args == [first.id, 1]
    # Placing from the GUI is audited with who did it, as the command line does.
    places = [e for e in event_store.audit_trail(view.db, "dut", chip.id) if e.action == "place"]
    assert len(places) == 2 and all(e.user for e in places)


def test_placing_into_an_occupied_slot_is_refused(qtbot, view, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: warnings.append(a[2]))
    _refresh(qtbot, view)
    _open(qtbot, view, "CHP-B0-W01-0220")
    view.place_sled.setCurrentIndex(view.place_sled.findText("SLD-A1-0007"))
    view.place_slot.setValue(1)
    with qtbot.waitSignal(view.changed, timeout=10_000):
        view.place_button.click()
    assert warnings == [
        "Slot 1 of sled SLD-A1-0007 already holds chip CHP-A1-W03-0413; remove it first."
    ]


def test_edit_is_validated_and_audited(qtbot, view):
    chip = _open(qtbot, view, "CHP-A1-W07-0101")
    view.field_edits["lot"].setText("LOT2611-RW")
    view.reason.setText("lot relabelled by fab")
    with qtbot.waitSignal(view.changed, timeout=10_000):
        view.save_button.click()
    assert inventory_store.get_dut(view.db, chip.id).lot == "LOT2611-RW"
    (entry,) = event_store.audit_trail(view.db, "dut", chip.id)
    assert (entry.field, entry.old_value, entry.new_value, entry.reason) == (
        "lot",
        "LOT2611",
        "LOT2611-RW",
        "lot relabelled by fab",
    )
    with pytest.raises(RecordError, match="chip in slot 3"):
        inventory_store.update_dut(
            view.db, inventory_store.find_dut(view.db, "SLD-A1-0007").id, user="ana", slot_count=2
        )


def test_add_dialog_refuses_duplicates_and_blank_serials(qtbot, demo_db):
    dialog = DutDialog(demo_db, "chip")
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    with qtbot.waitSignal(dialog.answered, timeout=10_000):
        ok.click()
    assert dialog.error.text() == "A DUT needs a serial number." and dialog.created is None
    dialog.serial.setText("CHP-A1-W03-0412")
    with qtbot.waitSignal(dialog.answered, timeout=10_000):
        ok.click()
    assert "already registered" in dialog.error.text() and dialog.created is None
    dialog.serial.setText("CHP-NEW-1")
    dialog.edits["lot"].setText("L9")
    with qtbot.waitSignal(dialog.answered, timeout=10_000):
        ok.click()
    assert (
        dialog.created.serial == "CHP-NEW-1"
        and inventory_store.find_dut(demo_db, "CHP-NEW-1").lot == "L9"
    )
