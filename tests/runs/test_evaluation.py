"""The live evaluator: flat memory and snapshot cost, pushed verdict changes, one derivation."""

from __future__ import annotations

import math
import threading
import time
import tracemalloc

import numpy as np

from labbench.acquisition.pipeline import SampleBatch
from labbench.runs.evaluation import ItemVerdictChanged, LiveEvaluator, ViolationFound, disagreement
from labbench.runs.judgement import Judgement
from labbench.runs.plan import parse_plan

PLAN = """
[plan]
name = "soak"
version = "1"
dut_kind = "sled"

[[channel]]
name = "vdd_core"
unit = "V"

[[step]]
name = "soak"
duration_s = 3600.0
  [[step.limit]]
  channel = "vdd_core"
  low = 0.72
  high = 0.78
  hold_s = 0.0
  [[step.measure]]
  name = "vdd_mean"
  channel = "vdd_core"
  stat = "mean"
  low = 0.74
  high = 0.76
  [[step.measure]]
  name = "vdd_std"
  channel = "vdd_core"
  stat = "std"
  high = 0.01
  [[step.measure]]
  name = "vdd_p2p"
  channel = "vdd_core"
  stat = "p2p"
  high = 0.05
  [[step.result]]
  name = "bist"
  equals = "PASS"
"""

RATE = 1000.0  # samples per second


def _batch(
    first: int, n: int, *, values=None, emitted_ns=0, results=(), link_changes=()
) -> SampleBatch:
    t = (first + np.arange(n)) / RATE
    v = 0.75 + 1e-3 * np.sin(t) if values is None else np.asarray(values, float)
    return SampleBatch(
        {"vdd_core": (t, v)}, {}, [], list(results), n, 0, emitted_ns, list(link_changes)
    )


def _evaluator(**kwargs) -> LiveEvaluator:
    evaluator = LiveEvaluator(parse_plan(PLAN, "soak.toml"), 0, **kwargs)
    evaluator.begin_step(0, 0, 0.0)
    return evaluator


def _traced_bytes(action) -> tuple[int, int]:
    """(bytes still allocated after ``action``, peak bytes during it), from tracemalloc."""
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    action()
    now, peak = tracemalloc.get_traced_memory()
    return now - before, peak - before


def test_memory_and_snapshot_cost_stay_flat_over_a_one_hour_step():
    """3.6 M samples (1 h at 1 kHz) in 10 000-sample batches: what the evaluator retains and
    what a snapshot allocates are the same after 36 000 samples as after 3.6 M."""
    evaluator = _evaluator(refresh_s=math.inf)  # a snapshot only copies (no periodic rebuild)
    batch_n = 10_000
    tracemalloc.start()
    try:
        evaluator.on_batch(_batch(0, batch_n, emitted_ns=1))
        evaluator.on_batch(_batch(batch_n, batch_n, emitted_ns=2))
        evaluator.on_batch(_batch(2 * batch_n, batch_n, emitted_ns=3))
        early_snapshot = _traced_bytes(evaluator.snapshot)[1]
        baseline = tracemalloc.get_traced_memory()[0]

        def rest_of_the_hour():
            for k in range(3, 360):
                evaluator.on_batch(_batch(k * batch_n, batch_n, emitted_ns=k + 1))

        rest_of_the_hour()
        retained = tracemalloc.get_traced_memory()[0] - baseline
        late_snapshot = _traced_bytes(evaluator.snapshot)[1]
    finally:
        tracemalloc.stop()
    record = evaluator.step_record(0, {})
    assert {c.name: c.sample_count for c in record.criteria}["vdd_mean"] == 3_600_000
    # The old evaluator kept every sample: 3.57 M more samples would be 57 MB of t and v.
    assert retained < 64 * 1024, retained
    assert late_snapshot <= early_snapshot + 1024, (early_snapshot, late_snapshot)
    assert late_snapshot < 16 * 1024, late_snapshot


