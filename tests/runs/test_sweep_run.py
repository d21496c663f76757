"""Sweeps through the engine and storage: each point is a step judged live and final over its
dwell, stored with its coordinates and order, and the run's shmoo read back from storage is the
grid the simulated chip's model predicts (docs/architecture.md §4, Sweeps)."""

from __future__ import annotations

import threading

import pytest

from labbench.devices.chip_model import bist_passes, vmin_mv
from labbench.protocols.profile import load_profile
from labbench.records import SweepCoordinates
from labbench.runs.events import ItemVerdictChanged, StepStarted
from labbench.runs.plan import parse_plan
from labbench.runs.plan_sweep import plan_shmoos
from labbench.runs.sequencer import RunRequest, run_plan
from labbench.storage import inventory as inventory_store
from labbench.storage import open_database
from labbench.storage import results as result_store
from labbench.storage import runs as run_store
from labbench.storage.sweeps import run_sweeps

# Each point's BIST reply must land inside its dwell, or the point is (rightly) an error: on
# the loaded 2-core CI machine the simulated rig's thread once answered the last point
# after 80 ms (a clean-clone CI run, 2026-11-27).
DWELL_S = 0.15


def _plan(
    x: str, y: str | None = None, order: str = "x-fastest", extra: str = "", version: int = 1
) -> str:
    sends = '"VSET {vdd_mv}", ' + ('"FSET {freq_mhz}", ' if y else "") + '"BIST"'
    return f"""\
[plan]
name = "shmoo-test"
version = "{version}"
dut_kind = "chip"
{extra}
[[channel]]
name = "vdd_hbm"
unit = "V"

[[step]]
name = "power-on"
duration_s = 0.3
send = ["PWR ON"]

[[step]]
name = "shmoo"
dwell_s = {DWELL_S}
send = [{sends}]
  [step.sweep]
  x = {x}
  {"y = " + y if y else ""}
  order = "{order}"
  [[step.result]]
  name = "bist"
  equals = "PASS"
  [[step.limit]]
  channel = "vdd_hbm"
  low = 1.0
  high = 1.2
"""


@pytest.fixture
def sqlite_db(tmp_path):
    database = open_database(str(tmp_path / "sweep.sqlite3"))
    yield database
    database.dispose()


def _run(db, text: str, device: str, **kwargs):
    plan = parse_plan(text, "sweep.toml")
    dut = inventory_store.find_dut(db, "CHP-SW") or inventory_store.add_dut(db, "chip", "CHP-SW")
    request = RunRequest(plan, dut, device, load_profile("default"), "ana", "bench-1")
    return plan, run_plan(db, request, **kwargs)


def _expected(seed: int, x: float, y: float | None, hole_rate: float) -> str:
    return "P" if bist_passes(seed, 0, x, 1500.0 if y is None else y, hole_rate) else "F"


def test_two_axis_sweep_x_fastest_is_stored_with_coordinates_and_order(db):
    events = []
    text = _plan(
        '{ name = "vdd_mv", values = [600, 650, 700, 750] }',
        '{ name = "freq_mhz", start = 1000, stop = 1600, step = 300 }',
    )
    plan, outcome = _run(db, text, "mock://nominal?rate=200&hole_rate=0", listener=events.append)
    assert outcome.live_agrees
    points = [s for s in outcome.steps if s.point is not None]
    assert [(p.point.x, p.point.y) for p in points] == [
        (x, y) for y in (1000, 1300, 1600) for x in (600, 650, 700, 750)
    ]
    assert [p.point.order for p in points] == list(range(12))
    stored = result_store.run_results(db, outcome.run_id)
    assert [s.point for s in stored] == [s.point for s in outcome.steps]
    assert stored[1].point == SweepCoordinates("shmoo", "vdd_mv", 600.0, "freq_mhz", 1000.0, 0)
    assert stored[1].name == "shmoo vdd_mv=600 freq_mhz=1000"

    (sweep,) = run_sweeps(db, outcome.run_id)
    shmoo = sweep.shmoo
    assert (sweep.name, shmoo.x_name, shmoo.y_name) == ("shmoo", "vdd_mv", "freq_mhz")
    for y in (1000.0, 1300.0, 1600.0):
        row = "".join(shmoo.cell(x, y) for x in shmoo.xs)
        assert row == "".join(_expected(0, x, y, 0) for x in shmoo.xs), (y, row)
    # Vmin rises with the clock, as the chip's model does.
    assert shmoo.vmin == {1000.0: 600.0, 1300.0: 650.0, 1600.0: 700.0}
    assert vmin_mv(0, 0, 1600) > vmin_mv(0, 0, 1000)
    assert shmoo.holes == ()
    # The run's verdict is the worst point's: the low corners fail their BIST.
    assert outcome.status == "failed"

    # Live: each point's start and each item verdict carry the point's coordinates, and the
    # last live step verdict of every point is its final one.
    started = {e.position: e.point for e in events if isinstance(e, StepStarted)}
    assert [started[s.position] for s in outcome.steps] == [s.point for s in outcome.steps]
    live: dict[int, str] = {}
    for e in events:
        if isinstance(e, ItemVerdictChanged):
            assert e.point == plan.steps[e.position].point
            live[e.position] = e.step_verdict
    assert {s.position: s.verdict for s in points} == live
    # The live grid (every planned point, filled in from the live verdicts) is the stored one.
    live_grid = plan_shmoos(plan, live)["shmoo"]
    assert live_grid == shmoo
    assert plan_shmoos(plan, {})["shmoo"].cell(600.0, 1000.0) == "-"


