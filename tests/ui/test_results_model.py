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


SEQ = """
[plan]
name = "seq"
version = "1"
dut_kind = "chip"
[[channel]]
name = "vdd_core"
unit = "V"
[[step]]
name = "on"
duration_s = 1.0
  [[step.timing]]
  kind = "rise"
  channel = "vdd_core"
  nominal = 0.75
  high_ms = 8
"""


def test_timing_items_have_rows_with_ms_limits_and_a_banner_sentence(qapp):
    from labbench.ui.banner import criterion_sentence

    model = ResultsModel()
    model.set_plan(parse_plan(SEQ))
    columns = [model.headerData(c, 1) for c in range(model.columnCount())]
    row = [model.index(0, c).data() for c in range(model.columnCount())]
    shown = dict(zip(columns, row, strict=True))
    assert model.rowCount() == 1 and "vdd_core_rise" in row and "≤ 8 ms" in row, shown
    reason = "vdd_core rose from 10 % to 90 % in 20.5 ms, outside ≤ 8 ms"
    item = CriterionRecord(
        "timing", "vdd_core_rise", "vdd_core", "ms", "rise", 20.5, reason, None, 8.0, None,
        None, None, 0.0, 0.0, 100, "failed",
    )  # fmt: skip
    model.update_steps(_step([item]))
    assert model.rowCount() == 1
    assert criterion_sentence("on", item) == f"on: vdd_core_rise: {reason}"
