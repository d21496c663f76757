"""The run lifecycle: live violations in time, abort, stop_on_fail, manual entries, kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from labbench import paths
from labbench.cli import main
from labbench.protocols.profile import load_profile
from labbench.runs.events import ManualEntryRequested, ViolationFound
from labbench.runs.plan import load_plan, parse_plan
from labbench.runs.sequencer import RunRequest, plan_session, run_plan
from labbench.storage import RecordError, open_database
from labbench.storage import events as event_store
from labbench.storage import inventory as inventory_store
from labbench.storage import results as result_store
from labbench.storage import runs as run_store
from labbench.storage.telemetry_read import read_channel

PLANS = paths.resources_dir() / "plans"


@pytest.fixture
def db(tmp_path):
    database = open_database(str(tmp_path / "seq.sqlite3"))
    yield database
    database.dispose()


def _request(db, plan, device, serial="SLD-SEQ", manual=None):
    dut = inventory_store.find_dut(db, serial) or inventory_store.add_dut(db, plan.dut_kind, serial)
    return RunRequest(plan, dut, device, load_profile("default"), "ana", "bench-1", manual or {})


@pytest.mark.alone
def test_live_violations_arrive_within_100_ms_and_agree_with_final(db):
    plan = load_plan(PLANS / "sled-power-on.toml")
    seen = []

    def on_event(event):
        if isinstance(event, ViolationFound):
            seen.append((event.position, event.channel, event.excursion.start_s))

    outcome = run_plan(
        db,
        _request(db, plan, "mock://rail-droop?rate=500&power=off&droop_every=1.0"),
        listener=on_event,
    )
    assert outcome.status == "failed" and outcome.live_agrees
    assert len(seen) >= 2 and len(outcome.live_violation_latencies_s) == len(seen)
    assert max(outcome.live_violation_latencies_s) <= 0.1, outcome.live_violation_latencies_s
    stored = [(v.channel, v.start_s) for _, v in outcome.violations if v.channel == "vdd_core"]
    assert [
        (c, s) for _, c, s in seen if c == "vdd_core"
    ] == stored  # the same excursions, live and final
    run = run_store.get_run(db, outcome.run_id)
    assert run.violation_count == len(outcome.violations) and run.failed_items >= 1


def test_abort_keeps_everything_recorded(db):
    plan = load_plan(PLANS / "sled-power-on.toml")
    stop = threading.Event()
    threading.Timer(2.5, stop.set).start()
    outcome = run_plan(db, _request(db, plan, "mock://nominal?rate=200"), stop=stop)
    assert outcome.status == "aborted"
    run = run_store.get_run(db, outcome.run_id)
    assert run.status == "aborted" and run.sample_count > 200
    steps = result_store.run_results(db, outcome.run_id)
    assert [s.name for s in steps] == ["power-on", "load-50"]  # the second was cut short
    _, seq = read_channel(db, outcome.run_id, "seq")
    assert seq.size == run.sample_count / 11


def test_stop_on_fail_ends_after_the_first_failed_step(db):
    text = (
        (PLANS / "sled-power-on.toml")
        .read_text()
        .replace("stop_on_fail = false", "stop_on_fail = true")
    )
    plan = parse_plan(
        text.replace('name = "sled-power-on"', 'name = "sled-power-on-sof"'), "sof.toml"
    )
    outcome = run_plan(db, _request(db, plan, "mock://overtemp?rate=200&power=off&fail_at=0.5"))
    assert outcome.status == "failed"
    assert [(s.name, s.verdict) for s in outcome.steps][1:] == [
        ("load-50", "failed"),
        ("idle-soak", "skipped"),
    ]
    assert [s.verdict for s in result_store.run_results(db, outcome.run_id)][1:] == [
        "failed",
        "skipped",
    ]  # stored too
    assert "stop_on_fail" in [e.kind for e in event_store.run_events(db, outcome.run_id)]


def test_manual_entries_and_rig_results(db):
    plan = load_plan(PLANS / "chip-bringup.toml")
    typed = _request(db, plan, "mock://nominal?rate=100", "CHP-M", {"visual_check": "OK"})
    silent = _request(db, plan, "mock://nominal?rate=100", "CHP-M")
    asked = []
    request = _request(db, plan, "mock://nominal?rate=100", "CHP-M")
    session = plan_session(db, request)

    def answer(event):
        if isinstance(event, ManualEntryRequested):
            asked.append(event.spec.name)
            session.answer_manual("OK")

    session.subscribe(answer, answers_manual=True)
    # The three runs go on at once, each on its own simulated rig.
    with ThreadPoolExecutor(max_workers=3) as pool:
        ok = pool.submit(run_plan, db, typed)
        silent = pool.submit(run_plan, db, silent)
        answered = pool.submit(run_plan, db, request, session=session)
        ok, silent, answered = ok.result(), silent.result(), answered.result()
    assert ok.status == "passed", [
        (s.name, [(c.name, c.verdict) for c in s.criteria]) for s in ok.steps
    ]
    items = {c.name: c for s in ok.steps for c in s.criteria}
    assert items["bist"].text_value == "PASS" and items["visual_check"].text_value == "OK"
    assert "manual" in [e.kind for e in event_store.run_events(db, ok.run_id)]
    assert silent.status == "error"  # nobody typed the manual entry: never a pass
    assert asked == ["visual_check"]
    items = {c.name: c for s in answered.steps for c in s.criteria}
    assert items["visual_check"].text_value == "OK"


def test_plan_for_another_dut_kind_is_refused(db):
    plan = load_plan(PLANS / "chip-bringup.toml")
    sled = inventory_store.add_dut(db, "sled", "SLD-X")
    with pytest.raises(RecordError, match="is for a chip"):
        run_plan(db, RunRequest(plan, sled, "mock://nominal", load_profile("default")))
    assert run_store.list_runs(db) == []


def test_sigint_aborts_the_command_with_exit_3(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labbench",
            "run",
            "--plan",
            str(PLANS / "sled-power-on.toml"),
            "--dut",
            "S1",
            "--new-dut",
            "sled",
            "--device",
            "mock://nominal?rate=200",
            "--db",
            str(tmp_path / "int.sqlite3"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().startswith("step 1/3")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, out + err
    assert "ABORTED" in out
    db = open_database(str(tmp_path / "int.sqlite3"))
    assert run_store.list_runs(db)[0].status == "aborted"
    db.dispose()


@pytest.mark.slow
def test_kill_9_during_a_run_is_marked_interrupted_at_the_next_start(tmp_path, capsys):
    db_path = tmp_path / "kill.sqlite3"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labbench",
            "run",
            "--plan",
            str(PLANS / "sled-power-on.toml"),
            "--dut",
            "S9",
            "--new-dut",
            "sled",
            "--device",
            "mock://nominal?rate=500",
            "--db",
            str(db_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().startswith("step 1/3")
        assert proc.stdout.readline().startswith("step 2/3")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    db = open_database(str(db_path))
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        (run,) = run_store.list_runs(db)
        assert run.status == "running"  # nobody has looked yet
        kept = run.sample_count
        assert (
            kept > 1000
        )  # two seconds at 500 lines/s x 11 channels, minus the last 250 ms at most
        _, seq = read_channel(db, run.id, "seq")
        assert seq.size * 11 == kept
    finally:
        db.dispose()
    assert main(["runs", "--db", str(db_path)]) == 0  # the next start finds it
    captured = capsys.readouterr()
    assert f"run {run.id} was left running" in captured.err and "interrupted" in captured.out
    db = open_database(str(db_path))
    try:
        again = run_store.get_run(db, run.id)
        assert (
            again.status == "interrupted"
            and again.sample_count == kept
            and again.ended_at is not None
        )
    finally:
        db.dispose()


def test_running_runs_of_live_processes_and_other_hosts_are_left_alone(db):
    dut = inventory_store.add_dut(db, "chip", "C-L")
    mine = run_store.start_run(db, dut.id, pid=os.getpid())
    dead = run_store.start_run(db, dut.id, pid=2**22 + 12345)
    assert run_store.mark_interrupted_runs(db) == [dead.id]
    assert (
        run_store.mark_interrupted_runs(db, host="another-station", is_alive=lambda pid: False)
        == []
    )
    assert run_store.get_run(db, mine.id).status == "running"


@pytest.mark.parametrize(
    "device, status",
    [
        ("mock://nominal?rate=100&power=off", "passed"),
        ("mock://rail-droop?rate=100&power=off", "failed"),
        ("mock://overtemp?rate=100&power=off", "failed"),
        ("mock://noisy?rate=100&power=off", "failed"),
    ],
)
def test_chip_plan_passes_on_nominal_and_fails_on_faults(db, device, status):
    plan = load_plan(PLANS / "chip-bringup.toml")
    outcome = run_plan(db, _request(db, plan, device, "CHP-PLAN", {"visual_check": "OK"}))
    assert outcome.status == status, [
        (s.name, [(c.name, c.verdict) for c in s.criteria]) for s in outcome.steps
    ]


def test_rig_lost_longer_than_the_window_ends_the_run_as_error(db):
    from dataclasses import replace

    plan = load_plan(PLANS / "sled-power-on.toml")
    request = _request(db, plan, "mock://disconnect?rate=200&at=1.0&gap=60")
    request.profile = replace(request.profile, reconnect_window_s=0.5)
    outcome = run_plan(db, request)
    assert outcome.status == "error"
    run = run_store.get_run(db, outcome.run_id)
    assert (
        run.status == "error" and "reconnect window" in run.error_message and run.sample_count > 0
    )
    assert {"disconnect", "link_lost"} <= {e.kind for e in event_store.run_events(db, run.id)}
