"""A sled run judged per chip: each per-slot item once per occupied slot, with its slot and
chip; each chip's own verdict stored with the run; the command line and the report show them."""

from __future__ import annotations

import json

import numpy as np
import pandas
import pytest

from labbench import paths
from labbench.cli import main
from labbench.devices.sled import sled_channels
from labbench.protocols.profile import load_profile
from labbench.runs.judgement import Judgement, chip_verdicts
from labbench.runs.plan import load_plan, parse_plan
from labbench.runs.sequencer import RunRequest, run_plan
from labbench.storage import RecordError, history, inventory, open_database
from labbench.storage import results as result_store
from labbench.storage import runs as run_store

PLAN = """\
[plan]
name = "sled-chips-short"
version = "1"
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
  low = 0.74
  high = 0.76
  settle_s = 0.5

  [[step.limit]]
  channel = "fan_rpm"
  low = 1000
"""
# The droop of slot 2's vdd_core (0.68 V for 0.3 s) lands inside the judged part of the step.
DROOP = "mock://rail-droop?rate=200&slots=4&slot=2&droop_at=1.0"


@pytest.fixture
def target(tmp_path):
    return str(tmp_path / "chips.sqlite3")


@pytest.fixture
def db(target):
    database = open_database(target)
    yield database
    database.dispose()


@pytest.fixture
def plan_file(tmp_path):
    path = tmp_path / "sled-chips-short.toml"
    path.write_text(PLAN, encoding="utf-8")
    return path


def _sled(db, serial, placed: dict[int, str], slots=4):
    sled = inventory.add_dut(db, "sled", serial, slot_count=slots)
    for slot, chip in placed.items():
        found = inventory.find_dut(db, chip) or inventory.add_dut(db, "chip", chip)
        inventory.place_chip(db, found.id, sled.id, slot)
    return sled


def _run(db, sled, device):
    plan = parse_plan(PLAN, "sled-chips-short.toml")
    request = RunRequest(plan, sled, device, load_profile("default"), "ana", "bench-1")
    return run_plan(db, request)


def _items(steps):
    return {c.name: c for s in steps for c in s.criteria}


def test_one_drooping_chip_fails_alone_and_the_empty_slot_is_not_judged(db, target, tmp_path):
    sled = _sled(db, "SLD-1", {0: "CHP-0", 1: "CHP-1", 2: "CHP-2"})  # slot 3 empty
    outcome = _run(db, sled, DROOP)
    assert outcome.live_agrees
    assert (outcome.status, outcome.verdict) == ("failed", "failed")
    assert outcome.slots == {0: "CHP-0", 1: "CHP-1", 2: "CHP-2"}
    assert outcome.chip_verdicts == {0: "passed", 1: "passed", 2: "failed"}

    items = _items(outcome.steps)
    assert sorted(items) == [
        "fan_rpm",
        "vdd_core[0]",
        "vdd_core[1]",
        "vdd_core[2]",
        "vdd_core_mean[0]",
        "vdd_core_mean[1]",
        "vdd_core_mean[2]",
    ]
    bad = items["vdd_core[2]"]
    assert (bad.kind, bad.channel, bad.slot, bad.chip, bad.verdict) == (
        "limit",
        "vdd_core[2]",
        2,
        "CHP-2",
        "failed",
    )
    assert bad.violations and {v.channel for v in bad.violations} == {"vdd_core[2]"}
    mean = items["vdd_core_mean[1]"]
    assert (mean.channel, mean.slot, mean.chip, mean.unit) == ("vdd_core[1]", 1, "CHP-1", "V")
    assert items["fan_rpm"].slot is None and items["fan_rpm"].chip == ""
    assert all(c.sample_count > 0 for c in items.values())

    # Stored as judged: items with their slot and chip, each chip's verdict with the run.
    stored = result_store.run_results(db, outcome.run_id)
    assert stored == outcome.steps
    assert [
        (s.slot, s.chip_serial, s.chip_verdict) for s in run_store.run_slots(db, outcome.run_id)
    ] == [
        (0, "CHP-0", "passed"),
        (1, "CHP-1", "passed"),
        (2, "CHP-2", "failed"),
    ]

    # The report: slot and chip columns, one preamble line per chip.
    report = tmp_path / "report.csv"
    assert main(["export", str(outcome.run_id), "--report", str(report), "--db", target]) == 0
    text = report.read_text(encoding="utf-8")
    assert "# slot 0: CHP-0 passed\n# slot 1: CHP-1 passed\n# slot 2: CHP-2 failed\n" in text
    assert "# slot 3" not in text
    frame = pandas.read_csv(report, comment="#", dtype=str, keep_default_na=False)
    rows = {r["name"]: r for _, r in frame.iterrows()}
    assert (rows["vdd_core[2]"]["slot"], rows["vdd_core[2]"]["chip"]) == ("2", "CHP-2")
    assert (rows["vdd_core_mean[0]"]["slot"], rows["vdd_core_mean[0]"]["chip"]) == ("0", "CHP-0")
    assert (rows["fan_rpm"]["slot"], rows["fan_rpm"]["chip"]) == ("", "")
    # The wide telemetry keeps one column per slot's channel, with its unit.
    wide = tmp_path / "wide.csv"
    assert main(["export", str(outcome.run_id), "--report", str(tmp_path / "r2.csv"),
                 "--telemetry", str(wide), "--db", target]) == 0  # fmt: skip
    columns = pandas.read_csv(wide, comment="#", nrows=1).columns
    assert {"vdd_core[0] (V)", "vdd_core[2] (V)", "vdd_core[3] (V)"} <= set(columns)


