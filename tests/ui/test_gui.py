"""The desktop app, offscreen: runs from the GUI, banners, abort, history, layout, themes and
barcodes."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from labbench.protocols.profile import load_profile
from labbench.runs.sequencer import RunRequest, run_plan
from labbench.storage import events as event_store
from labbench.storage import inventory as inventory_store
from labbench.storage import results as result_store
from labbench.storage import runs as run_store
from labbench.storage.telemetry_read import read_channel
from labbench.ui.main_window import MainWindow
from labbench.ui.theme import THEMES, verdict_colors

from .runs import short_run_request


def _run_in_gui(qtbot, window, device: str):
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000) as finished:
        with qtbot.waitSignal(window.live.frame_drawn, timeout=10_000):
            window.start_request(short_run_request(window.db, device))
        # the plot has data and the results table turns from pending while the run goes
        qtbot.waitUntil(
            lambda: len(window.live.plots.data.get("vdd_core", ([], []))[0]) > 20, timeout=10_000
        )
        qtbot.waitUntil(lambda: window.results.verdict_of(0) != "pending", timeout=10_000)
    return finished.args[0]


def test_failed_banner_on_rail_droop_and_passed_on_nominal(qtbot, window):
    outcome = _run_in_gui(
        qtbot, window, "mock://rail-droop?rate=200&power=off&droop_at=1.5&droop_s=0.3"
    )
    assert outcome.status == "failed"
    assert window.live.banner.text().startswith("FAILED") and window.live.banner.verdict == "failed"
    assert window.results.verdict_of(1) == "failed"
    assert window.live.plots.violation_items, "the violation is marked on the plot"
    channel, start, _end, _ = window.live.plots.violation_items[0]
    assert channel == "vdd_core" and 1.4 < start < 1.8
    assert window.start_action.isEnabled() and not window.abort_action.isEnabled()

    outcome = _run_in_gui(qtbot, window, "mock://nominal?rate=200&power=off")
    assert outcome.status == "passed" and window.live.banner.text().startswith("PASSED")
    assert [window.results.verdict_of(r) for r in range(2)] == ["passed", "passed"]
    assert window.live.plots.violation_items == []


def _stored_runs(db):
    outcomes = []
    for device in (
        "mock://rail-droop?rate=200&power=off&droop_at=1.5",
        "mock://nominal?rate=200&power=off",
    ):
        outcomes.append(run_plan(db, short_run_request(db, device, "CHP-HIST")))
    return outcomes


def _filtered(qtbot, history) -> list[int]:
    """Apply the history's filters and return the ids of the runs it then shows."""
    with qtbot.waitSignal(history.model.loaded, timeout=10_000):
        history.apply_filters()
    return [r.id for r in history.model.rows]


def _backdate(db, run_id: int, days: int) -> None:
    import datetime as dt

    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from labbench.storage import models as m

    with Session(db.engine) as session, session.begin():
        session.execute(
            update(m.Run)
            .where(m.Run.id == run_id)
            .values(started_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days))
        )