def test_y_fastest_order_is_recorded(sqlite_db):
    text = _plan(
        '{ name = "vdd_mv", values = [650, 700] }',
        '{ name = "freq_mhz", values = [1000, 1500, 1200] }',
        order="y-fastest",
    )
    _, outcome = _run(sqlite_db, text, "mock://nominal?rate=200&hole_rate=0")
    (sweep,) = run_sweeps(sqlite_db, outcome.run_id)
    by_order = sorted(sweep.shmoo.points, key=lambda p: p.order)
    assert [(p.x, p.y) for p in by_order] == [
        (650, 1000), (650, 1500), (650, 1200), (700, 1000), (700, 1500), (700, 1200),
    ]  # fmt: skip
    assert sweep.shmoo.ys == (1000.0, 1200.0, 1500.0)  # the grid is sorted, the order kept
    for p in sweep.shmoo.points:
        assert sweep.shmoo.cell(p.x, p.y) == _expected(0, p.x, p.y, 0)
    assert sweep.as_json()["points"][1] == {
        "x": 650.0,
        "y": 1500.0,
        "order": 1,
        "verdict": "passed" if _expected(0, 650, 1500, 0) == "P" else "failed",
    }


def test_one_axis_sweep_a_hole_and_a_row_that_never_passes(sqlite_db):
    # Seed 0's chip fails BIST at 750 mV and 1000 MHz although it passes below and above: a
    # hole (the model's rare deterministic failure above Vmin).
    assert not bist_passes(0, 0, 750.0, 1000.0) and bist_passes(0, 0, 725.0, 1000.0)
    text = _plan('{ name = "vdd_mv", start = 700, stop = 800, step = 25 }').replace(
        '"VSET {vdd_mv}", ', '"FSET 1000", "VSET {vdd_mv}", '
    )
    _, outcome = _run(sqlite_db, text, "mock://nominal?rate=200")
    (sweep,) = run_sweeps(sqlite_db, outcome.run_id)
    shmoo = sweep.shmoo
    assert (shmoo.y_name, shmoo.ys) == (None, (None,))
    assert "".join(shmoo.cell(x, None) for x in shmoo.xs) == "PPFPP"
    assert shmoo.holes == ((750.0, None),)
    assert shmoo.vmin == {None: 775.0}
    assert sweep.as_json()["vmin"] == {"null": 775.0}

    # Every point below Vmin at 1600 MHz: that row never passes, Vmin none.
    low = _plan(
        '{ name = "vdd_mv", values = [600, 625, 650] }',
        '{ name = "freq_mhz", values = [1000, 1600] }',
        version=2,
    )
    _, outcome = _run(sqlite_db, low, "mock://nominal?rate=200&hole_rate=0")
    (sweep,) = run_sweeps(sqlite_db, outcome.run_id)
    assert "".join(sweep.shmoo.cell(x, 1600.0) for x in sweep.shmoo.xs) == "FFF"
    assert sweep.shmoo.vmin[1600.0] is None and sweep.as_json()["vmin"]["1600"] is None
    assert sweep.shmoo.vmin[1000.0] == 600.0


def test_an_aborted_sweep_shows_the_points_never_run_as_not_run(sqlite_db):
    text = _plan(
        '{ name = "vdd_mv", start = 650, stop = 800, step = 25 }',
        '{ name = "freq_mhz", values = [1000, 1200, 1400] }',
    )
    stop = threading.Event()
    started = []

    def on_event(event):
        if isinstance(event, StepStarted) and event.point is not None:
            started.append(event.point)
            if len(started) == 5:
                stop.set()

    _, outcome = _run(sqlite_db, text, "mock://nominal?rate=200&hole_rate=0", stop=stop,
                      listener=on_event)  # fmt: skip
    assert outcome.status == "aborted"
    assert run_store.get_run(sqlite_db, outcome.run_id).status == "aborted"
    (sweep,) = run_sweeps(sqlite_db, outcome.run_id)
    shmoo = sweep.shmoo
    assert len(shmoo.points) == 7 * 3
    ran = [p for p in shmoo.points if p.verdict is not None]
    not_run = [p for p in shmoo.points if p.verdict is None]
    # The fifth point's dwell was cut short by the stop: not run either, though it began.
    assert len(started) == 5 and len(ran) == 4
    assert sorted(p.order for p in ran) == list(range(4))
    cut = started[-1]
    assert shmoo.cell(cut.x, cut.y) == "-"
    assert all(p.order is None and shmoo.cell(p.x, p.y) == "-" for p in not_run)
    # Never a pass: the rows never reached have no Vmin, and no cell of theirs passed.
    assert shmoo.vmin[1200.0] is None and shmoo.vmin[1400.0] is None
    assert "".join(shmoo.cell(x, 1400.0) for x in shmoo.xs) == "-" * 7
    assert [p["verdict"] for p in sweep.as_json()["points"]][4:] == ["not run"] * 17
    stored = result_store.run_results(sqlite_db, outcome.run_id)
    skipped = [s for s in stored if s.verdict == "skipped"]
    assert len(skipped) == 17 and all(s.point is not None for s in skipped)
    # The cut point keeps what was judged of it (the data are kept); the others have none.
    assert [s.point.order for s in skipped if s.criteria] == [cut.order]


