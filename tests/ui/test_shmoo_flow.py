"""A shmoo run in the app: the grid beside the live plots fills in as points are judged, a
clicked cell pauses the plots on that point's dwell, and in History the stored run shows its
grid, zooms on a clicked point and overlays another chip's Vmin (docs/architecture.md §4)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from labbench import paths
from labbench.protocols.profile import load_profile
from labbench.runs.plan import parse_plan
from labbench.runs.sequencer import RunRequest
from labbench.storage import inventory as inventory_store
from labbench.storage.sweeps import run_sweeps

PLAN = paths.resources_dir() / "plans" / "chip-shmoo.toml"


def _request(db, serial: str, seed: int) -> RunRequest:
    """The shipped shmoo plan with a short dwell (40 points in 4 s)."""
    text = PLAN.read_text(encoding="utf-8").replace("dwell_s = 0.3", "dwell_s = 0.1")
    plan = parse_plan(text, str(PLAN))
    dut = inventory_store.add_dut(db, "chip", serial)
    device = f"mock://nominal?rate=500&seed={seed}"
    return RunRequest(plan, dut, device, load_profile("default"), "ana", "bench-1")


def _click(view, x, y) -> None:
    QTest.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.cell_rect(x, y).center())


def _position(plan, x, y) -> int:
    return next(i for i, s in enumerate(plan.steps) if s.point and (s.point.x, s.point.y) == (x, y))


def test_a_shmoo_fills_live_and_opens_in_history_with_an_overlay(qtbot, window):
    window.resize(1600, 1000)
    live = window.live
    panel = live.shmoo
    request = _request(window.db, "CHP-SHM-A", 1)
    with qtbot.waitSignal(window.controller.run_started, timeout=20_000):
        window.start_request(request)
    assert panel.isVisible()
    view = panel.view
    # Live: some points judged while later ones are still due ("-").
    qtbot.waitUntil(lambda: view.run_count()[0] >= 3, timeout=20_000)
    assert window.controller.running
    letters = [view.cell_text(x, y) for y in view.shmoo.ys for x in view.shmoo.xs]
    assert "-" in letters and {"P", "F"} & set(letters)
    with qtbot.waitSignal(window.controller.run_finished, timeout=40_000) as finished:
        pass
    first = finished.args[0].run_id
    (stored,) = run_sweeps(window.db, first)
    shmoo = stored.shmoo
    qtbot.waitUntil(lambda: view.run_count()[0] == len(shmoo.points), timeout=5_000)
    for y in shmoo.ys:
        for x in shmoo.xs:
            assert view.cell_text(x, y) == shmoo.cell(x, y), (x, y)
        assert view.vmin(y) == shmoo.vmin[y]

    # A cell clicked, a low corner: the plots pause on that point's dwell, the core rail's
    # axis on what it did there (not on the power-on limits), and the cell is framed.
    x, y = shmoo.xs[1], shmoo.ys[2]
    _click(view, x, y)
    assert live.paused and view.selected == (x, y)
    window_ = window.controller.session.evaluator.windows[_position(request.plan, x, y)]
    vb = live.plots.plot_of("vdd_core").vb
    (x0, x1), (y0, y1) = vb.viewRange()
    assert x0 <= window_.start_s < window_.end_s <= x1
    assert x1 - x0 < 3 * (window_.end_s - window_.start_s)
    _, v = live._samples_between("vdd_core", window_.start_s, window_.end_s)
    assert v.size and y0 <= v.min() and v.max() <= y1 and y1 - y0 < 0.1  # volts

    # A second chip, then its run opened in History: its grid, and the first chip's Vmin over it.
    with qtbot.waitSignal(window.controller.run_started, timeout=20_000):
        window.start_request(_request(window.db, "CHP-SHM-B", 2))
    assert not live.paused, "a new run is followed, not left paused by the click"
    assert view.selected is None
    with qtbot.waitSignal(window.controller.run_finished, timeout=60_000) as finished:
        pass
    second = finished.args[0].run_id
    detail = window.history.detail
    with qtbot.waitSignal(detail.loader.done, timeout=10_000):
        window.open_stored_run(second)
    qtbot.waitUntil(lambda: detail.run is not None and detail.run.id == second, timeout=10_000)
    stored_panel = detail.shmoo
    assert detail.tabs.currentWidget() is stored_panel
    (other,) = run_sweeps(window.db, second)
    for y in other.shmoo.ys:
        assert stored_panel.view.vmin(y) == other.shmoo.vmin[y]
    combo = stored_panel.overlay_combo
    assert combo.isVisible() and combo.itemText(1) == f"run {first} CHP-SHM-A"
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_Down)
    assert stored_panel.view.legend_entries()[-1] == f"◆ run {first} CHP-SHM-A Vmin"
    assert stored_panel.view.overlay is not None
    assert stored_panel.view.overlay.vmin == shmoo.vmin

    # A stored point clicked: the plots zoom onto its dwell.
    step = next(
        s
        for s in detail._steps
        if s.point and (s.point.x, s.point.y) == (other.shmoo.xs[5], other.shmoo.ys[1])
    )
    _click(stored_panel.view, other.shmoo.xs[5], other.shmoo.ys[1])
    start = (step.started_ns - detail.run.t0_ns) / 1e9
    end = (step.ended_ns - detail.run.t0_ns) / 1e9
    (x0, x1), (y0, y1) = detail.plots.plot_of("vdd_core").vb.viewRange()
    assert x0 <= start < end <= x1 and x1 - x0 < 3 * (end - start)
    assert stored_panel.view.selected == (other.shmoo.xs[5], other.shmoo.ys[1])
    t, v = detail.plots.data["vdd_core"]
    seen = v[(t >= start) & (t <= end)]
    assert seen.size and y0 <= seen.min() and seen.max() <= y1


def test_a_plan_without_sweeps_shows_no_shmoo(qtbot, window):
    from .runs import short_run_request

    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000) as finished:
        window.start_request(short_run_request(window.db, "mock://nominal?rate=200"))
    assert not window.live.shmoo.isVisible()
    detail = window.history.detail
    with qtbot.waitSignal(detail.loader.done, timeout=10_000):
        window.open_stored_run(finished.args[0].run_id)
    qtbot.waitUntil(lambda: detail.run is not None, timeout=10_000)
    assert not detail.tabs.isTabVisible(detail.tabs.indexOf(detail.shmoo))
