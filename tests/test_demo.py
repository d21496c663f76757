"""The demo database: sleds with chips placed, and a sled run of the sled-chips plan recorded
through the real run path on a 4-chip rig whose vdd_core droops on slot 2 alone."""

from __future__ import annotations

import numpy as np

from labbench.demo import DEMO_CHIPS, DEMO_SLEDS, open_demo_database
from labbench.runs.plan import load_plan
from labbench.storage import history as history_store
from labbench.storage import inventory as inventory_store
from labbench.storage import results as result_store
from labbench.storage import runs as run_store
from labbench.storage.telemetry_read import read_channel
from labbench.ui.demo_run import (
    DEMO_FAILING_SLOT,
    DEMO_PLAN,
    DEMO_SEQUENCING_CHIP,
    demo_request,
    record_demo_run,
    record_sequencing_run,
)


def test_the_demo_sleds_hold_chips(tmp_path):
    db = open_demo_database(tmp_path)
    try:
        sled = inventory_store.find_dut(db, DEMO_SLEDS[0][0])
        assert sled.kind == "sled" and sled.slot_count == 4
        placed = {
            slot: chip.serial for slot, chip in inventory_store.sled_slots(db, sled.id).items()
        }
        assert placed == {slot: DEMO_CHIPS[slot][0] for slot in range(4)}
        request = demo_request(db)
        assert request.dut.id == sled.id and request.plan.dut_kind == "sled"
        assert "vdd_core" in request.plan.per_slot_channels
    finally:
        db.dispose()


def test_the_sled_chips_plan_is_a_short_per_chip_plan(tmp_path):
    from labbench import paths

    plan = load_plan(paths.resources_dir() / "plans" / DEMO_PLAN)
    assert plan.name == "sled-chips" and plan.dut_kind == "sled"
    assert 2.0 <= plan.duration_s <= 8.0
    judged = {s.channel for step in plan.steps for s in (*step.limits, *step.measures)}
    assert {"vdd_core", "temp_die"} <= judged and {"vdd_core", "temp_die"} <= plan.per_slot_channels
    assert any(step.measures for step in plan.steps)


def test_the_demo_sled_run_fails_chip_2_alone(tmp_path):
    db = open_demo_database(tmp_path)
    try:
        outcome = record_demo_run(db)
        run = run_store.get_run(db, outcome.run_id)
        sled = inventory_store.find_dut(db, DEMO_SLEDS[0][0])
        assert run.dut_id == sled.id and run.status in ("failed", "error")
        assert outcome.live_agrees
        # The run is in History, with the placement it ran with.
        rows = history_store.query_runs(db, plan="sled-chips")
        assert [(row.id, row.dut_serial) for row in rows] == [(outcome.run_id, sled.serial)]
        slots = {s.slot: s.chip_serial for s in run_store.run_slots(db, outcome.run_id)}
        assert slots == {slot: DEMO_CHIPS[slot][0] for slot in range(4)}
        # The droop is in the stored telemetry of slot 2 only.
        for slot in range(4):
            _, v = read_channel(db, outcome.run_id, f"vdd_core[{slot}]")
            assert v.size > 500
            if slot == DEMO_FAILING_SLOT:
                assert float(np.min(v)) < 0.70
            else:
                assert float(np.min(v[v.size // 4 :])) > 0.73, slot
        per_chip = [c for s in outcome.steps for c in s.criteria if c.slot is not None]
        if per_chip:  # judged per chip: chip 2 failed, its siblings did not
            failed = {c.slot for c in per_chip if c.verdict == "failed"}
            assert failed == {DEMO_FAILING_SLOT}
            assert outcome.status == "failed"
    finally:
        db.dispose()


def test_the_demo_power_sequencing_run_passes_every_timing_item(tmp_path):
    db = open_demo_database(tmp_path)
    try:
        outcome = record_sequencing_run(db)
        assert outcome.status == "passed" and outcome.live_agrees
        run = run_store.get_run(db, outcome.run_id)
        chip = inventory_store.find_dut(db, DEMO_SEQUENCING_CHIP)
        assert run.dut_id == chip.id
        rows = history_store.query_runs(db, plan="power-sequencing")
        assert [row.id for row in rows] == [outcome.run_id]
        timing = [
            c for s in result_store.run_results(db, outcome.run_id) for c in s.criteria
            if c.kind == "timing"
        ]  # fmt: skip
        assert len(timing) == 6
        assert {c.verdict for c in timing} == {"passed"}
        assert all(c.value is not None and c.value > 0 for c in timing)
    finally:
        db.dispose()