def test_history_filters_open_run_and_zoom_to_violation(qtbot, window):
    failed, passed = _stored_runs(window.db)
    history = window.history
    with qtbot.waitSignal(history.model.loaded, timeout=10_000):
        history.apply_filters()
    assert [r.id for r in history.model.rows] == [passed.run_id, failed.run_id]
    with qtbot.waitSignal(history.model.loaded, timeout=10_000):
        history.verdict.setCurrentIndex(history.verdict.findData("failed"))
    assert [r.id for r in history.model.rows] == [failed.run_id]
    history.verdict.setCurrentIndex(0)
    history.search.setText("no-such-dut")
    assert _filtered(qtbot, history) == []
    history.search.setText("CHP-HIST")
    assert len(_filtered(qtbot, history)) == 2
    history.search.clear()
    history.dut.setText("CHP-HIST")
    history.plan.setText("no-such-plan")
    assert _filtered(qtbot, history) == []
    history.plan.setText("gui-short")
    assert len(_filtered(qtbot, history)) == 2
    history.station.setText("bench-1")
    # A run of the same DUT and plan from three days ago: the date filter must drop it.
    old = run_plan(
        window.db, short_run_request(window.db, "mock://nominal?rate=100&power=off", "CHP-HIST")
    )
    _backdate(window.db, old.run_id, days=3)
    assert sorted(_filtered(qtbot, history)) == sorted([failed.run_id, passed.run_id, old.run_id])
    with qtbot.waitSignal(history.model.loaded, timeout=10_000):
        history.days.setCurrentIndex(history.days.findData(1))  # last 24 h
    assert sorted(r.id for r in history.model.rows) == sorted([failed.run_id, passed.run_id])
    with qtbot.waitSignal(history.model.loaded, timeout=10_000):
        history.days.setCurrentIndex(history.days.findData(7))  # last 7 days
    assert old.run_id in [r.id for r in history.model.rows]

    detail = history.detail
    with qtbot.waitSignal(detail.loader.done, timeout=10_000):
        detail.open_run(failed.run_id)
    qtbot.waitUntil(
        lambda: detail.run is not None and detail.run.id == failed.run_id, timeout=10_000
    )
    t, _v = detail.plots.data["vdd_core"]
    stored_t, _stored_v = read_channel(window.db, failed.run_id, "vdd_core")
    np.testing.assert_array_equal(t, stored_t)
    assert detail.violations.count() == 1 and "FAILED" in detail.title.text()
    item = detail.violations.item(0)
    _channel, start, end = item.data(Qt.ItemDataRole.UserRole)
    detail.violations.itemClicked.emit(item)
    plot = detail.plots.plot_of("vdd_core")
    x0, x1 = plot.vb.viewRange()[0]
    assert x0 < start and end < x1 and (x1 - x0) < 3.0  # zoomed in around it
    detail.add_note("probe slipped", user="ana")  # written on the worker, then shown
    qtbot.waitUntil(
        lambda: detail.notes.count() == 1 and "probe slipped" in detail.notes.item(0).text(),
        timeout=10_000,
    )
    assert event_store.audit_trail(window.db, "run", failed.run_id)[0].reason == "probe slipped"


def test_layout_persists_across_restart_and_resets(qtbot, db):
    first = MainWindow(db)
    qtbot.addWidget(first)
    first.show()
    first.console_dock.hide()
    first.inventory.splitter.setSizes([100, 500])
    sizes = first.inventory.splitter.sizes()
    first.resize(
        760, 700
    )  # inside the offscreen screen (800 x 800), which restoreGeometry respects
    size = (first.width(), first.height())
    first.close()  # saves geometry and dock state
    second = MainWindow(db)
    qtbot.addWidget(second)
    second.show()
    qtbot.waitExposed(second)
    assert not second.console_dock.isVisible()
    assert second.inventory.splitter.sizes() == sizes
    assert (second.width(), second.height()) == size
    second.reset_layout()
    assert second.console_dock.isVisible()
    second.close()


