"""Starting a run as the operator does: F5, scan the serial (the scanner ends with Enter),
look at DUT, plan, rig and profile together, press Start.  Shipped plans and profiles work
together, and a profile that cannot feed the plan is named before the run starts."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog, QInputDialog, QMessageBox

from labbench import paths
from labbench.storage import inventory as inventory_store
from labbench.ui.start_dialog import StartRunDialog

from .dialogs import press_button, when_modal


def _open_start_dialog(qtbot, window) -> StartRunDialog:
    QTest.keyClick(window, Qt.Key.Key_F5)

    def shown():
        return [w for w in window.findChildren(StartRunDialog) if w.isVisible()]

    qtbot.waitUntil(lambda: bool(shown()), timeout=5_000)
    (dialog,) = shown()
    return dialog


def _scan(qtbot, dialog: StartRunDialog, serial: str) -> None:
    with qtbot.waitSignal(dialog.dut_looked_up, timeout=10_000):
        QTest.keyClicks(dialog.serial_edit, serial)
        QTest.keyClick(dialog.serial_edit, Qt.Key.Key_Return)


def test_scan_selects_dut_and_plan_and_waits_for_start(qtbot, window):
    QSettings().setValue("run/operator", "")
    inventory_store.add_dut(window.db, "sled", "SLD-SCAN-1")
    dialog = _open_start_dialog(qtbot, window)
    dialog.device_combo.setCurrentText("mock://nominal?rate=100")
    _scan(qtbot, dialog, "SLD-SCAN-1")
    assert (
        dialog.isVisible()
        and dialog.result() != QDialog.DialogCode.Accepted
        and not window.controller.running
    )
    assert dialog.dut.serial == "SLD-SCAN-1" and dialog.plan.dut_kind == "sled"
    assert dialog.preview_plan is dialog.plan or dialog.preview_plan.name == dialog.plan.name
    # No operator yet: Start stays off and the focus goes where the name is typed.
    assert not dialog.start_button.isEnabled() and dialog.focusWidget() is dialog.operator_edit
    assert "operator" in dialog.summary.text()
    QTest.keyClicks(dialog.operator_edit, "ana")
    assert dialog.start_button.isEnabled()
    for shown in ("SLD-SCAN-1", "sled-power-on", "mock://nominal?rate=100", "default", "ana"):
        assert shown in dialog.summary.text()
    with qtbot.waitSignal(window.controller.run_started, timeout=10_000):
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert (
        window.controller.request.dut.serial == "SLD-SCAN-1"
        and window.controller.request.operator == "ana"
    )
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000):
        window.controller.abort()


def test_scan_with_operator_known_moves_focus_to_start_without_starting(qtbot, window):
    QSettings().setValue("run/operator", "ana")
    inventory_store.add_dut(window.db, "chip", "CHP-SCAN-2")
    dialog = _open_start_dialog(qtbot, window)
    _scan(qtbot, dialog, "CHP-SCAN-2")
    assert dialog.isVisible() and not window.controller.running
    assert dialog.start_button.isEnabled() and dialog.focusWidget() is dialog.start_button
    assert dialog.plan.name == "chip-bringup"
    dialog.reject()


def test_registering_an_unknown_serial_does_not_start(qtbot, window):
    QSettings().setValue("run/operator", "ana")
    dialog = _open_start_dialog(qtbot, window)
    asked = when_modal(press_button("Register as chip"), kind=QMessageBox)
    _scan(qtbot, dialog, "CHP-NEW-7")
    assert asked and "CHP-NEW-7 is not registered" in asked[0]
    assert inventory_store.find_dut(window.db, "CHP-NEW-7").kind == "chip"
    assert dialog.isVisible() and not window.controller.running
    assert dialog.dut.serial == "CHP-NEW-7" and dialog.focusWidget() is dialog.start_button
    # Declined: nothing registered, the DUT chosen before stays.
    asked = when_modal(press_button(QMessageBox.StandardButton.Cancel), kind=QMessageBox)
    dialog.serial_edit.clear()
    _scan(qtbot, dialog, "TYPO-1")
    assert (
        asked
        and inventory_store.find_dut(window.db, "TYPO-1") is None
        and dialog.dut.serial == "CHP-NEW-7"
    )
    assert dialog.isVisible()
    dialog.reject()


def test_plan_preview_follows_the_highlighted_plan(qtbot, window):
    dialog = _open_start_dialog(qtbot, window)
    combo = dialog.plan_combo
    combo.setCurrentIndex(combo.findText("chip-bringup"))
    assert dialog.plan_tree.topLevelItem(0).text(0).startswith("power-on")
    combo.showPopup()
    QTest.keyClick(combo.view(), Qt.Key.Key_Down)  # highlight chip-shmoo, no Enter
    assert dialog.preview_plan.name == "chip-shmoo"
    QTest.keyClick(combo.view(), Qt.Key.Key_Down)  # then power-sequencing
    assert dialog.preview_plan.name == "power-sequencing"
    steps = [
        dialog.plan_tree.topLevelItem(i).text(0).split(" (")[0]
        for i in range(dialog.plan_tree.topLevelItemCount())
    ]
    assert steps == ["power-off", "power-on", "rails-up"]
    power_on = dialog.plan_tree.topLevelItem(1)
    rise = power_on.child(0)
    assert [rise.text(c) for c in range(3)] == ["rise vdd_io_rise", "vdd_io", "2 … 8 ms"]
    QTest.keyClick(
        combo.view(), Qt.Key.Key_Escape
    )  # closed without choosing: back to the chosen plan
    qtbot.waitUntil(lambda: dialog.preview_plan.name == "chip-bringup", timeout=5_000)
    assert combo.currentText() == "chip-bringup"
    dialog.reject()


def test_start_dialog_warns_when_the_profile_cannot_feed_the_plan(qtbot, window):
    profiles = paths.user_config_dir() / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    (profiles / "clk-in-hz.toml").write_text(
        '[profile]\nname = "clk-in-hz"\n[[channel]]\nmatch = "clk_core_mhz"\n'
        'name = "clk_core"\nunit = "Hz"\nscale = 1e6\n',
        encoding="utf-8",
    )
    dialog = _open_start_dialog(qtbot, window)
    dialog.plan_combo.setCurrentIndex(dialog.plan_combo.findText("chip-bringup"))
    for shipped in ("default", "bringup-rig"):
        dialog.profile_combo.setCurrentText(shipped)
        assert dialog.warning.isHidden(), (shipped, dialog.warning.text())
    dialog.profile_combo.setCurrentText("clk-in-hz")
    assert not dialog.warning.isHidden()
    assert (
        "clk_core_mhz" in dialog.warning.text()
        and "clk-in-hz renames clk_core_mhz to clk_core" in dialog.warning.text()
    )
    dialog.reject()


@pytest.mark.parametrize("profile", ["bringup-rig", "default"])
def test_shipped_chip_plan_passes_with_each_shipped_profile(qtbot, window, profile):
    QSettings().setValue("run/operator", "ana")
    QSettings().setValue("run/profile", profile)
    inventory_store.add_dut(window.db, "chip", "CHP-SHIP-1")
    dialog = _open_start_dialog(qtbot, window)
    dialog.device_combo.setCurrentText("mock://nominal?rate=200")
    _scan(qtbot, dialog, "CHP-SHIP-1")
    assert dialog.profile_combo.currentText() == profile and dialog.plan.name == "chip-bringup"

    def answer_ok(box: QInputDialog) -> None:
        box.setTextValue("OK")
        box.accept()

    visual = when_modal(answer_ok, kind=QInputDialog, tries=1000)
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000) as finished:
        QTest.keyClick(dialog.start_button, Qt.Key.Key_Space)
    assert visual, "the visual check was asked"
    outcome = finished.args[0]
    assert outcome.status == "passed", [
        (s.name, c.name, c.verdict) for s in outcome.steps for c in s.criteria
    ]
    # every channel has a unit: no unitless catch-all plot
    assert "" not in window.live.plots.plots and len(window.live.plots.plots) >= 5
