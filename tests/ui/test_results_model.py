"""The results table: a tick that changes many rows (a sled's per-chip items) tells the view
once, as one span."""

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


def test_a_tick_that_changes_many_rows_signals_once(qapp):
    model = ResultsModel()
    model.set_plan(parse_plan(PLAN))
    items = [_item("limit", f"vdd_core[{s}]", 0.75, slot=s) for s in range(16)]
    model.update_steps(_step(items))
    rows = {model.index(r, 1).data(): r for r in range(model.rowCount())}
    chips = [rows[f"vdd_core[{s}]"] for s in range(16)]
    spans = []
    model.dataChanged.connect(lambda a, b: spans.append((a.row(), b.row())))
    model.update_steps(_step([_item("limit", f"vdd_core[{s}]", 0.76, slot=s) for s in range(16)]))
    assert spans == [(min(chips), max(chips))] and max(chips) - min(chips) == 15
    model.update_steps(_step([_item("limit", f"vdd_core[{s}]", 0.76, slot=s) for s in range(16)]))
    assert len(spans) == 1, "nothing changed: nothing signalled"
