"""Why it failed, at once: the banner turns the moment an item fails and names it, the
results table jumps to the failing row, the step list shows every step's state (skipped
after stop_on_fail), and an error run says which item and why."""

from __future__ import annotations

from labbench.protocols.profile import load_profile
from labbench.runs.plan import parse_plan
from labbench.runs.sequencer import RunRequest
from labbench.storage import inventory as inventory_store
from labbench.storage import results as result_store

from .runs import SHORT_PLAN, short_run_request

STOP_ON_FAIL_PLAN = SHORT_PLAN.replace(
    'dut_kind = "chip"', 'dut_kind = "chip"\nstop_on_fail = true'
).replace('name = "gui-short"', 'name = "gui-stop"')

SILENT_CHANNEL_PLAN = """\
[plan]
name = "gui-silent"
version = "1"
dut_kind = "chip"

[[channel]]
name = "vdd_aux"
unit = "V"

[[step]]
name = "aux-check"
duration_s = 1.0
  [[step.measure]]
  name = "vdd_aux_mean"
  channel = "vdd_aux"
  stat = "mean"
  low = 1.0
  high = 1.2
"""


def _plan_request(db, text: str, device: str) -> RunRequest:
    dut = inventory_store.find_dut(db, "CHP-WHY") or inventory_store.add_dut(db, "chip", "CHP-WHY")
    return RunRequest(
        parse_plan(text, "inline.toml"), dut, device, load_profile("default"), "ana", "bench-1"
    )


def test_banner_names_the_first_failure_the_moment_it_happens(qtbot, window):
    device = "mock://rail-droop?rate=200&power=off&droop_at=1.6&droop_s=0.3"
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000) as finished:
        with qtbot.waitSignal(window.controller.violation, timeout=20_000):
            window.start_request(short_run_request(window.db, device))
        # the run is still going, and the banner already says why it will fail
        assert window.controller.running
        banner = window.live.banner
        assert banner.verdict == "failed"
        assert (
            banner.text().startswith("FAILED — hold: vdd_core ")
            and " V < 0.72 V at " in banner.text()
        )
        assert window.step_list.states[1] == "failed"
    outcome = finished.args[0]
    assert outcome.status == "failed"
    at_s = outcome.steps[1].criteria[0].violations[0].start_s
    assert (
        banner.text().startswith("FAILED — hold: vdd_core") and f"at {at_s:.2f} s" in banner.text()
    )
    # the results table shows the failing row, selected and in view
    view = window.results_view
    failing = [
        r for r in range(window.results.rowCount()) if window.results.verdict_of(r) == "failed"
    ]
    assert failing == [1]
    assert [i.row() for i in view.selectionModel().selectedRows()] == [1]
    assert view.visualRect(window.results.index(1, 0)).intersects(view.viewport().rect())
    assert window.step_list.states == ["passed", "failed"]


def test_steps_after_a_stop_on_fail_are_skipped(qtbot, window):
    device = "mock://rail-droop?rate=200&power=off&droop_at=0.8&droop_s=0.3"
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000) as finished:
        window.start_request(_plan_request(window.db, STOP_ON_FAIL_PLAN, device))
    outcome = finished.args[0]
    assert outcome.status == "failed"
    assert window.step_list.states == ["failed", "skipped"]
    assert [s.verdict for s in result_store.run_results(window.db, outcome.run_id)] == [
        "failed",
        "skipped",
    ]
    assert window.results.verdict_of(1) == "skipped"
    assert window.live.banner.text().startswith("FAILED — power-on: vdd_core")


def test_an_error_run_says_which_item_and_why(qtbot, window):
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000) as finished:
        window.start_request(
            _plan_request(window.db, SILENT_CHANNEL_PLAN, "mock://nominal?rate=100&power=off")
        )
    assert finished.args[0].status == "error"
    banner = window.live.banner
    assert banner.verdict == "error"
    assert banner.text() == "ERROR — aux-check: vdd_aux_mean got no vdd_aux samples"
    assert window.step_list.states == ["error"]
    assert [i.row() for i in window.results_view.selectionModel().selectedRows()] == [0]