def test_live_stats_equal_numpy_on_everything_fed():
    evaluator = _evaluator()
    rng = np.random.default_rng(7)
    values = 0.75 + 1e-3 * rng.standard_normal(50_000)
    at = 0
    for k, size in enumerate([1, 4095, 4096, 13, 30_000, 11_795]):
        evaluator.on_batch(_batch(at, size, values=values[at : at + size], emitted_ns=k + 1))
        at += size
    items = {c.name: c for c in evaluator.step_record(0, {}).criteria}
    assert items["vdd_mean"].value == np.float64(values.mean()) or math.isclose(
        items["vdd_mean"].value, values.mean(), rel_tol=1e-14
    )
    assert math.isclose(items["vdd_std"].value, values.std(), rel_tol=1e-9)
    assert items["vdd_p2p"].value == values.max() - values.min()
    assert items["vdd_core"].sample_count == values.size


def test_snapshot_verdicts_are_current_at_once_and_values_catch_up_within_the_refresh():
    """A batch that changes no verdict does not rebuild the records (their values may lag by
    ``refresh_s``); one that changes a verdict does, at once."""
    evaluator = _evaluator(refresh_s=3600.0)
    evaluator.on_batch(_batch(0, 100, emitted_ns=1))  # error -> passed: rebuilt now
    items = {c.name: c for c in evaluator.snapshot()[0].criteria}
    assert (items["vdd_core"].verdict, items["vdd_mean"].sample_count) == ("passed", 100)
    evaluator.on_batch(_batch(100, 100, emitted_ns=2))  # nothing changes its verdict
    items = {c.name: c for c in evaluator.snapshot()[0].criteria}
    assert items["vdd_mean"].sample_count == 100  # not rebuilt: the value lags
    evaluator.on_batch(_batch(200, 1, values=[0.9], emitted_ns=3))  # the limit fails
    items = {c.name: c for c in evaluator.snapshot()[0].criteria}
    assert (items["vdd_core"].verdict, items["vdd_mean"].sample_count) == ("failed", 201)

    evaluator = _evaluator(refresh_s=0.05)
    evaluator.on_batch(_batch(0, 100, emitted_ns=1))
    evaluator.on_batch(_batch(100, 100, emitted_ns=2))
    deadline = time.monotonic() + 5
    while evaluator.snapshot()[0].criteria[1].sample_count != 200:
        assert time.monotonic() < deadline, "the snapshot's values never caught up"
        time.sleep(0.01)


def test_the_same_data_in_other_chunks_judges_identically():
    """Live batches and stored chunks cut the data differently; the records must not differ."""
    plan = parse_plan(PLAN, "soak.toml")
    rng = np.random.default_rng(1)
    n = 40_000
    t = np.arange(n) / RATE
    v = 0.75 + 1e-3 * rng.standard_normal(n)
    v[12_345] = 0.8  # one failed excursion
    records = []
    for cuts in ([], [3, 9000, 9001, 25_000], list(range(977, n, 977))):
        judgement = Judgement(plan)
        judgement.begin(0, 0, 0.0)
        judgement.result(5, "bist", "PASS")
        for tk, vk in zip(np.split(t, cuts), np.split(v, cuts), strict=True):
            judgement.samples("vdd_core", tk, vk)
        judgement.end(int(40e9), 40.0)
        records.append([judgement.record(0, {})])
    assert records[0][0].verdict == "failed"
    assert disagreement(records[0], records[1]) is None
    assert disagreement(records[0], records[2]) is None


def test_verdict_changes_and_violations_are_pushed_outside_the_lock():
    events = []
    violations = []
    evaluator = _evaluator(
        on_violation=lambda step, channel, exc: violations.append((step, channel, exc.start_s))
    )

    def listener(event):
        events.append((event, len(evaluator.snapshot())))  # would deadlock under the lock

    evaluator.add_listener(listener)

    def feed():
        evaluator.on_batch(_batch(0, 100, emitted_ns=1, results=[(2, "bist", "PASS")]))
        evaluator.on_batch(_batch(100, 3, values=[0.75, 0.9, 0.75], emitted_ns=2))

    feeder = threading.Thread(target=feed)
    feeder.start()
    feeder.join(timeout=10)
    assert not feeder.is_alive(), "a listener was called while the evaluator held its lock"
    changes = [
        (e.item.name, e.previous, e.item.verdict)
        for e, _ in events
        if isinstance(e, ItemVerdictChanged)
    ]
    assert ("vdd_core", "error", "passed") in changes and ("bist", "error", "passed") in changes
    assert ("vdd_core", "passed", "failed") in changes
    found = [e for e, _ in events if isinstance(e, ViolationFound)]
    assert [(f.position, f.step, f.channel, f.excursion.extreme) for f in found] == [
        (0, "soak", "vdd_core", 0.9)
    ]
    assert violations == [(0, "vdd_core", 0.101)]
    # The violation is heard before the verdict it turns.
    order = [
        e if isinstance(e, ViolationFound) else (e.item.name, e.item.verdict) for e, _ in events
    ]
    assert order.index(found[0]) < order.index(("vdd_core", "failed"))
    evaluator.remove_listener(listener)
    heard = len(events)
    evaluator.on_batch(_batch(103, 3, values=[0.9, 0.9, 0.9], emitted_ns=3))
    assert len(events) == heard


