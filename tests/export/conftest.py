"""Stored runs for the JUnit and JSON exports: real runs of short plans on simulated rigs (a
failing sled judged per chip, a passing chip, a chip with an item the rig never reports), and
a run written through the storage rooms that holds what a simulated rig does not produce on
demand (a marginal item, a NaN value, a skipped step, hostile text, notes, a disconnect)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from labbench.protocols.profile import load_profile
from labbench.records import CriterionRecord, StepRecord, ViolationRecord
from labbench.runs.plan import parse_plan
from labbench.runs.sequencer import RunRequest, run_plan
from labbench.storage import Database, inventory, open_database
from labbench.storage import events as event_store
from labbench.storage import plans as plan_store
from labbench.storage import results as result_store
from labbench.storage import runs as run_store

ROOT = Path(__file__).resolve().parents[2]
JUNIT_XSD = ROOT / "tests" / "data" / "junit-10.xsd"
RECORD_SCHEMA = ROOT / "docs" / "record-schema.json"

SLED_PLAN = """\
[plan]
name = "sled-export"
version = "2"
dut_kind = "sled"

[[channel]]
name = "vdd_core"
unit = "V"
per_slot = true

[[channel]]
name = "fan_rpm"
unit = "rpm"

[[step]]
name = "power-on"
duration_s = 2.0
send = ["PWR ON"]

  [[step.limit]]
  channel = "vdd_core"
  low = 0.72
  high = 0.78
  settle_s = 0.5
  hold_s = 0.05

  [[step.measure]]
  name = "vdd_core_mean"
  channel = "vdd_core"
  stat = "mean"
  low = 0.70
  high = 0.80
  settle_s = 0.5

  [[step.limit]]
  channel = "fan_rpm"
  low = 1000

[[step]]
name = "self-test"
duration_s = 0.5
send = ["BIST"]

  [[step.result]]
  name = "bist"
  equals = "PASS"
"""
# Slot 2's vdd_core droops to 0.68 V for 0.3 s inside the judged part of the step.
DROOP = "mock://rail-droop?rate=200&slots=4&slot=2&droop_at=1.0"

CHIP_PLAN = """\
[plan]
name = "chip-export"
version = "1"
dut_kind = "chip"

[[channel]]
name = "vdd_core"
unit = "V"

[[step]]
name = "power-on"
duration_s = 1.0
send = ["PWR ON"]

  [[step.limit]]
  channel = "vdd_core"
  low = 0.70
  high = 0.80
  settle_s = 0.2

[[step]]
name = "self-test"
duration_s = 0.5
send = ["BIST"]

  [[step.result]]
  name = "bist"
  equals = "PASS"
"""
# The same plan with a result the simulated rig never reports: an error item.
ERROR_PLAN = (
    CHIP_PLAN.replace('"chip-export"', '"chip-export-error"')
    + """
  [[step.result]]
  name = "eye_scan"
  equals = "PASS"
