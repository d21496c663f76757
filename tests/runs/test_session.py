"""The run session: the port is released when the database refuses the run (``labbench run``,
``labbench record``, the bench), and a run's one event stream ends in exactly one RunEnded."""

from __future__ import annotations

import threading

import pytest
import serial

from labbench.cli import main
from labbench.protocols.profile import load_profile
from labbench.runs.events import (
    BatchJudged,
    ItemVerdictChanged,
    RunEnded,
    RunStarted,
    StepStarted,
    ViolationFound,
)
from labbench.runs.plan import parse_plan
from labbench.runs.recording import RigMonitor, record
from labbench.runs.sequencer import RunRequest, plan_session, run_plan
from labbench.runs.session import RunSession
from labbench.storage import inventory as inventory_store
from labbench.storage import open_database
from labbench.storage import plans as plan_store
from labbench.storage import runs as run_store
from tests.acquisition.test_storage_stalls import WriteLock

PLAN = """
[plan]
name = "{name}"
version = "1"
dut_kind = "chip"

[[channel]]
name = "vdd_core"
unit = "V"

[[step]]
name = "settle"
duration_s = 0.4
  [[step.limit]]
  channel = "vdd_core"
  low = {low}
  high = 0.9

[[step]]
name = "hold"
duration_s = 0.4
  [[step.limit]]
  channel = "vdd_core"
  low = {low}
  high = 0.9
"""


def _plan(name: str = "session-rail", low: float = 0.6):
    return parse_plan(PLAN.format(name=name, low=low), f"{name}.toml")


def _port_is_free(path: str) -> None:
    """Open the rig's port exclusively, as a run would: fails while anyone holds it."""
    port = serial.serial_for_url(path, exclusive=True, timeout=0.1)
    port.close()


@pytest.fixture
def locked_db(tmp_path, monkeypatch):
    """A database with a chip and the plan stored, and a 1 s busy timeout: a write lock held
    by another process makes the next write fail after a second."""
    monkeypatch.setenv("LABBENCH_SQLITE_BUSY_TIMEOUT_S", "1")
    path = tmp_path / "locked.sqlite3"
    db = open_database(str(path))
    dut = inventory_store.add_dut(db, "chip", "CHP-LOCK")
    yield path, db, dut
    db.dispose()


# --- the port is released when the database refuses the run ---------------------------------


def test_labbench_run_releases_the_port_when_the_database_refuses_the_run(
    locked_db, mock_rig_process, monkeypatch, tmp_path
):
    path, db, _ = locked_db
    rig = mock_rig_process("nominal", rate=100)
    plan_file = tmp_path / "rail.toml"
    plan_file.write_text(PLAN.format(name="session-rail", low=0.6))
    locks = []
    store_plan_version = plan_store.store_plan_version

    def then_lock(*args, **kwargs):
        # Another station takes the write lock just after the plan is stored: the next write
        # (the run itself) waits out the busy timeout and fails.
        stored = store_plan_version(*args, **kwargs)
        locks.append(WriteLock(path))
        return stored

    monkeypatch.setattr(plan_store, "store_plan_version", then_lock)
    try:
        code = main(
            ["run", "--plan", str(plan_file), "--dut", "CHP-LOCK", "--device", rig]
            + ["--profile", "default", "--db", str(path)]
        )
        assert code == 3 and len(locks) == 1
        _port_is_free(rig)
    finally:
        for lock in locks:
            lock.release()
    assert run_store.list_runs(db) == []


def test_labbench_record_releases_the_port_when_the_database_refuses_the_run(
    locked_db, mock_rig_process
):
    path, db, _ = locked_db
    rig = mock_rig_process("nominal", rate=100)
    lock = WriteLock(path)
    try:
        code = main(
            ["record", "--device", rig, "--dut", "CHP-LOCK", "--duration", "1"]
            + ["--profile", "default", "--db", str(path)]
        )
        assert code == 3
        _port_is_free(rig)
    finally:
        lock.release()
    assert run_store.list_runs(db) == []


def test_bench_monitor_releases_the_port_when_the_database_refuses_the_run(
    locked_db, mock_rig_process
):
    path, db, dut = locked_db
    rig = mock_rig_process("nominal", rate=100)
    monitor = RigMonitor(db, rig, dut, load_profile("default"), station="bench-1")
    lock = WriteLock(path)
    try:
        with pytest.raises(Exception, match="locked"):
            monitor.connect()
        _port_is_free(rig)
    finally:
        lock.release()
    assert run_store.list_runs(db) == [] and not monitor.connected


# --- one event stream, exactly one RunEnded --------------------------------------------------


@pytest.fixture
def db(tmp_path):
    database = open_database(str(tmp_path / "events.sqlite3"))
    yield database
    database.dispose()


def _run(db, plan, device: str, control=None):
    device += "&rail_tau=0"  # rails at their level from the first line: no ramp to judge
    """Run ``plan`` and return (outcome, events heard, session); ``control(session, event)``
    is called with every event (on the thread that published it)."""
    dut = inventory_store.find_dut(db, "CHP-EV") or inventory_store.add_dut(db, "chip", "CHP-EV")
    request = RunRequest(plan, dut, device, load_profile("default"), "ana", "bench-1")
    session = plan_session(db, request)
    events = []
    lock = threading.Lock()

    def hear(event):
        with lock:
            events.append(event)
        if control is not None:
            control(session, event)

    session.subscribe(hear)
    outcome = run_plan(db, request, session=session)
    return outcome, events, session


