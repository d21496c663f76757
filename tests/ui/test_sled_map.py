"""The sled map: a sled run's chips and their verdicts, live and stored; a click on a chip's
cell narrows the results, plots and rail tiles to that chip; a chip's runs in the inventory
open in History with its slot picked.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from labbench.protocols.profile import load_profile
from labbench.records import CriterionRecord, StepRecord
from labbench.runs.plan import parse_plan
from labbench.runs.sequencer import RunRequest
from labbench.storage import inventory as inventory_store
from labbench.ui.plots import MIN_PLOT_HEIGHT
from labbench.ui.results_model import ResultsModel
from labbench.ui.sled_map import SledMap, grid_columns
from labbench.ui.theme import LIGHT, slot_color, verdict_colors

SLED_PLAN = """\
[plan]
name = "gui-sled"
version = "1"
dut_kind = "sled"
stop_on_fail = false

[[channel]]
name = "vdd_core"
unit = "V"
per_slot = true
[[channel]]
name = "fan_rpm"
unit = "rpm"

[[step]]
name = "power-on"
duration_s = 1.0
send = ["PWR ON"]
  [[step.limit]]
  channel = "fan_rpm"
  low = 1000

[[step]]
name = "hold"
duration_s = 2.6
  [[step.limit]]
  channel = "vdd_core"
  low = 0.72
  high = 0.78
  hold_s = 0.05
  [[step.measure]]
  name = "vdd_core_mean"
  channel = "vdd_core"
  stat = "mean"
  low = 0.70
  high = 0.80
