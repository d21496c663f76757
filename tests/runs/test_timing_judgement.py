"""Timing items in the judgement: the same records live (batches as they arrive) and final
(the whole window at once), stored fields as docs/architecture.md §4 describes them."""

from __future__ import annotations

import numpy as np
import pytest

from labbench.acquisition.pipeline import SampleBatch
from labbench.runs.evaluation import LiveEvaluator, disagreement
from labbench.runs.judgement import Judgement
from labbench.runs.plan import parse_plan

PLAN = """
[plan]
name = "seq"
version = "1"
dut_kind = "chip"

[[channel]]
name = "vdd_io"
unit = "V"

[[channel]]
name = "vdd_core"
unit = "V"

[[step]]
name = "power-on"
duration_s = 0.1
  [[step.timing]]
  kind = "rise"
  channel = "vdd_core"
  nominal = 0.75
  high_ms = 5
  [[step.timing]]
  kind = "delay"
  from = "vdd_io"
  to = "vdd_core"
  to_fraction = 0.1
  nominal = { vdd_io = 1.8, vdd_core = 0.75 }
  low_ms = 2
  [[step.timing]]
  kind = "order"
  channels = ["vdd_io", "vdd_core"]
  nominal = { vdd_io = 1.8, vdd_core = 0.75 }
  [[step.limit]]
  channel = "vdd_io"
  low = 0
  high = 2
"""

RATE = 2000


def _rails():
    t = np.arange(int(0.1 * RATE)) / RATE
    io = 1.8 * np.clip((t - 0.005) / 0.004, 0, 1)  # 90 % at 8.6 ms
    core = 0.75 * np.clip((t - 0.012) / 0.002, 0, 1)  # 10 % at 12.2 ms, rise 1.6 ms
    return t, {"vdd_io": io, "vdd_core": core}


def _judge(piece: int):
    judgement = Judgement(parse_plan(PLAN, "seq.toml"))
    judgement.begin(0, 0, 0.0)
    t, rails = _rails()
    for a in range(0, t.size, piece):
        for name, v in rails.items():
            judgement.samples(name, t[a : a + piece], v[a : a + piece])
    judgement.end(100_000_000, 0.1)
    return judgement.record(0, {})


def test_timing_items_are_recorded_with_ms_values_limits_and_reasons():
    record = _judge(10_000)
    items = {c.name: c for c in record.criteria}
    rise = items["vdd_core_rise"]
    assert (rise.kind, rise.stat, rise.unit, rise.channel) == ("timing", "rise", "ms", "vdd_core")
    assert rise.value == pytest.approx(1.6, abs=1e-9)
    assert (rise.low, rise.high, rise.verdict) == (None, 5.0, "passed")
    assert rise.text_value == "vdd_core rose from 10 % to 90 % in 1.6 ms"
    assert rise.sample_count == 200
    delay = items["vdd_io_to_vdd_core_delay"]
    assert delay.channel == "vdd_io,vdd_core" and delay.stat == "delay"
    assert delay.value == pytest.approx(3.6, abs=1e-9) and delay.verdict == "passed"
    assert delay.sample_count == 400
    order = items["order_vdd_io_vdd_core"]
    assert order.value == pytest.approx(13.8 - 8.6, abs=1e-9) and order.verdict == "passed"
    assert record.verdict == "passed"


@pytest.mark.parametrize("piece", [1, 3, 17, 60])
def test_any_chunking_gives_the_same_records(piece):
    assert disagreement([_judge(10_000)], [_judge(piece)]) is None


def test_live_evaluator_agrees_with_the_final_replay_and_pushes_changes():
    plan = parse_plan(PLAN, "seq.toml")
    evaluator = LiveEvaluator(plan, 0, refresh_s=0.0)
    changes = []
    evaluator.add_listener(changes.append)
    evaluator.begin_step(0, 0, 0.0)
    t, rails = _rails()
    for a in range(0, t.size, 8):  # 4 ms batches
        batch = {name: (t[a : a + 8], v[a : a + 8]) for name, v in rails.items()}
        evaluator.on_batch(SampleBatch(batch, {}, [], [], 16, 0, a + 1, []))
    evaluator.end_step(100_000_000, 0.1)
    live = evaluator.step_record(0, {})
    assert disagreement([live], [_judge(10_000)]) is None
    rise_changes = [c for c in changes if c.item.name == "vdd_core_rise"]
    # Silent before its first batch: error; then failed until the rail reaches 90 %.
    assert [c.item.verdict for c in rise_changes] == ["error", "failed", "passed"]


