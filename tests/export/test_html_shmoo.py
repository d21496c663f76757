"""A sweep in the HTML run report: a section per sweep with the shmoo grid drawn by the app's
own widget (an embedded PNG, a letter in every cell) or, without a renderer, a table of letters
with the verdicts' classes; Vmin, holes and points by verdict per row as text; the sweep's
points in the items table as one block, failed items open and every item under a closed
``<details>``; nothing fetched; ``labbench export --html`` and a browser (docs/architecture.md
§4 Sweeps, §9)."""

from __future__ import annotations

import base64
import contextlib
import html.parser
import io
import json
import re
import subprocess

import lxml.html
import pytest
from PySide6.QtGui import QImage

from labbench import paths
from labbench.cli import main
from labbench.criteria.shmoo import axis_text
from labbench.export import html_report, html_sweeps
from labbench.export.html_report import write_html_report
from labbench.export.run_context import load_run
from labbench.protocols.profile import load_profile
from labbench.runs.plan import parse_plan
from labbench.runs.sequencer import RunRequest, run_plan
from labbench.storage import inventory, open_database
from labbench.storage.sweeps import run_sweeps
from labbench.ui.report_plots import render_plots
from labbench.ui.shmoo_view import render_shmoo_png

from .conftest import ROOT
from .test_html_report import _assert_nothing_fetched, _by_class, _chromium

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def shmoo_db(tmp_path_factory):
    """The example shmoo plan with a short dwell on the simulated chip (seed 0: one hole, at
    750 mV / 1000 MHz), run once; then a one-axis sweep stopped on its first failure."""
    folder = tmp_path_factory.mktemp("html-shmoo")
    text = (paths.resources_dir() / "plans" / "chip-shmoo.toml").read_text(encoding="utf-8")
    plan = folder / "chip-shmoo-fast.toml"
    plan.write_text(text.replace("dwell_s = 0.3", "dwell_s = 0.08"), encoding="utf-8")
    target = str(folder / "shmoo.sqlite3")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["run", "--plan", str(plan), "--dut", "CHP-SHMOO", "--new-dut", "chip",
              "--device", "mock://nominal?rate=200", "--db", target, "--json"])  # fmt: skip
    run_id = json.loads(out.getvalue())["run_id"]
    db = open_database(target)
    yield db, target, run_id, _stopped_sweep(db)
    db.dispose()


STOPPED_PLAN = """\
[plan]
name = "stopped-sweep"
version = "1"
dut_kind = "chip"
stop_on_fail = true
[[step]]
name = "power-on"
duration_s = 0.3
send = ["PWR ON"]
[[step]]
name = "vmin"
dwell_s = 0.15
send = ["FSET 1000", "VSET {vdd_mv}", "BIST"]
  [step.sweep]
  x = { name = "vdd_mv", values = [750, 700, 575, 650] }
  [[step.result]]
  name = "bist"
  equals = "PASS"
"""


def _stopped_sweep(db) -> int:
    """A one-axis sweep whose third point fails and stops the run: its fourth never runs."""
    dut = inventory.add_dut(db, "chip", "CHP-STOP")
    request = RunRequest(
        parse_plan(STOPPED_PLAN, "stopped.toml"),
        dut,
        "mock://nominal?rate=200&hole_rate=0",
        load_profile("default"),
        "ana",
        "bench-1",
    )
    return run_plan(db, request).run_id


@pytest.fixture(scope="module")
def drawn(shmoo_db, tmp_path_factory):
    db, _, run_id, _ = shmoo_db
    path = tmp_path_factory.mktemp("html-shmoo-page") / "shmoo.html"
    plots = write_html_report(db, run_id, path, render_plots, render_shmoo_png)
    return path, plots


def _page(path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(path.read_bytes())


def _texts(rows) -> list[list[str]]:
    return [[c.text_content().strip() for c in row.xpath("./th|./td")] for row in rows]


class _Strict(html.parser.HTMLParser):
    """html.parser over the page, checking that every element opened is closed in order."""

    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self):
        super().__init__()
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, (tag, self.open[-5:])
        self.open.pop()


def _parses(path) -> None:
    parser = _Strict()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    assert parser.open == []


def _vmin_rows(section) -> list[list[str]]:
    return _texts(_by_class(section, "vmin", "table")[0].xpath("./tbody/tr"))


