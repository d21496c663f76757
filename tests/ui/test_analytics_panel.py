"""The Analytics panel, used as a bring-up engineer uses it: View ▸ Analytics (or its key), a
plan chosen in the combo box, a period picked, a table exported through the file dialog, an
item picked in the capability table, a control-chart point clicked, the sled heatmap read.
The database is filled through the repository functions a real run goes through."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from labbench.storage import inventory, plans
from labbench.ui import analytics_tables
from labbench.ui.theme import verdict_colors
from tests.storage.test_analytics import item, make_run

T0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
# "vdd" in run start order: swinging around 0.75 (Cpk 1.26 against 0.70..0.80: flagged),
# then run 12 jumps above μ + 3σ = 0.7906 while still inside its limits (rule 1).
VDD = [0.742, 0.756, 0.745, 0.758, 0.744, 0.755, 0.743, 0.757, 0.746, 0.754, 0.745, 0.756, 0.795]


@pytest.fixture
def lab(db):
    """A chip plan on two stations over three UTC days, and a sled plan whose slot 2 fails
    its rail twice as often as it passes and sits higher than its neighbours."""
    s1 = inventory.ensure_station(db, "bench-1").id
    s2 = inventory.ensure_station(db, "bench-2").id
    chip_plan = plans.store_plan_version(db, "power-on", "1", "chip", "power-on v1")
    runs = []
    for n, vdd in enumerate(VDD):
        chip = inventory.add_dut(db, "chip", f"C{n:02d}")
        failed = n in (3, 7)
        steps = [
            ("rails", [
                item("vdd", vdd, "passed", low=0.70, high=0.80),
                # Wide limits, tight values: capable.
                item("idd", 1.0 + 0.001 * (n % 3), "passed", low=0.0, high=2.0),
                item("clk", 1.0, "failed" if failed else "passed", first_s=1.0 if failed else None),
            ]),
        ]  # fmt: skip
        when = T0 + dt.timedelta(hours=6 * n)
        runs.append(
            make_run(
                db, chip, chip_plan, when, "failed" if failed else "passed", steps,
                station=s1 if n % 2 else s2,
            )
        )  # fmt: skip
    sled_plan = plans.store_plan_version(db, "sled-power-on", "1", "sled", "sled v1")
    for s in range(2):
        sled = inventory.add_dut(db, "sled", f"SLD-{s}", slot_count=4)
        for slot in range(4):
            chip = inventory.add_dut(db, "chip", f"S{s}C{slot}")
            inventory.place_chip(db, chip.id, sled.id, slot)
        for r in range(3):
            verdicts = {slot: "failed" if slot == 2 and r < 2 else "passed" for slot in range(4)}
            steps = [
                ("rails", [
                    item(f"vdd[{slot}]", 0.80 if slot == 2 else 0.75 + 0.002 * r,
                         verdicts[slot], low=0.70, high=0.85, slot=slot, chip=f"S{s}C{slot}",
                         first_s=1.0 if verdicts[slot] == "failed" else None)
                    for slot in range(4)
                ]),
            ]  # fmt: skip
            status = "failed" if "failed" in verdicts.values() else "passed"
            when = T0 + dt.timedelta(hours=3 * r + s)
            make_run(db, sled, sled_plan, when, status, steps, chip_verdicts=verdicts)
    return runs


def _open_panel(qtbot, window):
    """View ▸ Analytics through its key; the plans arrive from the worker."""
    panel = window.analytics
    with qtbot.waitSignal(panel.loaded, timeout=15_000):
        QTest.keyClick(
            window,
            Qt.Key.Key_A,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
    return panel


def _choose_plan(qtbot, panel, name: str) -> None:
    index = panel.plan.findData(name)
    assert index >= 0
    if panel.plan.currentIndex() == index:
        return
    with qtbot.waitSignal(panel.loaded, timeout=15_000):
        panel.plan.setCurrentIndex(index)


def _shown(view) -> list[list[str]]:
    model = view.model()
    return [
        [model.index(r, c).data() for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def test_shortcut_opens_the_panel_with_the_plans_and_yield(qtbot, window, lab):
    panel = _open_panel(qtbot, window)
    assert window.analytics_dock.isVisible()
    assert [panel.plan.itemData(i) for i in range(panel.plan.count())] == [
        "power-on",
        "sled-power-on",
    ]
    _choose_plan(qtbot, panel, "power-on")
    # 13 chips, two failed their only attempt: FPY = LPY = 11/13.
    assert _shown(panel.yield_table) == [["all", "13", "84.6 %", "84.6 %", "13", "0"]]
    # The trend: one point per UTC day (runs every 6 h from 08:00 on the 20th; run 3, at
    # 02:00 on the 21st, and run 7, at 02:00 on the 22nd, failed).
    days, fpy = panel.trend.lines["all"]
    assert days == ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"]
    assert fpy == pytest.approx([100.0, 75.0, 75.0, 100.0])


def test_view_menu_action_and_per_station_grouping(qtbot, window, lab):
    panel = window.analytics
    with qtbot.waitSignal(panel.loaded, timeout=15_000):
        window.analytics_action.trigger()
    _choose_plan(qtbot, panel, "power-on")
    with qtbot.waitSignal(panel.loaded, timeout=15_000):
        qtbot.mouseClick(panel.per_station, Qt.MouseButton.LeftButton)
    groups = {row[0]: row for row in _shown(panel.yield_table)}
    assert set(groups) == {"bench-1", "bench-2"}
    assert groups["bench-1"][1:3] == ["6", "66.7 %"]  # runs 1 3 5 7 9 11; 3 and 7 failed
    assert groups["bench-2"][1:3] == ["7", "100.0 %"]
    assert set(panel.trend.lines) == {"bench-1", "bench-2"}
    with qtbot.waitSignal(panel.loaded, timeout=15_000):
        panel.trend_by.setCurrentIndex(panel.trend_by.findData("week"))
    assert panel.trend.lines["bench-2"][0] == ["2026-W47", "2026-W48"]


def test_period_quick_pick_leaves_out_old_runs(qtbot, window, lab):
    panel = _open_panel(qtbot, window)
    _choose_plan(qtbot, panel, "power-on")
    with qtbot.waitSignal(panel.loaded, timeout=15_000):
        panel.period.setCurrentIndex(panel.period.findText("Last 7 days"))
    # Every run of the fixture is from 2026-11-20..23; "now" is later than a week after.
    if dt.datetime.now(dt.UTC) > T0 + dt.timedelta(days=11):
        assert _shown(panel.yield_table) == []
    with qtbot.waitSignal(panel.loaded, timeout=15_000):
        panel.period.setCurrentIndex(panel.period.findText("Dates"))
    for edit in (panel.since, panel.until):
        day = edit.date().fromString("2026-11-21", "yyyy-MM-dd")
        if edit.date() == day:
            continue  # "Last 7 days" left it there (run on 2026-11-28): no edit, no reload
        with qtbot.waitSignal(panel.loaded, timeout=15_000):
            edit.setDate(day)
    # 2026-11-21 (the until day included): runs 3..6, run 3 failed.
    assert _shown(panel.yield_table) == [["all", "4", "75.0 %", "75.0 %", "4", "0"]]


def test_capability_table_flags_low_cpk_with_a_word_and_colour(qtbot, window, lab):
    panel = _open_panel(qtbot, window)
    _choose_plan(qtbot, panel, "power-on")
    rows = _shown(panel.capability_table)
    names = [r[1] for r in rows]
    assert names[:2] == ["vdd", "idd"]  # worst Cpk first
    vdd, idd = rows[0], rows[1]
    header = panel.capability_model.headers
    cpk, margin = header.index("Cpk"), header.index("Margin")
    assert vdd[margin] == "LOW Cpk" and idd[margin] == "capable"
    assert float(vdd[cpk]) < 1.33 < float(idd[cpk])
    model = panel.capability_table.model()
    for column in (cpk, margin):
        colour = model.index(0, column).data(Qt.ItemDataRole.BackgroundRole)
        assert colour == verdict_colors(window.theme, "marginal")[0]
        assert model.index(1, column).data(Qt.ItemDataRole.BackgroundRole) is None


def test_capability_csv_through_the_file_dialog(qtbot, window, lab, tmp_path, monkeypatch):
    panel = _open_panel(qtbot, window)
    _choose_plan(qtbot, panel, "power-on")
    target = tmp_path / "cap.csv"
    asked = []

    def answer(parent, title, suggested, filters):
        asked.append(suggested)
        return str(target), filters

    monkeypatch.setattr(analytics_tables.QFileDialog, "getSaveFileName", answer)
    panel.tabs.setCurrentIndex(1)
    qtbot.mouseClick(panel.export_capability, Qt.MouseButton.LeftButton)
    assert asked == ["power-on-capability.csv"]
    with open(target, newline="", encoding="utf-8") as f:
        written = list(csv.DictReader(f))
    assert [r["name"] for r in written[:2]] == ["vdd", "idd"]
    assert (written[0]["flagged"], written[1]["flagged"]) == ("true", "false")
    assert "Wrote" in panel.status.text()
    # The yield and Pareto tables too.
    target = tmp_path / "pareto.csv"
    qtbot.mouseClick(panel.export_pareto, Qt.MouseButton.LeftButton)
    with open(target, newline="", encoding="utf-8") as f:
        assert list(csv.reader(f)) == [
            ["step", "name", "count", "cumulative_pct"],
            ["rails", "clk", "2", "100.0"],
        ]


def test_histogram_and_control_chart_of_the_item_picked(qtbot, window, lab):
    panel = _open_panel(qtbot, window)
    _choose_plan(qtbot, panel, "power-on")
    panel.tabs.setCurrentIndex(1)
    if panel.control.chart is None or panel.control.chart.name != "vdd":
        qtbot.waitSignal(panel.chart_loaded, timeout=15_000).wait()
    hist = panel.histogram
    assert hist.counts.sum() == len(VDD)
    assert hist.limit_lines == {"low": 0.70, "high": 0.80}
    assert len(hist.curve[0]) == 200 and hist.curve[1].max() > 0
    chart = panel.control
    assert [p.value for p in chart.chart.points] == pytest.approx(VDD)
    assert set(chart.lines) == {"centre", "ucl", "lcl", "mr_mean", "mr_ucl"}
    # The jump of the last run is beyond 3σ: its own marker, and a tip naming the rule.
    last = lab[-1].id
    assert 1 in chart.violation_runs[last]
    (spot,) = [s for s in chart.violations.points() if s.data()[0] == last]
    assert "rule 1: beyond 3σ" in chart._tip(spot.pos().x(), spot.pos().y(), spot.data())
    # Picking the next item reads its chart.
    with qtbot.waitSignal(panel.chart_loaded, timeout=15_000):
        panel.capability_table.selectRow(1)
    assert chart.chart.name == "idd"


def test_clicking_a_control_chart_point_opens_its_run_in_history(qtbot, window, lab):
    panel = _open_panel(qtbot, window)
    _choose_plan(qtbot, panel, "power-on")
    panel.tabs.setCurrentIndex(1)
    if panel.control.chart is None:
        qtbot.waitSignal(panel.chart_loaded, timeout=15_000).wait()
    opened = []
    window.history.detail.open_run = lambda run_id, slot=None: opened.append(run_id)
    qtbot.waitUntil(lambda: panel.control.values_widget.isVisible(), timeout=5_000)
    where: QPoint = panel.control.point_position(4)
    qtbot.mouseClick(panel.control.values_widget.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert opened == [lab[4].id]
    assert window.history_dock.isVisible()


def test_sled_heatmap_shows_the_bad_slot_hot(qtbot, window, lab):
    panel = _open_panel(qtbot, window)
    _choose_plan(qtbot, panel, "sled-power-on")
    assert panel.tabs.isTabEnabled(panel.tabs.indexOf(panel.heat_tab))
    panel.tabs.setCurrentWidget(panel.heat_tab)
    assert panel.heat_item.currentText() == "vdd"
    heat = panel.heatmap
    # Slot 2 failed 4 of its 6 judgements: yield 33 %, full heat; the others 100 %.
    assert heat.cells[2].value == pytest.approx(2 / 6)
    assert heat.cells[2].heat == 1.0 and heat.cells[0].heat == 0.0
    assert heat.colors[2] != heat.colors[0]
    assert heat.colors[2].green() < heat.colors[0].green()
    assert "Hot slots: 2" in panel.heat_note.text()
    panel.heat_by.setCurrentIndex(panel.heat_by.findData("mean"))
    assert heat.cells[2].value == pytest.approx(0.80)
    assert heat.cells[2].heat > 0.5 > heat.cells[1].heat
    assert heat.colors[2].green() < heat.colors[1].green()  # towards the failed red
    assert "HOT" in heat.cells[2].text or "Hot slots: 2" in panel.heat_note.text()


def test_chips_of_a_sled_plan_as_units(qtbot, window, lab):
    panel = _open_panel(qtbot, window)
    _choose_plan(qtbot, panel, "sled-power-on")
    # Two sleds, each failed its first two runs (slot 2) and passed the third.
    assert _shown(panel.yield_table) == [["all", "2", "0.0 %", "100.0 %", "6", "0"]]
    assert panel.chip_units.isEnabled()
    with qtbot.waitSignal(panel.loaded, timeout=15_000):
        qtbot.mouseClick(panel.chip_units, Qt.MouseButton.LeftButton)
    # Eight chips: the two in slot 2 failed first, passed last.
    assert _shown(panel.yield_table) == [["all", "8", "75.0 %", "100.0 %", "24", "0"]]
    assert panel.status.text().startswith("8 chips")


def test_heatmap_tab_is_off_for_a_chip_plan(qtbot, window, lab):
    panel = _open_panel(qtbot, window)
    _choose_plan(qtbot, panel, "power-on")
    assert not panel.tabs.isTabEnabled(panel.tabs.indexOf(panel.heat_tab))


def test_dark_theme_recolours_the_flags(qtbot, window, lab):
    panel = _open_panel(qtbot, window)
    _choose_plan(qtbot, panel, "power-on")
    with qtbot.waitSignal(panel.loaded, timeout=15_000):
        window.dark_action.trigger()
    model = panel.capability_table.model()
    margin = panel.capability_model.headers.index("Margin")
    assert model.index(0, margin).data() == "LOW Cpk"
    assert (
        model.index(0, margin).data(Qt.ItemDataRole.BackgroundRole)
        == verdict_colors(window.theme, "marginal")[0]
    )
    assert panel.heatmap.theme is window.theme


def test_an_empty_database_says_what_to_do(qtbot, window):
    panel = _open_panel(qtbot, window)
    assert panel.plan.count() == 0
    assert panel.status.text() == "No plan stored yet: run one first."
    assert panel.yield_model.rowCount() == 0


def test_the_shortcut_is_listed_and_clashes_with_no_other(window):
    from labbench.ui.shortcuts import shortcut_rows

    keys = [k for _, keys in shortcut_rows(window) for k in keys.split(", ")]
    assert keys.count("Ctrl+Shift+A") == 1
    assert len(keys) == len(set(keys))


def test_heat_scales_of_the_slot_cells():
    from labbench.records import CapabilityRow, ItemYieldRow
    from labbench.ui.sled_heatmap import mean_cells, slot_items, yield_cells

    assert slot_items(["fan", "vdd[0]", "vdd[1]", "idd[0]", "vdd[2]"]) == ["vdd", "idd"]
    rows = [ItemYieldRow("rails", f"vdd[{s}]", 20, ok) for s, ok in enumerate((20, 18, 15))]
    rows.append(ItemYieldRow("rails", "fan", 20, 0))  # the sled's own item: no slot
    cells = yield_cells(rows, "vdd")
    # 100 % cool, 90 % half, 75 % (below 80 %) full heat.
    assert [(c.slot, c.heat) for c in cells] == [(0, 0.0), (1, pytest.approx(0.5)), (2, 1.0)]

    def cap(slot, mean, low=0.7, high=0.8):
        return CapabilityRow(slot, "rails", f"vdd[{slot}]", "vdd", "V", 10, mean, 0.01, 0.01,
                             low, high, None, None, None, None)  # fmt: skip

    # Median 0.75; a quarter of the 0.1 V span away is full heat.
    cells = mean_cells([cap(0, 0.75), cap(1, 0.7625), cap(2, 0.72)], "vdd")
    assert [c.heat for c in cells] == [0.0, pytest.approx(0.5), 1.0]
    # Without limits the farthest slot is the hottest.
    cells = mean_cells([cap(s, m, None, None) for s, m in enumerate((1.0, 1.0, 3.0))], "vdd")
    assert [c.heat for c in cells] == [0.0, 0.0, 1.0]
