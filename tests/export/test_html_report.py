"""The HTML run report: every judged item and the sled map, nothing fetched from anywhere
(every src, href and CSS url() is a data: URI or an anchor in the page), images that decode,
lab text that stays text, the command line's --html, and a real browser engine rendering it
(chromium headless, when installed; CI installs it and sets LABBENCH_REQUIRE_BROWSER=1)."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys

import lxml.html
import numpy as np
import pytest
from PySide6.QtGui import QImage

from labbench.cli import main
from labbench.export import html_report
from labbench.export.html_report import write_html_report
from labbench.export.report_plots import min_max_pairs, overview_plots, violation_plots
from labbench.export.run_context import item_title, load_run
from labbench.records import ViolationRecord
from labbench.storage import events as event_store
from labbench.storage import open_database
from labbench.storage import runs as run_store
from labbench.ui.report_plots import WIDTH_PX, render_plot, render_plots

from .conftest import EVIL, ROOT, build_stored_run

BROWSER_REQUIRED_ENV = "LABBENCH_REQUIRE_BROWSER"
SCRIPT = "<script>alert(1)</script>"
FORMULA = "=cmd|' /C calc'!A0"


def _page(path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(path.read_bytes())


@pytest.fixture(scope="module")
def sled_report(stored_runs, tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "sled.html"
    plots = write_html_report(stored_runs.db, stored_runs.failing_sled, path, render_plots)
    return path, plots


def _by_class(node, cls: str, tag: str = "*") -> list:
    """Elements under node whose class attribute holds cls (what CSS's tag.cls selects)."""
    return node.xpath(f".//{tag}[contains(concat(' ', normalize-space(@class), ' '), ' {cls} ')]")


def _rows(page, cls: str) -> list:
    """The body rows of the page's table of that class."""
    return _by_class(page, cls, "table")[0].xpath("./tbody/tr")


def _images(page) -> list[QImage]:
    images = []
    for img in page.iter("img"):
        head, _, data = img.get("src").partition(",")
        assert head == "data:image/png;base64"
        image = QImage()
        assert image.loadFromData(base64.b64decode(data, validate=True), "PNG")
        images.append(image)
    return images


def test_failing_sled_has_every_item_and_the_sled_map(stored_runs, sled_report):
    path, plots = sled_report
    page = _page(path)
    ctx = load_run(stored_runs.db, stored_runs.failing_sled)
    items = [(s.name, c) for s in ctx.steps for c in s.criteria]
    rows = _rows(page, "items")
    assert len(rows) == len(items) == 8
    for row, (step, c) in zip(rows, items, strict=True):
        cells = [td.text_content().strip() for td in row.iter("td")]
        assert cells[:2] == [step, item_title(c)]
        assert cells[4] == c.verdict
    banner = _by_class(page, "banner", "section")[0].text_content()
    assert "FAILED" in banner
    assert "vdd_core[2]: worst sample" in banner and "first violation at" in banner
    slots = [s.text_content() for s in _by_class(_by_class(page, "sled")[0], "slot")]
    assert len(slots) == 4
    assert "CHP-2" in slots[2] and "failed" in slots[2]
    assert "CHP-0" in slots[0] and "passed" in slots[0]
    assert "empty" in slots[3]
    meta = _by_class(page, "meta", "table")[0].text_content()
    for text in ("SLD-EXP", "sled-export version 2", "bench-7", "ana", "rail-droop", "UTC"):
        assert text in meta
    # One violation, zoomed on and linked from its item's row; one plot per channel group.
    assert page.get_element_by_id("violation-0").tag == "figure"
    assert _by_class(page, "items", "table")[0].xpath(".//a[@href='#violation-0']")
    assert plots == len(page.xpath("//figure//img")) >= 4


def test_nothing_is_fetched(sled_report):
    _assert_nothing_fetched(_page(sled_report[0]))


def _assert_nothing_fetched(page) -> None:
    assert not page.xpath(
        "//script|//link|//iframe|//object|//embed|//base|//source|//video|//audio"
    )
    for element in page.iter():
        for name in ("src", "href", "srcset", "action", "data", "poster"):
            value = element.get(name)
            if value is not None:
                assert value.startswith(("data:", "#")), (element.tag, name, value[:60])
    styles = "".join(s.text_content() for s in page.iter("style"))
    styles += "".join(e.get("style", "") for e in page.iter())
    assert "@import" not in styles and "@font-face" not in styles
    for url in re.findall(r"url\(\s*['\"]?([^'\")]*)", styles):
        assert url.startswith(("data:", "#")), url


def test_the_sample_in_docs_is_self_contained():
    """docs/examples/sled-run.report.html (docs/make_sample_report.py) fetches nothing either."""
    sample = ROOT / "docs" / "examples" / "sled-run.report.html"
    page = _page(sample)
    _assert_nothing_fetched(page)
    assert len(_rows(page, "items")) == 8 and len(_images(page)) >= 4


def test_images_decode_at_full_width(sled_report):
    path, plots = sled_report
    images = _images(_page(path))
    assert len(images) == plots
    assert all(i.width() == WIDTH_PX and i.height() > 200 for i in images)
    # A white page when printed: the plots' corners are light, not the dark theme's.
    corner = images[0].pixelColor(2, 2)
    assert min(corner.red(), corner.green(), corner.blue()) > 200


@pytest.fixture
def hostile_db(tmp_path):
    db = open_database(str(tmp_path / "hostile.sqlite3"))
    run_id = build_stored_run(db)
    for text in (SCRIPT, FORMULA):
        event_store.add_audit_entry(
            db, user=SCRIPT, entity="run", entity_id=run_id, action="note", reason=text
        )
    yield db, run_id
    db.dispose()


def test_lab_text_stays_text(hostile_db, tmp_path):
    db, run_id = hostile_db
    path = tmp_path / "hostile.html"
    write_html_report(db, run_id, path, render_plots)
    raw = path.read_text(encoding="utf-8")
    assert "<script" not in raw and "<b>" not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    page = _page(path)
    assert not page.xpath("//script|//b")
    text = page.text_content()
    shown = EVIL.replace("\x07", "\\x07").replace("\x1b", "\\x1b")
    for prefix in ("CHP", "bench", "op", "warm", "PWR ON", "cable", "n"):
        assert prefix + shown in text
    assert FORMULA in text and SCRIPT in text
    assert "\x07" not in raw and "\x1b" not in raw
    # Sections of the built run: a marginal, a NaN, an error, a skipped step, events, notes.
    verdicts = [_by_class(r, "verdict")[0].text for r in _rows(page, "items")]
    assert verdicts == ["marginal", "failed", "failed", "failed", "error", "skipped"]
    events = _by_class(page, "events", "table")[0].text_content()
    assert "disconnect" in events and "reconnect" in events and "line 0" not in events
    assert "5 console" in page.text_content()
    assert len(_rows(page, "notes")) == 3


def test_violation_plots_are_capped_with_a_note(hostile_db, tmp_path, monkeypatch):
    db, run_id = hostile_db
    monkeypatch.setattr(html_report, "MAX_VIOLATION_PLOTS", 1)
    path = tmp_path / "capped.html"
    write_html_report(db, run_id, path, render_plots)
    page = _page(path)
    assert len(page.xpath("//figure[starts-with(@id, 'violation-')]")) == 1
    assert "1 more violation is not drawn" in page.text_content()


def test_passing_and_error_runs_say_why(stored_runs, tmp_path):
    passed = tmp_path / "pass.html"
    write_html_report(stored_runs.db, stored_runs.passing_chip, passed, render_plots)
    banner = _by_class(_page(passed), "banner", "section")[0]
    assert "pass" in banner.get("class") and "PASSED" in banner.text_content()
    assert not _by_class(_page(passed), "sled", "*")  # a chip run has no sled map
    errored = tmp_path / "error.html"
    write_html_report(stored_runs.db, stored_runs.error_chip, errored, render_plots)
    reason = _by_class(_page(errored), "reason")[0].text_content()
    assert reason == "eye_scan: nothing was reported by the rig."


def test_without_a_renderer_the_page_says_so(stored_runs, tmp_path):
    path = tmp_path / "plain.html"
    assert write_html_report(stored_runs.db, stored_runs.failing_sled, path) == 0
    page = _page(path)
    assert not page.xpath("//img")
    assert "written without a renderer" in page.text_content()


def test_export_modules_load_no_qt():
    code = (
        "import sys, labbench.export.html_report, labbench.cli_export; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the command line -----------------------------------------------------------------------


def test_cli_html(stored_runs, tmp_path, capsys):
    path = tmp_path / "report.html"
    args = ["export", str(stored_runs.failing_sled), "--html", str(path)]
    assert main([*args, "--json", str(tmp_path / "r.json"), "--db", stored_runs.target]) == 0
    out = capsys.readouterr().out.strip()
    assert re.search(rf"html {re.escape(str(path))} \(\d+ plots\)$", out), out
    assert _rows(_page(path), "items")


def test_cli_html_errors_are_one_sentence(stored_runs, tmp_path):
    """From a shell: no traceback, exit 2, no file, and Qt never loaded for a refused run."""

    def shell(*args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
        return subprocess.run([sys.executable, "-m", "labbench", *args, "--db",
                               stored_runs.target], capture_output=True, text=True,
                              timeout=120, env=env)  # fmt: skip

    path = tmp_path / "r.html"
    unknown = shell("export", "424242", "--html", str(path))
    assert (
        unknown.returncode == 2 and unknown.stderr == "labbench: There is no run with id 424242.\n"
    )
    twice = shell("export", "1", "--html", str(path), "--junit", str(path))
    assert twice.stderr.strip() == f"labbench: --junit and --html name the same file {path}."
    bad = tmp_path / "missing" / "r.html"
    unwritable = shell("export", str(stored_runs.passing_chip), "--html", str(bad))
    assert unwritable.returncode == 2
    assert unwritable.stderr == f"labbench: Cannot write {bad}: No such file or directory.\n"
    assert list(tmp_path.iterdir()) == []
    # Without QT_QPA_PLATFORM and without a display, the renderer goes offscreen by itself.
    done = shell("export", str(stored_runs.passing_chip), "--html", str(path))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and path.stat().st_size > 10_000


# --- a real browser engine ------------------------------------------------------------------


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get(BROWSER_REQUIRED_ENV) == "1":
            pytest.fail(f"{BROWSER_REQUIRED_ENV}=1 but chromium is not installed")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


@pytest.mark.parametrize("output", ["--print-to-pdf", "--screenshot"])
def test_a_browser_renders_it(sled_report, tmp_path, output):
    chromium = _chromium()
    path, _ = sled_report
    out = tmp_path / ("report.pdf" if output == "--print-to-pdf" else "report.png")
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2000",
         f"{output}={out}", path.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    data = out.read_bytes()
    if output == "--print-to-pdf":
        assert data.startswith(b"%PDF") and len(data) > 50_000  # its pages carry the plots
        assert data.count(b"/Type /Page") - data.count(b"/Type /Pages") >= 2
    else:
        image = QImage()
        assert image.loadFromData(data, "PNG") and image.width() == 1280
        assert len({image.pixel(x, y) for x in range(0, 1280, 16) for y in range(0, 600, 16)}) > 4


# --- the plots ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["whole run", "violations"])
def test_plots_drawn_together_look_like_one_each(stored_runs, kind):
    """render_plots draws plots of one time range in one stack, and zooms in one stack zoomed
    onto each in turn, and cuts each out with the lane above it: the same size as drawing each
    alone (to a pixel), the same curves."""
    db = stored_runs.db
    run_id = stored_runs.failing_sled if kind == "whole run" else stored_runs.built
    ctx = load_run(db, run_id)
    channels = run_store.run_channels(db, run_id)
    if kind == "whole run":
        specs = list(overview_plots(db, ctx, channels, [], []))
    else:  # the built run's two violations of one channel, and one of another made up here
        found = [(c, v) for s in ctx.steps for c in s.criteria for v in c.violations]
        other = ViolationRecord("elsewhere", 0.5, 0.6, 0.9, "high")
        specs = list(violation_plots(db, ctx, channels, [], [*found, (found[0][0], other)]))
    together = render_plots(specs)
    alone = [render_plot(spec) for spec in specs]
    assert len(together) == len(specs) >= 3
    for a, b in zip(together, alone, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            ia, ib = QImage(), QImage()
            assert ia.loadFromData(a.png, "PNG") and ib.loadFromData(b.png, "PNG")
            assert ia.width() == ib.width()
            assert abs(ia.height() - ib.height()) <= 2  # the layout's rounding of plot edges
            assert [name for name, _ in a.colors] == [name for name, _ in b.colors]


def test_min_max_pairs_keep_the_extremes_and_gaps():
    t = np.arange(10_000) / 1000.0
    v = np.sin(t)
    v[5000] = -7.0  # a one-sample spike
    v[8000:9000] = np.nan  # a gap
    rt, rv = min_max_pairs(t, v, 100)
    assert rt.size == rv.size == 200
    assert np.nanmin(rv) == -7.0 and np.nanmax(rv) == np.max(v[~np.isnan(v)])
    assert np.isnan(rv).sum() == 20  # the gap's 10 pairs stay a gap
    assert np.all(np.diff(rt) >= 0)
    short = min_max_pairs(t[:150], v[:150], 100)
    assert short[0].size == 150  # fewer than two samples a pair: left as they are