def test_a_link_gap_makes_timing_items_errors():
    judgement = Judgement(parse_plan(PLAN, "seq.toml"))
    judgement.begin(0, 0, 0.0)
    t, rails = _rails()
    for name, v in rails.items():
        judgement.samples(name, t, v)
    judgement.link_change(50, "disconnect")
    record = judgement.record(0, {})
    assert {c.verdict for c in record.criteria if c.kind == "timing"} == {"error"}


TWO_STEPS = """
[plan]
name = "two"
version = "1"
dut_kind = "chip"

[[channel]]
name = "vdd_core"
unit = "V"

[[step]]
name = "a"
duration_s = 1.0
  [[step.limit]]
  channel = "vdd_core"
  low = 0
  high = 1

[[step]]
name = "b"
duration_s = 1.0
  [[step.limit]]
  channel = "vdd_core"
  low = 0
  high = 1
"""


def _final(plan, windows, t, v):
    judgement = Judgement(plan)
    for w in windows:
        judgement.begin(w.position, w.started_ns, w.start_s)
        if w.closed:
            judgement.end(w.ended_ns, w.end_s)
    judgement.samples("vdd_core", t, v)
    return [judgement.record(k, {}) for k in range(len(windows))]


def test_a_rig_clock_behind_arrival_live_still_judges_samples_that_arrive_late():
    """Samples timed inside a window that arrive after it ended and a later batch was judged
    (a rig clock lagging the host's) are judged live as the final replay judges them."""
    plan = parse_plan(TWO_STEPS, "two.toml")
    t = np.arange(0, 2.0, 0.01)
    v = np.full(t.size, 0.5)
    live = Judgement(plan)
    live.begin(0, 0, 0.0)
    early = t < 0.9
    live.samples("vdd_core", t[early], v[early])
    live.end(1_000, 1.0)
    live.settled(2_000)  # a batch after the end was judged, but its samples were older
    live.begin(1, 2_000, 1.0)
    live.samples("vdd_core", t[~early], v[~early])  # 0.9 … 1.0 belong to step a
    live.end(3_000, 2.0)
    live.settled(4_000)
    records = [live.record(k, {}) for k in range(2)]
    assert records[0].criteria[0].sample_count == 100
    assert disagreement(records, _final(plan, live.windows, t, v)) is None


def test_a_rig_clock_ahead_of_arrival_samples_between_steps_go_to_the_next():
    """Samples timed after a step's end that arrive before the next step begins (a rig clock
    ahead of the host's) are judged in the next step, live as final; a window stretched over
    early samples makes the next one begin after them, so no sample is judged twice."""
    plan = parse_plan(TWO_STEPS, "two.toml")
    t = np.arange(0, 2.0, 0.01)
    v = np.full(t.size, 0.5)
    live = Judgement(plan)
    live.begin(0, 0, 0.0)
    live.samples("vdd_core", t[t < 1.05], v[t < 1.05])  # already past the step's 1.0 s end
    live.end(1_000, 1.0)
    assert live.windows[0].end_s > 1.04
    between = (t >= 1.05) & (t < 1.2)
    live.samples("vdd_core", t[between], v[between])  # no step open: kept for the next
    live.begin(1, 2_000, 1.02)
    assert live.windows[1].start_s == live.windows[0].end_s
    rest = (t >= 1.2) & (t < 2.0)
    live.samples("vdd_core", t[rest], v[rest])
    live.end(3_000, 2.0)
    records = [live.record(k, {}) for k in range(2)]
    assert [r.criteria[0].sample_count for r in records] == [105, 95]
    assert disagreement(records, _final(plan, live.windows, t, v)) is None


def test_samples_judged_before_the_first_step_began_but_timed_in_it_count():
    """A batch judged between the sequencer's reading of the step's start time and its
    begin: its samples timed after that start are judged in the step, live as final."""
    plan = parse_plan(TWO_STEPS, "two.toml")
    t = np.arange(0, 1.0, 0.01)
    v = np.full(t.size, 0.5)
    live = Judgement(plan)
    live.samples("vdd_core", t[:30], v[:30])  # 0 … 0.29 s, before any step began
    live.begin(0, 0, 0.1)
    live.samples("vdd_core", t[30:], v[30:])
    live.end(1_000, 1.0)
    records = [live.record(0, {})]
    assert records[0].criteria[0].sample_count == 90
    assert disagreement(records, _final(plan, live.windows, t, v)) is None
