"""The export dialog offers every format of ``labbench export``: JUnit XML, the JSON record and
shmoo grids beside the CSV report and telemetry, into a folder or one zip file; after one
run's export, "Open report" opens its HTML report.  Pressed as a user presses: the File
menu's Export, the dialog's check boxes and buttons."""

from __future__ import annotations

import json
import zipfile

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QDialogButtonBox

from labbench.runs.sequencer import run_plan
from labbench.ui import export_dialog
from labbench.ui.export_dialog import ExportDialog

from .runs import short_run_request


def _runs(db, count: int) -> list[int]:
    return [
        run_plan(db, short_run_request(db, "mock://nominal?rate=100&power=off", "CHP-EXP")).run_id
        for _ in range(count)
    ]


def _open_dialog(qtbot, window, run_ids, folder) -> ExportDialog:
    dialog = window.export_runs(run_ids)  # what File > Export opens for these runs
    qtbot.addWidget(dialog)
    qtbot.waitUntil(dialog.isVisible, timeout=5_000)
    dialog.folder.setText(str(folder))
    return dialog


def _click(qtbot, widget) -> None:
    """A click where a user clicks: a check box on its box (its middle may lie past its text)."""
    if isinstance(widget, QCheckBox):
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(8, widget.height() // 2))
    else:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def test_one_run_in_every_format_then_open_report(qtbot, window, tmp_path, monkeypatch):
    from labbench.cli import main

    (run_id,) = _runs(window.db, 1)
    dialog = _open_dialog(qtbot, window, [run_id], tmp_path / "gui")
    (tmp_path / "gui").mkdir()
    for box in (dialog.html, dialog.junit, dialog.record):
        _click(qtbot, box)
    assert dialog.html.isChecked() and dialog.junit.isChecked() and dialog.record.isChecked()
    _click(qtbot, dialog.buttons.button(QDialogButtonBox.StandardButton.Ok))
    qtbot.waitUntil(dialog.open_report.isVisible, timeout=30_000)
    assert dialog.isVisible(), "one run's export stays open to offer its report"
    names = sorted(p.name for p in (tmp_path / "gui").iterdir())
    assert names == [
        f"run-{run_id}-report.csv",
        f"run-{run_id}-telemetry.csv",
        f"run-{run_id}.junit.xml",
        f"run-{run_id}.record.json",
        f"run-{run_id}.report.html",
    ]
    page = (tmp_path / "gui" / f"run-{run_id}.report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") >= 1, "its plots were drawn (on the GUI thread)"
    assert "CHP-EXP" in page and "vdd_core" in page
    cli = tmp_path / "cli"
    cli.mkdir()
    assert (
        main(
            ["export", str(run_id), "--junit", str(cli / "j.xml"), "--json", str(cli / "r.json")]
            + ["--db", window.db.url.database]
        )
        == 0
    )
    gui = tmp_path / "gui"
    assert json.loads((gui / f"run-{run_id}.record.json").read_text()) == json.loads(
        (cli / "r.json").read_text()
    )
    assert (gui / f"run-{run_id}.junit.xml").read_bytes() == (cli / "j.xml").read_bytes()

    opened = []
    monkeypatch.setattr(export_dialog.QDesktopServices, "openUrl", opened.append)
    _click(qtbot, dialog.open_report)
    assert [url.toLocalFile() for url in opened] == [str(gui / f"run-{run_id}.report.html")]
    _click(qtbot, dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel))
    assert not dialog.isVisible()