def test_the_sweep_section_has_the_grid_as_a_png_and_vmin_and_holes_as_text(shmoo_db, drawn):
    db, _, run_id, _ = shmoo_db
    path, plots = drawn
    _parses(path)
    page = _page(path)
    _assert_nothing_fetched(page)
    (sweep,) = run_sweeps(db, run_id)
    shmoo = sweep.shmoo
    assert shmoo.holes == ((750.0, 1000.0),)  # the simulated chip's hole (architecture §4)

    (section,) = page.xpath("//section[@id='sweep-0']")
    assert section.xpath("./h2")[0].text_content() == "Sweep shmoo"
    summary = section.xpath("./p")[0].text_content()
    assert summary == (
        "vdd_mv × freq_mhz: 40 points, 40 run, 0 not run; 1 hole (vdd_mv=750 freq_mhz=1000)."
    )
    (img,) = section.xpath("./figure/img")
    head, _, data = img.get("src").partition(",")
    assert head == "data:image/png;base64"
    png = base64.b64decode(data, validate=True)
    image = QImage()
    assert png.startswith(PNG_MAGIC) and image.loadFromData(png, "PNG")
    assert image.width() == html_sweeps.SHMOO_WIDTH_PX and image.height() > 300
    assert "Vmin per row in the table below" in img.get("alt")
    assert plots >= 2  # the whole-run plots and the grid

    expected = [
        [
            axis_text(y),
            axis_text(shmoo.vmin[y]),
            ", ".join(axis_text(x) for x, hy in shmoo.holes if hy == y) or "none",
            *(str([shmoo.cell(x, y) for x in shmoo.xs].count(k)) for k in "PMFE-"),
        ]
        for y in shmoo.ys
    ]
    assert _vmin_rows(section) == expected
    assert [row[:3] for row in expected] == [
        ["1000", "775", "750"],
        ["1200", "675", "none"],
        ["1400", "675", "none"],
        ["1600", "700", "none"],
    ]
    head = _texts(_by_class(section, "vmin", "table")[0].xpath("./thead/tr"))[0]
    assert head[:3] == ["freq_mhz", "Vmin (vdd_mv)", "holes (vdd_mv)"]
    # The grid in letters too, under a closed details: the verdicts as text, searchable.
    (details,) = section.xpath("./details")
    assert details.get("open") is None
    letters = _texts(_by_class(details, "shmoo", "table")[0].xpath("./tbody/tr"))
    assert letters == [
        [axis_text(y), *(shmoo.cell(x, y) for x in shmoo.xs)] for y in reversed(shmoo.ys)
    ]


def test_a_sweeps_items_are_one_block_failed_items_open(shmoo_db, drawn):
    db, _, run_id, _ = shmoo_db
    page = _page(drawn[0])
    ctx = load_run(db, run_id)
    points = [s for s in ctx.steps if s.point is not None]
    items = [(s.name, c) for s in points for c in s.criteria]
    failed = [(name, c) for name, c in items if c.verdict in ("failed", "error")]
    assert len(points) == 40 and len(items) == 160 and 0 < len(failed) < 40

    section = _by_class(page, "items", "section")[0]
    tables = section.xpath("./table")
    assert [_texts(t.xpath("./tbody/tr"))[0][0] for t in tables] == ["power-on", "restore"]
    (block,) = _by_class(section, "sweep-items", "div")
    assert block.xpath("./h3")[0].text_content() == "Sweep shmoo: 40 points, 160 items"
    assert block.xpath(".//a")[0].get("href") == "#sweep-0"
    (open_table,) = block.xpath("./table")
    shown = _texts(open_table.xpath("./tbody/tr"))
    assert [(row[0], row[1], row[4]) for row in shown] == [
        (name, c.name, c.verdict) for name, c in failed
    ]
    assert shown[0][0] == "shmoo vdd_mv=575 freq_mhz=1000"
    (details,) = block.xpath("./details")
    assert details.get("open") is None  # collapsed: the page stays short, and prints short
    assert details.xpath("./summary")[0].text_content().startswith("All 160 items")
    every = _texts(details.xpath("./table/tbody/tr"))
    assert [(row[0], row[1]) for row in every] == [(name, c.name) for name, c in items]


def test_without_a_renderer_the_grid_is_a_table_of_letters(shmoo_db, tmp_path):
    db, _, run_id, _ = shmoo_db
    path = tmp_path / "plain.html"
    assert write_html_report(db, run_id, path) == 0
    _parses(path)
    page = _page(path)
    assert not page.xpath("//img")
    (sweep,) = run_sweeps(db, run_id)
    shmoo = sweep.shmoo
    (section,) = page.xpath("//section[@id='sweep-0']")
    (grid,) = section.xpath("./table[contains(@class, 'shmoo')]")
    head = _texts(grid.xpath("./thead/tr"))[0]
    assert head == ["freq_mhz \\ vdd_mv", *(axis_text(x) for x in shmoo.xs)]
    rows = grid.xpath("./tbody/tr")
    assert [r[0] for r in _texts(rows)] == ["1600", "1400", "1200", "1000"]  # the top is high
    classes = {"P": "pass", "M": "marginal", "F": "fail", "E": "error", "-": "other"}
    for row, y in zip(rows, reversed(shmoo.ys), strict=True):
        for cell, x in zip(row.xpath("./td"), shmoo.xs, strict=True):
            letter = shmoo.cell(x, y)
            assert cell.text_content() == letter
            names = cell.get("class").split()
            assert names[0] == classes[letter]
            assert ("hole" in names) == ((x, y) in shmoo.holes)
            assert ("vmin" in names) == (shmoo.vmin[y] == x)
            assert cell.get("title").startswith(f"vdd_mv={axis_text(x)} freq_mhz={axis_text(y)}: ")
    hole = grid.xpath(".//td[contains(@class, 'hole')]")[0]
    assert hole.get("title") == "vdd_mv=750 freq_mhz=1000: failed, a hole"
    assert _vmin_rows(section)[0][:3] == ["1000", "775", "750"]


