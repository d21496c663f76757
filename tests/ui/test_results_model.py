"""The results table: a sled plan's per-slot items become one row per chip, and a tick that
changes many rows tells the view once."""

from __future__ import annotations

from labbench.records import CriterionRecord, StepRecord
from labbench.runs.plan import parse_plan
from labbench.ui.results_model import ResultsModel

PLAN = """
[plan]
name = "sled"
version = "1"
dut_kind = "sled"
[[channel]]
name = "vdd_core"
unit = "V"
per_slot = true
[[step]]
name = "on"
duration_s = 1.0
  [[step.limit]]
  channel = "vdd_core"
  low = 0.72
  high = 0.78
  [[step.measure]]
  name = "vdd_core_p2p"
  channel = "vdd_core"
  stat = "p2p"
  high = 0.04
  [[step.limit]]
  channel = "fan_rpm"
  low = 1000
"""


def _item(kind, name, value, verdict="passed", slot=None, chip=""):
    return CriterionRecord(
        kind, name, name.split("[")[0], "V", "p2p" if kind == "measure" else "", value, "",
        0.72, 0.78, None, None, None, 0.0, 0.0, 10, verdict, (), slot, chip,
    )  # fmt: skip


def _step(items):
    return [StepRecord(0, "on", 0, None, "passed", tuple(items))]


def test_per_chip_items_take_their_plan_items_rows(qapp):
    model = ResultsModel()
    model.set_plan(parse_plan(PLAN))
    assert model.rowCount() == 3
    items = [_item("limit", f"vdd_core[{s}]", 0.75, slot=s, chip=f"CHP-{s}") for s in (2, 0, 1)]
    items += [
        _item("measure", f"vdd_core_p2p[{s}]", 0.01, "failed" if s == 1 else "passed", slot=s)
        for s in range(3)
    ]
    items.append(_item("limit", "fan_rpm", 2400.0))
    failed = []
    model.item_failed.connect(failed.append)
    model.update_steps(_step(items))
    names = [model.index(r, 1).data() for r in range(model.rowCount())]
    assert names == [
        "vdd_core[0] CHP-0", "vdd_core[1] CHP-1", "vdd_core[2] CHP-2", "fan_rpm",
        "vdd_core_p2p[0]", "vdd_core_p2p[1]", "vdd_core_p2p[2]",
    ]  # fmt: skip
    assert [model.verdict_of(r) for r in range(7)] == ["passed"] * 5 + ["failed", "passed"]
    assert failed == [5]
    assert "0.75 V" in model.index(0, 3).data()


def test_a_tick_that_changes_many_rows_signals_once(qapp):
    model = ResultsModel()
    model.set_plan(parse_plan(PLAN))
    items = [_item("limit", f"vdd_core[{s}]", 0.75, slot=s) for s in range(16)]
    model.update_steps(_step(items))
    spans = []
    model.dataChanged.connect(lambda a, b: spans.append((a.row(), b.row())))
    model.update_steps(_step([_item("limit", f"vdd_core[{s}]", 0.76, slot=s) for s in range(16)]))
    assert spans == [(0, 15)]
    model.update_steps(_step([_item("limit", f"vdd_core[{s}]", 0.76, slot=s) for s in range(16)]))
    assert spans == [(0, 15)], "nothing changed: nothing signalled"