def _contrast(a: QColor, b: QColor) -> float:
    def lum(c: QColor) -> float:
        parts = []
        for x in (c.redF(), c.greenF(), c.blueF()):
            parts.append(x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4)
        return 0.2126 * parts[0] + 0.7152 * parts[1] + 0.0722 * parts[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("name", ["dark", "light"])
def test_theme_switch_keeps_everything_legible(qtbot, window, name):
    window.set_theme(name)
    theme = THEMES[name]
    palette = QApplication.instance().palette()
    assert (
        _contrast(
            palette.color(palette.ColorRole.Window), palette.color(palette.ColorRole.WindowText)
        )
        >= 7
    )
    assert (
        _contrast(palette.color(palette.ColorRole.Base), palette.color(palette.ColorRole.Text)) >= 7
    )
    assert (
        _contrast(
            palette.color(palette.ColorRole.Highlight),
            palette.color(palette.ColorRole.HighlightedText),
        )
        >= 4.5
    )
    assert _contrast(QColor(theme.plot_background), QColor(theme.plot_foreground)) >= 4.5
    for verdict in ("passed", "marginal", "failed", "error", "aborted", "running", "pending"):
        bg, fg = verdict_colors(theme, verdict)
        assert _contrast(bg, fg) >= 4.5, (name, verdict)
    for color in theme.curves:
        assert _contrast(QColor(color), QColor(theme.plot_background)) >= 2.0, (name, color)
    assert window.dark_action.isChecked() == (name == "dark")
    import pyqtgraph as pg

    assert pg.getConfigOption("background") == theme.plot_background
    # existing plots follow too, not only new ones
    assert window.live.plots.layout_widget.backgroundBrush().color().name() == theme.plot_background
    assert (
        window.history.detail.plots.layout_widget.backgroundBrush().color().name()
        == theme.plot_background
    )
    assert window.live.banner.styleSheet().count("background") == 1


def test_export_dialog_writes_the_same_csv_as_the_command_line(qtbot, window, tmp_path):
    from labbench.cli import main
    from labbench.ui.export_dialog import ExportDialog, export_file_names

    failed, passed = _stored_runs(window.db)
    gui_dir, cli_dir = tmp_path / "gui", tmp_path / "cli"
    gui_dir.mkdir()
    cli_dir.mkdir()
    dialog = ExportDialog(window.db, [failed.run_id, passed.run_id], window, folder=gui_dir)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.accepted, timeout=30_000):
        dialog.start()
    assert dialog.progress.value() == 1000
    for run_id in (failed.run_id, passed.run_id):
        report, telemetry = export_file_names(cli_dir, run_id)
        assert (
            main(
                [
                    "export",
                    str(run_id),
                    "--report",
                    str(report),
                    "--telemetry",
                    str(telemetry),
                    "--db",
                    window.db.url.database,
                ]
            )
            == 0
        )
        gui_report, gui_telemetry = export_file_names(gui_dir, run_id)
        assert gui_report.read_bytes() == report.read_bytes()
        assert gui_telemetry.read_bytes() == telemetry.read_bytes()
    runs = (gui_dir / "runs.csv").read_text().splitlines()
    assert len(runs) == 3 and runs[0].startswith("run_id,dut")


def test_export_cancel_removes_the_partial_file(qtbot, window, tmp_path):
    from labbench.ui.export_dialog import ExportWorker

    (outcome,) = _stored_runs(window.db)[:1]
    worker = ExportWorker(window.db, [outcome.run_id], tmp_path, "long", True, False)
    worker.cancel.set()  # cancelled before the first slice is done
    with qtbot.waitSignal(worker.finished, timeout=30_000) as finished:
        worker.start()
    assert "cancelled" in str(finished.args[0])
    assert not (tmp_path / f"run-{outcome.run_id}-telemetry.csv").exists()


def test_compare_overlays_runs_aligned_at_run_or_step_start(qtbot, window):
    failed, passed = _stored_runs(window.db)
    compare = window.compare
    with qtbot.waitSignal(compare.loaded, timeout=20_000):
        compare.add_runs([failed.run_id, passed.run_id])
    qtbot.waitUntil(lambda: len(compare.curves) == 2, timeout=10_000)
    assert compare.channel.currentText() == "vdd_core"

    t_run = compare.curves[0].getData()[0]
    assert (
        t_run[0] == read_channel(window.db, failed.run_id, "vdd_core")[0][0]
    )  # aligned at run start: times as stored
    with qtbot.waitSignal(compare.loaded, timeout=20_000):
        compare.set_alignment("hold")
    qtbot.waitUntil(
        lambda: compare.curves and compare.curves[0].getData()[0][0] < -1.0, timeout=10_000
    )
    for curve, outcome in zip(compare.curves, (failed, passed), strict=True):
        t, _ = curve.getData()
        step_start = (
            result_store.run_results(window.db, outcome.run_id)[1].started_ns
            - run_store.get_run(window.db, outcome.run_id).t0_ns
        ) / 1e9
        stored_t = read_channel(window.db, outcome.run_id, "vdd_core")[0]
        assert t[0] == stored_t[0] - step_start  # shifted so the step starts at 0 for every run
    assert "failed" in compare.curves[0].name() and "passed" in compare.curves[1].name()