def test_a_stopped_one_axis_sweep_counts_its_point_not_run(shmoo_db, tmp_path):
    db, _, _, run_id = shmoo_db
    path = tmp_path / "stopped.html"
    write_html_report(db, run_id, path)
    _parses(path)
    page = _page(path)
    (section,) = page.xpath("//section[@id='sweep-0']")
    assert section.xpath("./p")[0].text_content() == "vdd_mv: 4 points, 3 run, 1 not run; 0 holes."
    grid = section.xpath("./table[contains(@class, 'shmoo')]")[0]
    assert _texts(grid.xpath("./tbody/tr")) == [["vdd_mv", "F", "-", "P", "P"]]
    assert "other" in grid.xpath(".//td")[1].get("class")
    # Vmin from 700 up; no y column; 2 passed, 1 failed, 1 not run.
    assert _vmin_rows(section) == [["700", "none", "2", "0", "1", "0", "1"]]
    block = _by_class(page, "sweep-items", "div")[0]
    assert "3 points ran (1 failed or in error), 1 did not run" in block.text_content()


def test_a_sweeps_lists_are_capped_with_a_note(shmoo_db, tmp_path, monkeypatch):
    db, _, run_id, _ = shmoo_db
    monkeypatch.setattr(html_report, "MAX_OPEN_SWEEP_ITEMS", 3)
    monkeypatch.setattr(html_report, "MAX_SWEEP_ITEMS", 10)
    path = tmp_path / "capped.html"
    write_html_report(db, run_id, path)
    block = _by_class(_page(path), "sweep-items", "div")[0]
    assert len(block.xpath("./table/tbody/tr")) == 3
    assert re.search(r"\d+ more are in the list of every item below", block.text_content())
    assert len(block.xpath("./details/table/tbody/tr")) == 10
    summary = block.xpath("./details/summary")[0].text_content()
    assert summary.startswith("The first 10 of its 160 items (the CSV report and the JSON")


def test_cli_html_of_a_sweep_run_draws_its_grid(shmoo_db, tmp_path, capsys):
    _, target, run_id, _ = shmoo_db
    path = tmp_path / "report.html"
    assert main(["export", str(run_id), "--html", str(path), "--db", target]) == 0
    out = capsys.readouterr().out.strip()
    assert re.search(rf"html {re.escape(str(path))} \(\d+ plots\)$", out), out
    page = _page(path)
    _assert_nothing_fetched(page)
    (img,) = page.xpath("//section[@id='sweep-0']/figure/img")
    assert base64.b64decode(img.get("src").partition(",")[2]).startswith(PNG_MAGIC)
    assert "775" in _vmin_rows(page.xpath("//section[@id='sweep-0']")[0])[0]


def test_a_browser_renders_a_sweep_run(drawn, tmp_path):
    chromium = _chromium()
    out = tmp_path / "shmoo.png"
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1600",
         f"--screenshot={out}", drawn[0].as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    image = QImage()
    assert image.loadFromData(out.read_bytes(), "PNG") and image.width() == 1280
    # The grid's red and green cells are on the first screen, under the run's metadata.
    colours = {image.pixelColor(x, y).name() for x in range(0, 1280, 8) for y in range(0, 1600, 8)}
    assert len(colours) > 8


def test_the_shmoo_sample_in_docs_is_self_contained():
    """docs/examples/chip-shmoo.report.html (docs/make_sample_report.py) fetches nothing, has
    its grid drawn and Vmin per row, and stays small enough to attach to a ticket."""
    sample = ROOT / "docs" / "examples" / "chip-shmoo.report.html"
    assert sample.stat().st_size < 1_500_000
    _parses(sample)
    page = _page(sample)
    _assert_nothing_fetched(page)
    (section,) = page.xpath("//section[@id='sweep-0']")
    assert len(section.xpath("./figure/img")) == 1
    assert [row[:3] for row in _vmin_rows(section)] == [
        ["1000", "775", "750"],
        ["1200", "675", "none"],
        ["1400", "675", "none"],
        ["1600", "700", "none"],
    ]
