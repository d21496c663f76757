"""Live and final judgement made to disagree: the run records an ``evaluation_mismatch``."""

from __future__ import annotations

import time

import pytest

from labbench.protocols.profile import load_profile
from labbench.runs.events import RunStarted, StepStarted
from labbench.runs.plan import parse_plan
from labbench.runs.sequencer import RunRequest, run_plan
from labbench.storage import events as event_store
from labbench.storage import inventory as inventory_store
from labbench.storage import open_database
from labbench.storage import results as result_store
from labbench.storage import runs as run_store

PLAN = """
[plan]
name = "short-rail"
version = "1"
dut_kind = "sled"

[[channel]]
name = "vdd_core"
unit = "V"

[[step]]
name = "rail"
duration_s = 1.0
  [[step.limit]]
  channel = "vdd_core"
  low = 0.6
  high = 0.9
  [[step.measure]]
  name = "vdd_core_mean"
  channel = "vdd_core"
  stat = "mean"
  low = 0.6
  high = 0.9
  [[step.result]]
  name = "bist"
  equals = "PASS"
"""


@pytest.fixture
def db(tmp_path):
    database = open_database(str(tmp_path / "mismatch.sqlite3"))
    yield database
    database.dispose()


def _run(db, on_step=None):
    plan = parse_plan(PLAN, "short-rail.toml")
    dut = inventory_store.add_dut(db, "sled", "SLD-MISMATCH")
    run_ids = []

    def on_event(event):
        if isinstance(event, RunStarted):
            run_ids.append(event.run_id)
        elif isinstance(event, StepStarted) and on_step is not None:
            on_step(db, run_ids[0])

    outcome = run_plan(
        db,
        RunRequest(plan, dut, "mock://nominal?rate=200", load_profile("default"), "ana", "bench-1"),
        listener=on_event,
    )
    return outcome, event_store.run_events(db, outcome.run_id)


def test_live_and_final_agree_on_an_untouched_run(db):
    outcome, events = _run(db)
    assert outcome.live_agrees
    assert "evaluation_mismatch" not in [e.kind for e in events]


@pytest.mark.parametrize(
    "stored, item, final_verdict",
    [
        # A disconnect only the store knows of: the final judgement sees a link gap.
        (("disconnect", "rig gone (stored behind the live evaluator's back)"), "vdd_core", "error"),
        # A result line only the store knows of: the final judgement sees BIST fail.
        (("result", "RESULT bist FAIL"), "bist", "failed"),
    ],
)
def test_stored_data_the_live_path_never_saw_is_recorded_as_a_mismatch(
    db, stored, item, final_verdict
):
    kind, detail = stored

    def alter_the_store(db, run_id):
        event_store.add_run_event(db, run_id, kind, detail, at_ns=time.time_ns())

    outcome, events = _run(db, alter_the_store)
    assert not outcome.live_agrees
    mismatches = [e.detail for e in events if e.kind == "evaluation_mismatch"]
    assert len(mismatches) == 1
    assert (
        f"step 'rail' item {item!r}: live " in mismatches[0]
        and f"final {final_verdict}" in mismatches[0]
    )
    # The final judgement is what is stored and what the run ends with.
    stored_items = {
        c.name: c.verdict for s in result_store.run_results(db, outcome.run_id) for c in s.criteria
    }
    assert stored_items[item] == final_verdict
    assert run_store.get_run(db, outcome.run_id).status == final_verdict
