"""`labbench run` end to end through `labbench mock-rig` on a pty: verdicts, exit codes, timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from labbench import paths
from labbench.storage import events as event_store
from labbench.storage import open_database
from labbench.storage import results as result_store
from labbench.storage import runs as run_store
from tests.conftest import MockRigProcesses, user_dirs_env

SLED_PLAN = str(paths.resources_dir() / "plans" / "sled-power-on.toml")

# scenario -> (run status, exit code)
EXPECTED = {
    "nominal": ("passed", 0),
    "rail-droop": ("failed", 1),
    "overtemp": ("failed", 1),
    "noisy": ("failed", 1),
    "disconnect": ("error", 3),
    "garbage": ("passed", 0),
}


@pytest.fixture(scope="module")
def scenario_runs(tmp_path_factory):
    """``labbench run`` of the sled plan against every scenario, all at once (each on its own
    rig process and database): scenario -> (result, database path)."""
    folder = tmp_path_factory.mktemp("e2e")
    (folder / "home").mkdir()
    env = {**os.environ, **user_dirs_env(folder / "home")}
    rigs = MockRigProcesses(folder, env)
    runs = {}
    try:
        for scenario in sorted(EXPECTED):
            # power=off: the rig powers up when the plan sends PWR ON, so scenario times count
            # from the plan's first step (the disconnect's 'at' counts from the rig's start).
            path = rigs.start(f"{scenario}?power=off", rate=100, seed=4)
            db_path = folder / f"{scenario}.sqlite3"
            args = ["--plan", SLED_PLAN, "--dut", "SLD-E2E", "--new-dut", "sled"]
            args += ["--device", path, "--db", str(db_path), "--json", "--operator", "ci"]
            proc = subprocess.Popen(
                [sys.executable, "-m", "labbench", "run", *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            runs[scenario] = (proc, db_path)
        results = {}
        for scenario, (proc, db_path) in runs.items():
            stdout, stderr = proc.communicate(timeout=120)
            results[scenario] = (
                subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr),
                db_path,
            )
    finally:
        for proc, _ in runs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        rigs.stop()
    return results


@pytest.mark.slow
@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_each_scenario_gives_its_verdict_and_exit_code(scenario_runs, scenario):
    # The six runs go on at the same time: their timing holds with each other's load too.
    result, db_path = scenario_runs[scenario]
    status, code = EXPECTED[scenario]
    assert result.returncode == code, result.stdout + result.stderr
    out = json.loads(result.stdout)
    assert out["verdict"] == status and out["samples"] > 1000
    violations = out["violations"]
    if scenario == "rail-droop":
        droop = [v for v in violations if v["channel"] == "vdd_core"]
        assert len(droop) == 1
        assert 2.95 <= droop[0]["start_s"] <= 3.3, (
            droop
        )  # the rig droops 3.0 s after PWR ON for 0.3 s
        assert 0.2 <= droop[0]["end_s"] - droop[0]["start_s"] <= 0.45
    elif scenario == "overtemp":
        fan = [v for v in violations if v["channel"] == "fan_rpm"]
        assert fan and 1.95 <= fan[0]["start_s"] <= 2.4, fan  # the fan fails 2.0 s after PWR ON
        assert any(v["channel"] == "temp_die" for v in violations)
    elif scenario in ("nominal", "garbage", "disconnect"):
        assert violations == []
    if scenario == "garbage":
        assert out["malformed"] > 10

    db = open_database(str(db_path))
    try:
        run = run_store.get_run(db, out["run_id"])
        assert run.status == status and run.ended_at is not None and run.operator == "ci"
        events = event_store.run_events(db, run.id)
        commands = [e.detail for e in events if e.kind == "command"]
        # Every command the plan sends is recorded once, in the plan's order (a command queued
        # while the rig is away is sent, and recorded, when it is back).
        assert commands == ["PWR ON", "LOAD 50", "BIST", "LOAD 0"]
        assert "evaluation_mismatch" not in {e.kind for e in events}
        steps = result_store.run_results(db, run.id)
        assert [s.name for s in steps] == ["power-on", "load-50", "idle-soak"]
        if scenario == "disconnect":
            assert {e.kind for e in events} >= {"disconnect", "reconnect"}
            assert any(s.verdict == "error" for s in steps)
    finally:
        db.dispose()