def test_a_placed_chip_the_rig_never_reports_is_an_error(db):
    # The rig serves two chips; a third sits in slot 3: nothing ever arrives for it.
    sled = _sled(db, "SLD-2", {0: "CHP-A", 3: "CHP-D"})
    outcome = _run(db, sled, "mock://nominal?rate=200&slots=2")
    assert outcome.live_agrees
    assert outcome.chip_verdicts == {0: "passed", 3: "error"}
    assert outcome.status == "error"
    items = _items(outcome.steps)
    silent = [items["vdd_core[3]"], items["vdd_core_mean[3]"]]
    assert [(c.verdict, c.sample_count, c.chip) for c in silent] == [("error", 0, "CHP-D")] * 2
    assert "vdd_core[1]" not in items  # the rig's slot 1 is empty in the inventory
    stored = run_store.run_slots(db, outcome.run_id)
    assert [(s.slot, s.chip_verdict) for s in stored] == [(0, "passed"), (3, "error")]


def test_a_per_chip_plan_on_a_sled_without_chips_is_refused_before_the_run(
    db, target, plan_file, capsys
):
    sled = _sled(db, "SLD-E", {})
    with pytest.raises(RecordError, match="sled SLD-E has no chips placed"):
        _run(db, sled, "mock://nominal?rate=200&slots=2")
    assert run_store.list_runs(db) == []
    code = main(["run", "--plan", str(plan_file), "--dut", "SLD-E",
                 "--device", "mock://nominal?rate=200&slots=2", "--db", target])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 2 and "Traceback" not in captured.err
    assert captured.err.strip().splitlines() == [
        "labbench: sled SLD-E has no chips placed: plan 'sled-chips-short' judges per chip"
    ]
    assert run_store.list_runs(db) == []


def test_cli_prints_each_chip_and_a_moved_chip_keeps_both_runs(db, target, plan_file, capsys):
    _sled(db, "SLD-A", {0: "CHP-7", 2: "CHP-9"})
    _sled(db, "SLD-B", {})
    args = ["run", "--plan", str(plan_file), "--db", target]
    assert main([*args, "--dut", "SLD-A", "--device", DROOP]) == 1
    out = capsys.readouterr().out.splitlines()
    verdict_at = next(i for i, line in enumerate(out) if line.startswith("run "))
    assert "FAILED" in out[verdict_at]
    assert out[verdict_at + 1 :] == ["slot 0  CHP-7  passed", "slot 2  CHP-9  failed"]
    assert any(
        line.strip().startswith("failed    limit vdd_core[2] = ") and line.endswith("(chip CHP-9)")
        for line in out
    )

    chip = inventory.find_dut(db, "CHP-9")
    inventory.place_chip(db, chip.id, inventory.find_dut(db, "SLD-B").id, 1)
    assert (
        main([*args, "--json", "--dut", "SLD-B", "--device", "mock://nominal?rate=200&slots=2"])
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["verdict"] == "passed"
    assert summary["chips"] == [{"slot": 1, "chip": "CHP-9", "verdict": "passed"}]

    assert main(["runs", "--dut", "CHP-9", "--json", "--db", target]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["dut"], r["verdict"], r["slot"], r["chip_verdict"]) for r in rows] == [
        ("SLD-A", "failed", 2, "failed"),
        ("SLD-B", "passed", 1, "passed"),
    ]
    assert main(["dut", "show", "CHP-9", "--db", target]) == 0
    shown = capsys.readouterr().out
    assert (
        "(sled SLD-A slot 2: chip failed)" in shown and "(sled SLD-B slot 1: chip passed)" in shown
    )
    assert main(["runs", "--dut", "CHP-9", "--db", target]) == 0
    plain = capsys.readouterr().out.splitlines()
    assert len(plain) == 2
    assert "SLD-A" in plain[0] and plain[0].endswith("slot 2: chip failed")
    assert "SLD-B" in plain[1] and plain[1].endswith("slot 1: chip passed")
    # The chip's sibling in SLD-A keeps its own verdict of that run.
    assert [
        (r.slot, r.chip_verdict) for r in history.dut_runs(db, inventory.find_dut(db, "CHP-7").id)
    ] == [(0, "passed")]


def test_example_sled_plan_judges_the_simulated_sleds_channels_per_chip():
    plan = load_plan(paths.resources_dir() / "plans" / "sled-chips.toml")
    assert plan.dut_kind == "sled"
    assert plan.per_slot_channels == {"vdd_core", "idd_core", "temp_die"}
    judgement = Judgement(plan, {1: "CHP-1", 5: "CHP-5"})
    for position in range(len(plan.steps)):
        judgement.begin(position, position, float(position))
        judgement.end(position + 1, position + 1.0)
    # Every channel it judges is one the simulated sled sends: per chip for the chips placed.
    assert set(judgement.channels()) == {
        "fan_rpm",
        *(f"{name}[{slot}]" for name in ("vdd_core", "idd_core", "temp_die") for slot in (1, 5)),
    }
    assert set(judgement.channels()) <= set(sled_channels(8))
    with pytest.raises(ValueError, match="judges per chip"):
        Judgement(plan, {})


def test_chip_verdicts_ignore_sled_level_items():
    judgement = Judgement(parse_plan(PLAN, "p.toml"), {2: "CHP-2"})
    judgement.begin(0, 0, 0.0)
    t = np.linspace(0.6, 1.9, 50)
    judgement.samples("vdd_core[2]", t, np.full(50, 0.75))
    judgement.samples("fan_rpm", t, np.full(50, 10.0))  # the sled's fan fails
    judgement.end(1, 2.0)
    record = judgement.record(0, {})
    assert record.verdict == "failed"
    assert chip_verdicts([record], {2: "CHP-2"}) == {2: "passed"}