"""
)

EVIL = "=<b>\"&amp;'\x07\x1b"  # markup, a formula, quotes and control bytes


@dataclass(frozen=True)
class StoredRuns:
    db: Database
    target: str
    failing_sled: int
    passing_chip: int
    error_chip: int
    built: int


def _real_run(db, plan_text: str, dut, device: str, operator: str) -> int:
    plan = parse_plan(plan_text, "export-test.toml")
    request = RunRequest(plan, dut, device, load_profile("default"), operator, "bench-7")
    return run_plan(db, request).run_id


def build_stored_run(db: Database) -> int:
    """A finished chip run written through the rooms: marginal, NaN, skipped, hostile text."""
    chip = inventory.add_dut(db, "chip", "CHP" + EVIL)
    station = inventory.ensure_station(db, "bench" + EVIL)
    plan = plan_store.store_plan_version(db, "hand" + EVIL, "9", "chip", "# plan text\n")
    start = dt.datetime(2026, 11, 27, 3, 0, 0, 250000, tzinfo=dt.UTC)
    run = run_store.start_run(
        db,
        chip.id,
        plan_id=plan.id,
        station_id=station.id,
        operator="op" + EVIL,
        device="mock://nominal",
        profile="default",
        started_at=start,
    )
    t0 = run.t0_ns

    def ns(s: float) -> int:
        return t0 + int(s * 1e9)

    def item(kind, name, verdict, value, **extra) -> CriterionRecord:
        fields = {
            "kind": kind,
            "name": name,
            "channel": extra.pop("channel", "vdd" + EVIL if kind in ("limit", "measure") else ""),
            "unit": "V",
            "stat": "mean" if kind == "measure" else "",
            "value": value,
            "text_value": extra.pop("text_value", ""),
            "low": 0.72,
            "high": 0.78,
            "marginal_low": 0.73,
            "marginal_high": 0.77,
            "equals": None,
            "settle_s": 0.0,
            "hold_s": 0.0,
            "sample_count": 100,
            "verdict": verdict,
        }
        fields.update(extra)
        return CriterionRecord(**fields)

    steps = [
        StepRecord(
            0,
            "warm" + EVIL,
            ns(0.0),
            ns(2.5),
            "failed",
            (
                item("limit", "vdd" + EVIL, "marginal", 0.7712),
                item("measure", "mean" + EVIL, "failed", float("nan")),
                item(
                    "limit",
                    "vdd_high",
                    "failed",
                    0.81,
                    violations=(
                        ViolationRecord("vdd" + EVIL, 1.25, 1.5, 0.81, "high"),
                        ViolationRecord("vdd" + EVIL, 2.0, 2.125, 0.79, "high"),
                    ),
                ),
                item(
                    "manual",
                    "look" + EVIL,
                    "failed",
                    None,
                    unit="",
                    text_value="no" + EVIL,
                    equals="yes",
                    low=None,
                    high=None,
                    marginal_low=None,
                    marginal_high=None,
                ),
                item("measure", "silent", "error", None, sample_count=0),
            ),
        ),
        StepRecord(1, "cool-down", ns(2.5), None, "skipped"),
    ]
    result_store.store_results(db, run.id, steps)
    event_store.add_run_event(db, run.id, "connect", "mock://nominal", at_ns=ns(0.0))
    event_store.add_run_event(db, run.id, "command", "PWR ON" + EVIL, at_ns=ns(0.01))
    event_store.add_run_event(db, run.id, "disconnect", "cable" + EVIL, at_ns=ns(1.0))
    event_store.add_run_event(db, run.id, "reconnect", "back", at_ns=ns(1.5))
    for k in range(5):
        event_store.add_run_event(db, run.id, "console", f"line {k}", at_ns=ns(0.1 * k))
    event_store.add_audit_entry(
        db, user="ana" + EVIL, entity="run", entity_id=run.id, action="note", reason="n" + EVIL
    )
    event_store.add_audit_entry(  # an audit entry that is not a note is not an operator note
        db, user="ana", entity="run", entity_id=run.id, action="reparse", reason="profile fix"
    )
    run_store.finish_run(
        db,
        run.id,
        "failed",
        ended_at=start + dt.timedelta(seconds=2.5),
        sample_count=1000,
        violation_count=2,
        failed_items=4,
    )
    return run.id


@pytest.fixture(scope="session")
def stored_runs(tmp_path_factory) -> StoredRuns:
    folder = tmp_path_factory.mktemp("records")
    target = str(folder / "records.sqlite3")
    db = open_database(target)
    sled = inventory.add_dut(db, "sled", "SLD-EXP", slot_count=4)
    for slot, serial in ((0, "CHP-0"), (1, "CHP-1"), (2, "CHP-2")):  # slot 3 stays empty
        chip = inventory.add_dut(db, "chip", serial)
        inventory.place_chip(db, chip.id, sled.id, slot)
    chip = inventory.add_dut(db, "chip", "CHP-SOLO")
    runs = StoredRuns(
        db=db,
        target=target,
        failing_sled=_real_run(db, SLED_PLAN, sled, DROOP, "ana"),
        passing_chip=_real_run(db, CHIP_PLAN, chip, "mock://nominal?rate=200", "ana"),
        error_chip=_real_run(db, ERROR_PLAN, chip, "mock://nominal?rate=200", "ana"),
        built=build_stored_run(db),
    )
    yield runs
    db.dispose()


def load_json(path) -> dict:
    """Strict JSON: NaN or Infinity in the file is an error, not a float."""

    def refuse(token: str):
        raise ValueError(f"{token} is not JSON")

    return json.loads(Path(path).read_text(encoding="utf-8"), parse_constant=refuse)