def _kinds(events):
    return [type(e).__name__ for e in events if not isinstance(e, BatchJudged)]


def _check_stream(events, outcome, steps: int):
    kinds = _kinds(events)
    assert kinds[0] == "RunStarted" and kinds[-1] == "RunEnded", kinds
    assert kinds.count("RunEnded") == 1 and kinds.count("RunStarted") == 1
    started = [e for e in events if isinstance(e, StepStarted)]
    assert [e.position for e in started] == list(range(steps))
    first_step = kinds.index("StepStarted")
    verdicts = [i for i, k in enumerate(kinds) if k == "ItemVerdictChanged"]
    assert verdicts and verdicts[0] > first_step  # judged items follow their step's start
    run_started = events[0]
    assert isinstance(run_started, RunStarted) and run_started.run_id == outcome.run_id
    ended = events[-1]
    assert isinstance(ended, RunEnded) and ended.summary is outcome
    return ended


def test_a_passed_run_publishes_started_steps_verdicts_and_one_end(db):
    outcome, events, session = _run(db, _plan(), "mock://nominal?rate=200")
    ended = _check_stream(events, outcome, 2)
    assert ended.status == outcome.status == "passed" and ended.error == ""
    last = {
        (e.position, e.item.name): e.item.verdict
        for e in events
        if isinstance(e, ItemVerdictChanged)
    }
    assert set(last.values()) == {"passed"}
    assert session.seconds(session.t0_ns + 1_500_000_000) == 1.5
    assert run_store.get_run(db, outcome.run_id).status == "passed"


def test_a_failed_run_publishes_its_violations_before_its_one_end(db):
    outcome, events, _ = _run(db, _plan("session-tight", low=0.8), "mock://nominal?rate=200")
    ended = _check_stream(events, outcome, 2)
    assert ended.status == "failed"
    assert any(isinstance(e, ViolationFound) for e in events)
    failed = [e for e in events if isinstance(e, ItemVerdictChanged) and e.item.verdict == "failed"]
    assert failed and all(events.index(e) < len(events) - 1 for e in failed)


def test_stop_ends_the_run_aborted_with_one_end(db):
    def stop_in_first_step(session, event):
        if isinstance(event, StepStarted) and event.position == 0:
            session.stop()

    outcome, events, _ = _run(db, _plan(), "mock://nominal?rate=200", stop_in_first_step)
    ended = _check_stream(events, outcome, 1)
    assert ended.status == outcome.status == "aborted"
    assert run_store.get_run(db, outcome.run_id).status == "aborted"


def test_fail_ends_the_run_as_error_with_its_message_and_one_end(db):
    def fail_in_second_step(session, event):
        if isinstance(event, StepStarted) and event.position == 1:
            session.fail("the operator's window crashed")

    outcome, events, _ = _run(db, _plan(), "mock://nominal?rate=200", fail_in_second_step)
    ended = _check_stream(events, outcome, 2)
    assert ended.status == outcome.status == "error"
    assert ended.error == "the operator's window crashed"
    run = run_store.get_run(db, outcome.run_id)
    assert run.status == "error" and run.error_message == "the operator's window crashed"


def test_a_run_whose_rig_cannot_be_opened_publishes_no_start_and_no_end(db):
    events = []
    dut = inventory_store.add_dut(db, "chip", "CHP-NORIG")
    request = RunRequest(_plan(), dut, "/dev/ttyLABBENCH404", load_profile("default"))
    session = plan_session(db, request)
    session.subscribe(events.append)
    with pytest.raises(Exception, match="ttyLABBENCH404"):
        run_plan(db, request, session=session)
    assert _kinds(events) == ["RunNotStarted"] and run_store.list_runs(db) == []


def test_a_recording_publishes_one_end_with_its_summary(db, mock_rig_process):
    rig = mock_rig_process("nominal", rate=100)
    events = []
    dut = inventory_store.add_dut(db, "chip", "CHP-REC")
    summary = record(
        db,
        device=rig,
        dut=dut,
        duration_s=0.5,
        profile=load_profile("default"),
        listener=events.append,
    )
    kinds = _kinds(events)
    assert kinds[0] == "RunStarted" and kinds[-1] == "RunEnded" and kinds.count("RunEnded") == 1
    assert events[-1].status == summary.status == "recorded" and events[-1].summary is summary
    assert any(isinstance(e, BatchJudged) and e.samples for e in events)
    _port_is_free(rig)


def test_a_driver_that_breaks_still_ends_the_run_once_as_error_and_frees_the_port(
    db, mock_rig_process
):
    rig = mock_rig_process("nominal", rate=100)
    dut = inventory_store.add_dut(db, "chip", "CHP-BUG")
    session = RunSession(db, device=rig, dut=dut, profile=load_profile("default"))
    events = []
    session.subscribe(events.append)

    def broken(session):
        session.wait(0.2)
        raise RuntimeError("a bug in the run's driver")

    with pytest.raises(RuntimeError, match="a bug"):
        session.execute(broken)
    ended = [e for e in events if isinstance(e, RunEnded)]
    assert len(ended) == 1 and ended[0].status == "error" and "a bug" in ended[0].error
    run = run_store.get_run(db, session.run_id)
    assert run.status == "error" and "a bug" in run.error_message
    _port_is_free(rig)
