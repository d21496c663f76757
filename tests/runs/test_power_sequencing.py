"""The shipped power-sequencing plan on simulated rigs, through the whole product: judged
live and final alike, stored as timing items, printed by ``labbench run`` and written in the
CSV report (docs/architecture.md §4 "Power sequencing")."""

from __future__ import annotations

import json

import pandas
import pytest

from labbench import paths
from labbench.cli import main
from labbench.export.csv_report import write_report
from labbench.protocols.profile import parse_profile
from labbench.runs.plan import load_plan
from labbench.runs.sequencer import RunRequest, run_plan
from labbench.storage import events as event_store
from labbench.storage import inventory as inventory_store
from labbench.storage import open_database
from labbench.storage import results as result_store

PLAN = paths.resources_dir() / "plans" / "power-sequencing.toml"
# The rig's own clock times the samples: arrival times on a loaded 2-core machine are only as
# good as the read interval (tests/runs/test_timing_accuracy.py), too coarse for 2 … 8 ms.
NOMINAL = "mock://nominal?rate=2000&device_time=ms"
SLOW = "mock://slow-rail?rate=2000&device_time=ms"
CLOCK = '[line]\ndevice_time = "t_ms"\ndevice_time_unit = "ms"\n'


@pytest.fixture
def db(tmp_path):
    database = open_database(str(tmp_path / "seq.sqlite3"))
    yield database
    database.dispose()


def _run(db, device: str, serial: str):
    dut = inventory_store.add_dut(db, "chip", serial)
    profile = parse_profile(CLOCK)
    request = RunRequest(load_plan(PLAN), dut, device, profile, "ana", "bench-1")
    return run_plan(db, request)


def _timing(db, run_id: int) -> dict:
    return {
        c.name: c
        for s in result_store.run_results(db, run_id)
        for c in s.criteria
        if c.kind == "timing"
    }


def test_nominal_rig_passes_live_and_final_alike(db, tmp_path):
    outcome = _run(db, NOMINAL, "CHP-SEQ-1")
    assert outcome.status == "passed"
    assert outcome.live_agrees
    kinds = [e.kind for e in event_store.run_events(db, outcome.run_id)]
    assert "evaluation_mismatch" not in kinds
    items = _timing(db, outcome.run_id)
    assert sorted(items) == [
        "order_vdd_io_vdd_hbm_vdd_core",
        "vdd_core_rise",
        "vdd_hbm_rise",
        "vdd_hbm_to_vdd_core_delay",
        "vdd_io_rise",
        "vdd_io_to_vdd_hbm_delay",
    ]
    # The simulated truth: 5 ms rises, 10 ms between ramp starts; within a sample period.
    for rail in ("vdd_io", "vdd_hbm", "vdd_core"):
        assert items[f"{rail}_rise"].value == pytest.approx(5.0, abs=0.5)
    assert items["vdd_hbm_to_vdd_core_delay"].value == pytest.approx(10.0, abs=0.5)
    assert all(c.verdict == "passed" and c.unit == "ms" for c in items.values())

    report = tmp_path / "report.csv"
    write_report(db, outcome.run_id, report)
    frame = pandas.read_csv(report, comment="#")
    rise = frame[frame["name"] == "vdd_core_rise"].iloc[0]
    assert (rise["kind"], rise["unit"], rise["limits"]) == ("timing", "ms", "2 … 8 ms")
    assert float(rise["value"]) == items["vdd_core_rise"].value
    delay = frame[frame["name"] == "vdd_io_to_vdd_hbm_delay"].iloc[0]
    assert (delay["channel"], delay["limits"]) == ("vdd_io,vdd_hbm", "≥ 2 ms")


def test_slow_rail_fails_its_rise_and_delay_with_the_reason(db):
    outcome = _run(db, SLOW, "CHP-SEQ-2")
    assert outcome.status == "failed"
    assert outcome.live_agrees
    items = _timing(db, outcome.run_id)
    core = items["vdd_core_rise"]
    assert core.verdict == "failed"
    assert core.value == pytest.approx(20.0, abs=0.5)
    assert core.text_value.startswith("vdd_core rose from 10 % to 90 % in ")
    assert core.text_value.endswith("ms, outside 2 … 8 ms")
    assert items["vdd_hbm_to_vdd_core_delay"].verdict == "failed"
    assert items["vdd_io_rise"].verdict == "passed"
    assert items["order_vdd_io_vdd_hbm_vdd_core"].verdict == "passed"


def test_cli_prints_timing_items_and_json_lists_them(tmp_path, capsys):
    target = str(tmp_path / "cli.sqlite3")
    profile = tmp_path / "clock.toml"
    profile.write_text(CLOCK)
    args = ["run", "--plan", str(PLAN), "--db", target, "--new-dut", "chip"]
    args += ["--profile", str(profile)]
    assert main([*args, "--dut", "CHP-SEQ-3", "--device", SLOW]) == 1
    out = capsys.readouterr().out.splitlines()
    (line,) = [x for x in out if " timing vdd_core_rise = " in x]
    assert line.strip().startswith("failed    timing vdd_core_rise = ")
    assert "ms (2 … 8 ms): vdd_core rose from 10 % to 90 % in " in line
    assert any(x.strip().startswith("passed    timing vdd_io_rise = ") for x in out)

    assert main([*args, "--json", "--dut", "CHP-SEQ-4", "--device", NOMINAL]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["verdict"] == "passed"
    steps = {s["name"]: s for s in summary["steps"]}
    assert steps["power-off"]["timing"] == []
    timing = {t["name"]: t for t in steps["power-on"]["timing"]}
    order = timing["order_vdd_io_vdd_hbm_vdd_core"]
    assert order["kind"] == "order" and order["channels"] == ["vdd_io", "vdd_hbm", "vdd_core"]
    assert (order["low_ms"], order["high_ms"], order["verdict"]) == (1.0, None, "passed")
    assert order["reason"].startswith("in order; smallest gap ")
    assert timing["vdd_core_rise"]["value_ms"] == pytest.approx(5.0, abs=0.5)