def test_stop_on_fail_stops_at_the_first_failing_point(sqlite_db):
    assert _expected(0, 575, 1000, 0) == "F" and _expected(0, 650, 1000, 0) == "P"
    text = _plan(
        '{ name = "vdd_mv", values = [750, 700, 575, 650] }', extra="stop_on_fail = true"
    ).replace('"VSET {vdd_mv}", ', '"FSET 1000", "VSET {vdd_mv}", ')
    _, outcome = _run(sqlite_db, text, "mock://nominal?rate=200&hole_rate=0")
    assert outcome.status == "failed"
    (sweep,) = run_sweeps(sqlite_db, outcome.run_id)
    assert {p.x: sweep.shmoo.cell(p.x, None) for p in sweep.shmoo.points} == {
        750.0: "P",
        700.0: "P",
        575.0: "F",
        650.0: "-",  # never run after the failure, never a pass
    }
    # Vmin is what the points that ran show: from 700 up every point passed.
    assert sweep.shmoo.vmin == {None: 700.0} and sweep.shmoo.holes == ()


def _slow_rig_plan() -> str:
    values = [v for pair in zip(range(500, 520), range(900, 880, -1), strict=True) for v in pair]
    return (
        '[plan]\nname = "slow-rig"\nversion = "1"\ndut_kind = "chip"\n'
        '[[step]]\nname = "power-on"\nduration_s = 0.3\nsend = ["PWR ON"]\n'
        '[[step]]\nname = "sw"\ndwell_s = 0.02\nsend = ["VSET {vdd_mv}", "FSET 1000", "BIST"]\n'
        f'  [step.sweep]\n  x = {{ name = "vdd_mv", values = {values} }}\n'
        '  [[step.result]]\n  name = "bist"\n  equals = "PASS"\n'
    )


def test_a_coarse_clock_times_replies_the_same_live_and_on_reparse(sqlite_db, monkeypatch):
    """With a clock of 15.6 ms ticks (Windows before Python 3.13) a command and the read that
    brings its reply often share a time: live paired them and reparse (a command strictly
    before a read) did not, so a reply's time differed. The reader now times each command
    after the previous read and each read after its commands."""
    import time

    from labbench.acquisition.record import reparse
    from labbench.storage import events as event_store
    from labbench.storage.telemetry_read import read_raw

    real = time.time_ns
    tick = 15_625_000
    monkeypatch.setattr(time, "time_ns", lambda: real() // tick * tick)
    _, outcome = _run(sqlite_db, _slow_rig_plan(), "mock://nominal?rate=5&hole_rate=0")
    monkeypatch.setattr(time, "time_ns", real)

    def results():
        return [
            (e.at_ns, e.detail)
            for e in event_store.run_events(sqlite_db, outcome.run_id)
            if e.kind == "result"
        ]

    live = results()
    assert len(live) >= 40
    # Reparse pairs commands and reads by strict comparison of their stored times: every
    # command has a time of its own, and none shares a read's.
    events = event_store.run_events(sqlite_db, outcome.run_id)
    commands = [e.at_ns for e in events if e.kind == "command"]
    assert len(commands) >= 3 * 40 and commands == sorted(set(commands))
    reads = {at for at, _ in read_raw(sqlite_db, outcome.run_id)}
    assert not reads & set(commands)
    reparse(sqlite_db, outcome.run_id, load_profile("default"), user="ci")
    assert results() == live


def test_short_points_on_a_slow_rig_each_get_their_own_reply(sqlite_db):
    """A rig that sends 5 lines a second leaves the reader waiting up to 50 ms for its next
    line: the commands of a 20 ms point went out after the point had ended, so its BIST
    reply fell between points (61 of 80 points in error when measured). The read is woken
    when a command is queued: every point gets its reply, judged against its own voltage."""
    text = _slow_rig_plan()
    _, outcome = _run(sqlite_db, text, "mock://nominal?rate=5&hole_rate=0")
    (sweep,) = run_sweeps(sqlite_db, outcome.run_id)
    cells = {p.x: sweep.shmoo.cell(p.x, None) for p in sweep.shmoo.points}
    assert len(cells) == 40
    # 500-519 mV are far below the chip's Vmin at 1000 MHz and 881-900 mV far above it:
    # alternating, so a reply credited to the next point would show as the wrong letter.
    assert {cells[v] for v in range(500, 520)} == {"F"}, cells
    assert {cells[v] for v in range(881, 901)} == {"P"}, cells
