"""Power-sequencing marks in the live view: a sequencing run on the simulated rig draws, on
the rails' plots, each timing item's threshold crossings and its measured time in its
verdict's colour, while the run goes on (docs/architecture.md §4 "Power sequencing")."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from labbench import paths
from labbench.protocols.profile import parse_profile
from labbench.records import CriterionRecord, StepRecord
from labbench.runs.plan import parse_plan
from labbench.runs.sequencer import RunRequest
from labbench.storage import inventory as inventory_store
from labbench.storage import results as result_store
from labbench.ui.plots import PlotStack
from labbench.ui.theme import DARK, LIGHT, verdict_colors
from labbench.ui.timing_marks import TimingMarks, crossings_in, timing_marks

PLAN = paths.resources_dir() / "plans" / "power-sequencing.toml"
# The rig's own clock times the samples (tests/runs/test_power_sequencing.py says why).
NOMINAL = "mock://nominal?rate=2000&device_time=ms"
SLOW = "mock://slow-rail?rate=2000&device_time=ms"
CLOCK = '[line]\ndevice_time = "t_ms"\ndevice_time_unit = "ms"\n'


def _plan():
    """The shipped plan with its last step held 2 s, so the marks show while it still runs."""
    text = PLAN.read_text(encoding="utf-8")
    head, tail = text.rsplit("duration_s = 0.5", 1)
    return parse_plan(head + "duration_s = 2.0" + tail, str(PLAN))


def _request(db, device: str, serial: str) -> RunRequest:
    dut = inventory_store.add_dut(db, "chip", serial)
    return RunRequest(_plan(), dut, device, parse_profile(CLOCK), "ana", "bench-1")


def _stored_timing(db, run_id: int) -> dict:
    return {
        c.name: c
        for s in result_store.run_results(db, run_id)
        for c in s.criteria
        if c.kind == "timing"
    }


@pytest.mark.parametrize(("device", "all_pass"), [(NOMINAL, True), (SLOW, False)])
def test_a_sequencing_run_draws_crossings_and_times_on_the_rails(qtbot, window, device, all_pass):
    live = window.live
    with qtbot.waitSignal(window.controller.run_started, timeout=20_000):
        window.start_request(_request(window.db, device, f"CHP-SEQ-{len(device)}"))
    # Drawn live: before the run has finished (its last step lasts 2 s).
    qtbot.waitUntil(lambda: len(live.timing.marks()) >= 3, timeout=20_000)
    assert window.controller.running
    with qtbot.waitSignal(window.controller.run_finished, timeout=40_000) as finished:
        pass
    outcome = finished.args[0]
    stored = _stored_timing(window.db, outcome.run_id)
    measured = {name for name, c in stored.items() if c.value is not None}
    qtbot.waitUntil(lambda: len(live.timing.marks()) == len(measured), timeout=5_000)
    marks = {m.name: m for m in live.timing.marks()}
    assert set(marks) == measured
    if all_pass:
        assert {c.verdict for c in stored.values()} == {"passed"}
    else:
        assert "failed" in {c.verdict for c in stored.values()}
    for name, mark in marks.items():
        item = stored[name]
        # Listed on the plot with the judged time and the verdict in words, in its colour.
        assert mark.label.endswith(f"{item.value:.2f} ms"), (name, mark.label)
        assert mark.verdict == item.verdict
        assert f"■ {mark.label} {item.verdict}" in live.timing.listing(mark.step, name)
        items = live.timing.items(mark.step, name)
        dots = [i for i in items if isinstance(i, pg.ScatterPlotItem)]
        color = verdict_colors(live.theme, item.verdict)[0].name()
        assert dots and all(d.opts["brush"].color().name() == color for d in dots)
        # Each dot on its rail's curve: at the threshold, at the crossing time.
        for c in mark.crossings:
            _, v = live.controller.session.samples_between(c.rail, c.t_s - 0.002, c.t_s + 0.002)
            assert v.min() <= c.threshold <= v.max(), (name, c)
    rise = marks["vdd_io_rise"]
    assert rise.label.startswith("vdd_io rise ")
    assert [c.fraction for c in rise.crossings] == [0.1, 0.9]
    assert rise.crossings[1].t_s - rise.crossings[0].t_s == pytest.approx(
        stored["vdd_io_rise"].value / 1e3, abs=1e-9
    )
    delay = marks["vdd_io_to_vdd_hbm_delay"]
    assert delay.label.startswith("vdd_io → vdd_hbm ")
    assert [c.rail for c in delay.crossings] == ["vdd_io", "vdd_hbm"]
    assert (delay.crossings[1].t_s - delay.crossings[0].t_s) * 1e3 == pytest.approx(
        stored["vdd_io_to_vdd_hbm_delay"].value, abs=1e-6
    )
    # Above its plots, each item listed once.
    listed = " ".join(live.timing.listed().values())
    for m in marks.values():
        assert listed.count(f"■ {m.label} {m.verdict}") == 1, (m.label, listed)
    # The stored run, opened in History, shows the same marks from its stored samples.
    detail = window.history.detail
    loaded = []
    detail.open_run(outcome.run_id, on_loaded=lambda: loaded.append(True))
    qtbot.waitUntil(lambda: bool(loaded), timeout=20_000)
    again = {m.name: m for m in detail.timing.marks()}
    assert {n: (m.label, m.verdict) for n, m in again.items()} == {
        n: (m.label, m.verdict) for n, m in marks.items()
    }
    for name, m in again.items():
        assert [c.t_s for c in m.crossings] == pytest.approx(
            [c.t_s for c in marks[name].crossings], abs=1e-9
        )
        assert detail.timing.listing(m.step, name)


def test_crossings_are_those_the_judging_code_finds(qapp):
    plan = _plan()
    spec = next(s for s in plan.steps[1].timings if s.kind == "rise")
    t = np.arange(0, 0.05, 0.0005)
    v = np.clip((t - 0.01) / 0.004, 0, 1) * spec.nominals[0]  # 0 → nominal in 4 ms from 10 ms

    def samples(rail, t0, t1):
        return (t, v) if rail == spec.rails[0] else (np.empty(0), np.empty(0))

    low, high = crossings_in(spec, samples, 0.0, 1.0)
    assert low.t_s == pytest.approx(0.0104) and high.t_s == pytest.approx(0.0136)
    assert low.threshold == pytest.approx(0.1 * spec.nominals[0])
    # Drawn on a plot of the rail, redrawn only when the judged item changes.
    stack = PlotStack(LIGHT)
    stack.ensure_channel(spec.rails[0], "V")
    marks = TimingMarks(stack)
    item = CriterionRecord(
        "timing", spec.name, spec.channel, "ms", "rise", 3.2, "", 2, 8, None, None, None,
        0.0, 0.0, t.size, "passed",
    )  # fmt: skip
    step = StepRecord(1, "power-on", 0, 10**9, "passed", (item,))
    found = timing_marks(plan, [step], samples, lambda s: (0.0, 1.0))
    assert [m.label for m in found] == ["vdd_io rise 3.20 ms"]
    marks.update(found)
    drawn = marks.items(1, spec.name)
    assert drawn
    assert timing_marks(plan, [step], samples, lambda s: (0.0, 1.0), marks.shown) == []
    marks.update(found)
    assert marks.items(1, spec.name) == drawn  # not drawn again
    assert "■ vdd_io rise 3.20 ms passed" in marks.listing(1, spec.name)
    stack.set_theme(DARK)
    marks.set_theme(DARK)  # drawn again in the dark theme's colours, still listed
    dots = [i for i in marks.items(1, spec.name) if isinstance(i, pg.ScatterPlotItem)]
    assert dots[0].opts["brush"].color().name() == verdict_colors(DARK, "passed")[0].name()
    assert "■ vdd_io rise 3.20 ms passed" in marks.listing(1, spec.name)
    drawn = marks.items(1, spec.name)
    marks.clear()
    assert marks.marks() == [] and all(i.getViewBox() is None for i in drawn)
    stack.deleteLater()