def test_several_runs_packed_into_one_zip(qtbot, window, tmp_path):
    run_ids = _runs(window.db, 2)
    (tmp_path / "out").mkdir()
    dialog = _open_dialog(qtbot, window, run_ids, tmp_path / "out")
    _click(qtbot, dialog.zipped)
    _click(qtbot, dialog.record)
    assert dialog.zipped.isChecked() and dialog.record.isChecked()
    with qtbot.waitSignal(dialog.accepted, timeout=30_000):
        _click(qtbot, dialog.buttons.button(QDialogButtonBox.StandardButton.Ok))
    first, last = sorted(run_ids)
    target = tmp_path / "out" / f"labbench-runs-{first}-{last}.zip"
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name], "only the zip is left"
    with zipfile.ZipFile(target) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(
            [f"run-{r}-report.csv" for r in run_ids]
            + [f"run-{r}-telemetry.csv" for r in run_ids]
            + [f"run-{r}.record.json" for r in run_ids]
            + ["runs.csv"]
        )
        record = json.loads(archive.read(f"run-{first}.record.json"))
        assert record["run"]["id"] == first


def test_the_gui_renderer_draws_a_shmoo_grid_for_the_export_thread(qtbot, monkeypatch):
    """The export runs in a worker thread; a sweep's grid is a widget, so the worker asks
    GuiPlotRenderer.shmoo (the render_shmoo of write_html_report), which draws it on the GUI
    thread and hands the PNG back."""
    import threading

    from labbench.criteria.shmoo import SweepPoint, build_shmoo
    from labbench.ui import shmoo_view

    drawn_on = []
    original = shmoo_view.render_shmoo_png

    def recording(*args):
        drawn_on.append(threading.current_thread())
        return original(*args)

    monkeypatch.setattr(shmoo_view, "render_shmoo_png", recording)
    points = [
        SweepPoint(x, y, k, "passed" if x >= 650 else "failed")
        for k, (y, x) in enumerate((y, x) for y in (1000, 1200) for x in (600, 650, 700))
    ]
    renderer = export_dialog.GuiPlotRenderer()
    answer: list = []
    worker = threading.Thread(
        target=lambda: answer.append(
            renderer.shmoo(build_shmoo("vdd_mv", "freq_mhz", points), 600, 320)
        )
    )
    worker.start()
    qtbot.waitUntil(lambda: bool(answer), timeout=10_000)
    worker.join()
    assert answer[0].startswith(b"\x89PNG\r\n\x1a\n")
    assert drawn_on == [threading.main_thread()]


def test_shmoo_grids_of_the_runs_that_have_sweeps(qtbot, window, tmp_path):
    """The Shmoo box writes each sweep run's grid, as ``labbench export --shmoo`` does; a run
    without a sweep among the exported ones gets none (and is no error)."""
    from labbench import paths
    from labbench.cli import main
    from labbench.protocols.profile import load_profile
    from labbench.runs.plan import parse_plan
    from labbench.runs.sequencer import RunRequest
    from labbench.storage import inventory as inventory_store

    text = (paths.resources_dir() / "plans" / "chip-shmoo.toml").read_text(encoding="utf-8")
    plan = parse_plan(text.replace("dwell_s = 0.3", "dwell_s = 0.05"), "chip-shmoo.toml")
    chip = inventory_store.add_dut(window.db, "chip", "CHP-EXP-SHMOO")
    request = RunRequest(plan, chip, "mock://nominal?rate=200", load_profile("default"), "ana", "b")
    swept = run_plan(window.db, request).run_id
    (plain,) = _runs(window.db, 1)
    (tmp_path / "gui").mkdir()
    dialog = _open_dialog(qtbot, window, [swept, plain], tmp_path / "gui")
    _click(qtbot, dialog.shmoo)
    assert dialog.shmoo.isChecked()
    with qtbot.waitSignal(dialog.accepted, timeout=30_000):
        _click(qtbot, dialog.buttons.button(QDialogButtonBox.StandardButton.Ok))
    names = {p.name for p in (tmp_path / "gui").iterdir()}
    assert f"run-{swept}.shmoo.csv" in names and f"run-{plain}.shmoo.csv" not in names
    cli = tmp_path / "cli.csv"
    assert main(["export", str(swept), "--shmoo", str(cli), "--db", window.db.url.database]) == 0
    assert (tmp_path / "gui" / f"run-{swept}.shmoo.csv").read_bytes() == cli.read_bytes()