def test_crash_is_logged_shown_and_ends_the_run_as_error(qtbot, window, isolated_user_dirs):
    import sys

    from labbench import paths
    from labbench.ui.app import install_crash_handler

    install_crash_handler(window)
    try:
        with qtbot.waitSignal(window.controller.run_started, timeout=10_000):
            window.start_request(short_run_request(window.db, "mock://nominal?rate=100"))
        with qtbot.waitSignal(window.controller.run_finished, timeout=30_000) as finished:
            try:
                raise ZeroDivisionError("a widget divided by zero")
            except ZeroDivisionError:
                sys.excepthook(*sys.exc_info())
        outcome = finished.args[0]
        assert outcome.status == "error"
        run = run_store.get_run(window.db, outcome.run_id)
        assert (
            run.status == "error"
            and "ZeroDivisionError" in run.error_message
            and run.sample_count > 0
        )
        box = window.last_crash_box
        assert "ZeroDivisionError: a widget divided by zero" in box.text()
        assert "Traceback" in box.detailedText()  # copyable details
        log_text = (paths.user_log_dir() / "labbench.log").read_text()
        assert "a widget divided by zero" in log_text
        box.close()
    finally:
        sys.excepthook = sys.__excepthook__


def test_stored_run_opens_as_overview_and_loads_detail_on_zoom(qtbot, window, monkeypatch):
    from labbench.ui import run_detail

    (outcome,) = _stored_runs(window.db)[:1]
    monkeypatch.setattr(
        run_detail, "OVERVIEW_ABOVE", 400
    )  # this small run (about 1,600 samples a channel) counts as huge
    detail = window.history.detail
    with qtbot.waitSignal(detail.loader.done, timeout=10_000):
        detail.open_run(outcome.run_id)
    qtbot.waitUntil(lambda: detail.run is not None, timeout=10_000)
    t_all, v_all = read_channel(window.db, outcome.run_id, "vdd_core")
    t, _ = detail.plots.data["vdd_core"]
    assert "vdd_core" in detail.overview and t.size < t_all.size  # chunk min/max, not samples
    with qtbot.waitSignal(detail.detail_loaded, timeout=10_000):
        detail.zoom_to(1.0, 1.05)  # about a second in view: a few hundred samples
    t, v = detail.plots.data["vdd_core"]
    a, b = detail.detail_range
    keep = (t_all >= a) & (t_all <= b)
    np.testing.assert_array_equal(t, t_all[keep])
    np.testing.assert_array_equal(v, v_all[keep])


def test_manual_entry_is_asked_at_its_step_with_its_limits(qtbot, window, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    from labbench import paths
    from labbench.runs.plan import load_plan

    asked = []
    monkeypatch.setattr(
        QInputDialog,
        "getText",
        lambda parent, title, label: asked.append((title, label)) or ("OK", True),
    )
    plan = load_plan(paths.resources_dir() / "plans" / "chip-bringup.toml")
    dut = inventory_store.add_dut(window.db, "chip", "CHP-MANUAL")
    request = RunRequest(
        plan, dut, "mock://nominal?rate=100", load_profile("default"), "ana", "bench-1"
    )
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000) as finished:
        window.start_request(request)
    assert asked == [
        (
            "power-on: visual_check",
            "No smoke, no discolouration, fan spinning? Type OK\n(expected: OK)",
        )
    ]
    assert finished.args[0].status == "passed"


def test_export_these_takes_every_filtered_run_not_only_the_loaded_page(qtbot, window):
    from labbench.ui.export_dialog import ExportDialog
    from labbench.ui.history import PAGE

    dut = inventory_store.add_dut(window.db, "chip", "CHP-MANY")
    passed, failed = [], []
    for i in range(PAGE + 30):
        run = run_store.start_run(window.db, dut.id, operator="ana")
        status = "failed" if i % 10 == 0 else "passed"
        run_store.finish_run(window.db, run.id, status)
        (failed if status == "failed" else passed).append(run.id)
    history = window.history
    window.history_dock.show()
    window.history_dock.raise_()
    with qtbot.waitSignal(history.model.loaded, timeout=10_000):
        history.verdict.setCurrentIndex(history.verdict.findData("passed"))
    assert len(history.model.rows) == PAGE < len(passed)  # one page loaded so far
    qtbot.mouseClick(history.export_filtered, Qt.MouseButton.LeftButton)

    def dialogs():
        return [w for w in window.findChildren(ExportDialog) if w.isVisible()]

    qtbot.waitUntil(lambda: bool(dialogs()), timeout=10_000)
    (dialog,) = dialogs()
    assert sorted(dialog.run_ids) == sorted(passed)  # every run the filters show, and only those
    dialog.reject()