def test_a_disconnect_turns_the_open_step_to_error_and_is_pushed():
    events = []
    evaluator = _evaluator()
    evaluator.on_batch(_batch(0, 100, emitted_ns=1))
    evaluator.add_listener(events.append)
    evaluator.on_batch(_batch(100, 0, emitted_ns=2, link_changes=[(10, "disconnect")]))
    turned = {e.item.name: e.item.verdict for e in events if isinstance(e, ItemVerdictChanged)}
    assert turned == {
        "vdd_core": "error",
        "vdd_mean": "error",
        "vdd_std": "error",
        "vdd_p2p": "error",
    }
    assert evaluator.snapshot()[0].verdict == "error"


def test_disagreement_is_none_for_equal_records_with_nan_and_names_a_difference():
    evaluator = _evaluator()
    evaluator.on_batch(_batch(0, 10, values=[math.nan] * 10, emitted_ns=1))
    live = evaluator.snapshot()
    again = [evaluator.step_record(0, {})]
    assert live[0] is not again[0] and disagreement(live, again) is None
    other = _evaluator()
    other.on_batch(_batch(0, 9, values=[math.nan] * 9, emitted_ns=1))
    said = disagreement(live, other.snapshot())
    assert said is not None and "'soak'" in said and "vdd_core" in said


def test_samples_judged_before_the_step_could_end_stay_in_it_live_and_final():
    """A batch cut just after the step's end can be judged before the step is closed: the
    window keeps those samples, and the replay over the same window agrees."""
    evaluator = _evaluator()
    evaluator.on_batch(_batch(0, 1000, emitted_ns=1))  # t = 0 .. 0.999 s
    evaluator.end_step(int(0.5e9), 0.5)
    window = evaluator.windows[0]
    assert window.end_s > 0.999 and window.ended_ns == int(0.5e9)
    live = [evaluator.step_record(0, {})]
    assert {c.name: c.sample_count for c in live[0].criteria}["vdd_core"] == 1000
    replay = Judgement(parse_plan(PLAN, "soak.toml"))
    replay.begin(0, 0, 0.0)
    replay.end(window.ended_ns, window.end_s)
    batch = _batch(0, 1000)
    replay.samples("vdd_core", *batch.samples["vdd_core"])
    assert disagreement(live, [replay.record(0, {})]) is None


def test_a_measurement_verdict_that_changes_alone_is_pushed_within_the_refresh():
    """Measurements are looked at when records are rebuilt, not every batch: a mean that
    drifts out while the limit stays passed still turns failed, pushed, within ``refresh_s``
    (here with no batch after the drift: the display's snapshot catches it up)."""
    evaluator = _evaluator(refresh_s=0.05)
    changes = []
    evaluator.add_listener(
        lambda e: (
            changes.append((e.item.name, e.item.verdict))
            if isinstance(e, ItemVerdictChanged)
            else None
        )
    )
    evaluator.on_batch(_batch(0, 100, values=[0.75] * 100, emitted_ns=1))
    time.sleep(0.06)
    evaluator.on_batch(_batch(100, 100, values=[0.75] * 100, emitted_ns=2))
    assert ("vdd_mean", "passed") in changes
    # Inside the limit (0.72..0.78), but it takes the mean out of 0.74..0.76.
    evaluator.on_batch(_batch(200, 800, values=[0.777] * 800, emitted_ns=3))
    deadline = time.monotonic() + 5
    while {c.name: c.verdict for c in evaluator.snapshot()[0].criteria}["vdd_mean"] != "failed":
        assert time.monotonic() < deadline, "the mean's failure never reached the snapshot"
        time.sleep(0.01)
    assert ("vdd_mean", "failed") in changes
    assert ("vdd_core", "failed") not in changes