"""
# Chip 2's core rail droops to 0.68 V 2 s after power-on, in the "hold" step.
DEVICE = "mock://rail-droop?slots=4&slot=2&droop_at=2.0&rate=100&power=off&seed=7"
CHIPS = {0: "CHP-S0", 1: "CHP-S1", 2: "CHP-S2"}  # slot 3 stays empty


def _sled(db):
    sled = inventory_store.add_dut(db, "sled", "SLD-GUI", slot_count=4)
    for slot, serial in CHIPS.items():
        chip = inventory_store.add_dut(db, "chip", serial)
        inventory_store.place_chip(db, chip.id, sled.id, slot, user="test")
    return sled


def _item(name, verdict, slot=None, chip="", channel=None):
    return CriterionRecord(
        kind="limit", name=name, channel=channel or name, unit="V", stat="", value=None,
        text_value="", low=0.72, high=0.78, marginal_low=None, marginal_high=None, equals=None,
        settle_s=0.0, hold_s=0.05, sample_count=10, verdict=verdict, slot=slot, chip=chip,
    )  # fmt: skip


def _click(qtbot, widget):
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, pos=widget.rect().center())


def _visible_items(view, model) -> list[str]:
    return [model._rows[r]["name"] for r in range(model.rowCount()) if not view.isRowHidden(r)]


# --- the widget alone -----------------------------------------------------------------------


@pytest.mark.parametrize(("count", "columns"), [(4, 2), (16, 4), (8, 3), (1, 1)])
def test_the_map_is_a_square_grid(count, columns):
    assert grid_columns(count) == columns


def test_cells_say_slot_chip_and_verdict_in_words_and_colour(qtbot):
    sled_map = SledMap(LIGHT)
    qtbot.addWidget(sled_map)
    sled_map.set_sled("SLD-1", 16, {0: "CHP-A", 2: "CHP-C", 5: "CHP-F"})
    sled_map.set_running(True)
    sled_map.set_verdicts({2: "failed", 0: "passed"})
    sled_map.resize(640, 260)
    sled_map.show()
    assert len(sled_map.cells) == 16
    assert sled_map.grid.itemAtPosition(3, 3).widget() is sled_map.cells[15]  # 4 x 4
    assert sled_map.cells[2].text() == "2 · CHP-C\nFAILED"
    assert sled_map.cells[0].text() == "0 · CHP-A\nPASSED"
    assert sled_map.cells[5].text() == "5 · CHP-F\nrunning"  # not judged yet
    assert sled_map.cells[3].text() == "3 · empty\nempty"
    assert not sled_map.cells[3].isEnabled()
    bg, fg = verdict_colors(LIGHT, "failed")
    style = sled_map.cells[2].styleSheet()
    assert f"background: {bg.name()}" in style and f"color: {fg.name()}" in style
    assert slot_color(LIGHT, 2) in style  # the cell's edge: its curves' colour
    assert "failed" in sled_map.cells[2].accessibleName().lower()
    sled_map.set_running(False)
    assert sled_map.cells[5].text() == "5 · CHP-F\n—"
    # Every cell's two lines fit (a bring-up engineer reads serials off it).
    cell = sled_map.cells[2]
    metrics = cell.fontMetrics()
    assert metrics.horizontalAdvance("2 · CHP-C") < cell.width() - 14
    assert 2 * metrics.lineSpacing() <= cell.height()


def test_clicking_a_cell_picks_it_and_again_or_all_slots_clears(qtbot):
    sled_map = SledMap(LIGHT)
    qtbot.addWidget(sled_map)
    sled_map.set_sled("SLD-1", 4, {0: "CHP-A", 2: "CHP-C"})
    sled_map.show()
    picked = []
    sled_map.slot_selected.connect(picked.append)
    _click(qtbot, sled_map.cells[2])
    assert sled_map.selected == 2 and sled_map.cells[2].isChecked()
    assert sled_map.all_button.isEnabled()
    _click(qtbot, sled_map.cells[2])
    assert sled_map.selected is None
    _click(qtbot, sled_map.cells[0])
    _click(qtbot, sled_map.all_button)
    assert picked == [2, None, 0, None]
    assert not any(cell.isChecked() for cell in sled_map.cells.values())


def test_results_rows_per_chip_and_the_filter_keeps_the_sleds_own(qtbot):
    from PySide6.QtWidgets import QTableView

    from labbench.ui.sled_map import SlotRowFilter

    plan = parse_plan(SLED_PLAN, "gui-sled.toml")
    model = ResultsModel(LIGHT)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    row_filter = SlotRowFilter(view)
    model.set_plan(plan, CHIPS)
    names = [model._rows[r]["name"] for r in range(model.rowCount())]
    assert names == [
        "fan_rpm",
        "vdd_core[0]", "vdd_core[1]", "vdd_core[2]",
        "vdd_core_mean[0]", "vdd_core_mean[1]", "vdd_core_mean[2]",
    ]  # fmt: skip
    model.update_steps(
        [
            StepRecord(1, "hold", 0, None, "failed", (
                _item("vdd_core[2]", "failed", 2, "CHP-S2", "vdd_core[2]"),
                _item("vdd_core[0]", "passed", 0, "CHP-S0", "vdd_core[0]"),
            )),
        ]
    )  # fmt: skip
    row = names.index("vdd_core[2]")
    assert model.data(model.index(row, 2)) == "FAILED"
    assert model.data(model.index(row, 1)) == "vdd_core[2] · CHP-S2"
    row_filter.set_slot(2)
    assert _visible_items(view, model) == ["fan_rpm", "vdd_core[2]", "vdd_core_mean[2]"]
    row_filter.set_slot(None)
    assert len(_visible_items(view, model)) == len(names)


# --- a real sled run, live, then stored ----------------------------------------------------


def test_sled_run_map_live_history_and_inventory(qtbot, window):
    window.resize(1280, 720)  # the smallest screen the lab uses: the run's plots stay readable
    db = window.db
    sled = _sled(db)
    plan = parse_plan(SLED_PLAN, "gui-sled.toml")
    request = RunRequest(plan, sled, DEVICE, load_profile("default"), "ana", "bench-1")
    live = window.live
    with qtbot.waitSignal(window.controller.run_started, timeout=20_000):
        window.start_request(request)
    sled_map = live.sled.map
    qtbot.waitUntil(lambda: sled_map.isVisible(), timeout=5_000)
    assert [c.chip for c in sled_map.cells.values()] == ["CHP-S0", "CHP-S1", "CHP-S2", None]
    assert sled_map.cells[3].text() == "3 · empty\nempty"
    assert sled_map.cells[2].text().startswith("2 · CHP-S2\n")
    # Every chip's core rail in one plot, each in its slot's colour.
    qtbot.waitUntil(lambda: "vdd_core[2]" in live.plots.curves, timeout=10_000)
    curves = live.plots.curves
    assert live.plots.channel_key["vdd_core[0]"] == live.plots.channel_key["vdd_core[2]"]
    assert curves["vdd_core[2]"].opts["pen"].color().name() == slot_color(live.theme, 2)

    with qtbot.waitSignal(window.controller.run_finished, timeout=40_000) as finished:
        pass
    outcome = finished.args[0]
    assert outcome.status == "failed", f"run failed (is {outcome.status})"
    qtbot.waitUntil(lambda: not sled_map.cells[0].running, timeout=5_000)
    # Chip 2 failed (its rail drooped), its siblings passed.
    text = sled_map.cells[2].text()
    assert text == "2 · CHP-S2\nFAILED", f"live cell 2 says FAILED ({text!r})"
    text = sled_map.cells[0].text()
    assert text == "0 · CHP-S0\nPASSED", f"live cell 0 says PASSED ({text!r})"
    bg, _ = verdict_colors(live.theme, "failed")
    assert f"background: {bg.name()}" in sled_map.cells[2].styleSheet(), "live cell 2 is red"
    assert sled_map.cells[3].text() == "3 · empty\nempty"

    # Pick chip 2: its results and the sled's, its curves, its tiles.
    _click(qtbot, sled_map.cells[2])
    view, model = window.results_view, window.results
    shown = _visible_items(view, model)
    assert "vdd_core[2]" in shown and "fan_rpm" in shown
    assert "vdd_core[0]" not in shown and "vdd_core_mean[1]" not in shown
    assert curves["vdd_core[2]"].isVisible() and not curves["vdd_core[0]"].isVisible()
    assert curves["fan_rpm"].isVisible()
    tiles = live.tiles.tiles
    assert not tiles["vdd_core[2]"].isHidden() and tiles["vdd_core[0]"].isHidden()
    assert not tiles["fan_rpm"].isHidden()
    row = next(r for r in range(model.rowCount()) if model._rows[r]["name"] == "vdd_core[2]")
    verdict = model.verdict_of(row)
    assert verdict == "failed", f"results row vdd_core[2] failed ({verdict})"
    # Again: every chip.
    _click(qtbot, sled_map.cells[2])
    assert len(_visible_items(view, model)) == model.rowCount()
    assert curves["vdd_core[0]"].isVisible()
    assert tiles["vdd_core[0]"].isHidden()  # unpicked: the map sums chips up, not 3 x 4 tiles

    # The inventory: chip 2's runs list the sled run with its slot; open it in History.
    inventory = window.inventory
    window.inventory_dock.show()
    window.inventory_dock.raise_()
    chip = inventory_store.find_dut(db, "CHP-S2")
    with qtbot.waitSignal(inventory.dut_selected, timeout=10_000):
        inventory.open_dut(chip.id)
    runs = inventory.runs
    assert runs.rowCount() == 1
    assert runs.item(0, 0).text() == str(outcome.run_id)
    assert runs.item(0, 2).text() == "SLD-GUI slot 2"
    text = runs.item(0, 1).text()
    assert text == "FAILED", f"inventory: the chip's own verdict FAILED ({text})"
    detail = window.history.detail
    cell = runs.visualItemRect(runs.item(0, 0)).topLeft() + QPoint(6, 6)
    QTest.mouseClick(runs.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    with qtbot.waitSignal(detail.sled_map.slot_selected, timeout=20_000):
        QTest.mouseDClick(runs.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    assert detail.run.id == outcome.run_id
    stored_map = detail.sled_map
    assert stored_map.isVisible() and stored_map.selected == 2
    assert stored_map.cells[2].isChecked()
    assert stored_map.cells[3].text() == "3 · empty\nempty"
    text = stored_map.cells[2].text()
    assert text == "2 · CHP-S2\nFAILED", f"stored cell 2 says FAILED ({text!r})"
    stored_view = detail.results_view
    shown = _visible_items(stored_view, detail.results)
    assert "vdd_core[2]" in shown and "vdd_core[1]" not in shown and "fan_rpm" in shown
    assert detail.plots.curves["vdd_core[2]"].isVisible()
    assert not detail.plots.curves["vdd_core[1]"].isVisible()
    height = detail.plots.scroll.viewport().height()  # was 68 px: the tabs took the rest
    assert height >= MIN_PLOT_HEIGHT, f"the stored run's plots get {height} px under its map"
    # "All slots" brings every chip back.
    _click(qtbot, stored_map.all_button)
    assert detail.plots.curves["vdd_core[1]"].isVisible()
    assert len(_visible_items(stored_view, detail.results)) == detail.results.rowCount()
