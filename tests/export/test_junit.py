"""JUnit XML: valid against the Jenkins xUnit plugin's JUnit schema (lxml, libxml2's
validator), one testsuite per run, one testcase per judged item with its slot and chip, the
reason of a failure, errors, marginal items passing with a note, counts that add up."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from lxml import etree

from labbench.export.csv_report import ExportError
from labbench.export.junit import write_junit
from labbench.storage import results as result_store
from labbench.storage import runs as run_store

from .conftest import EVIL, JUNIT_XSD, ROOT, build_stored_run


@pytest.fixture(scope="module")
def schema():
    return etree.XMLSchema(etree.parse(str(JUNIT_XSD)))


def _export(db, run_ids, path, schema) -> etree._Element:
    write_junit(db, run_ids, path)
    document = etree.parse(str(path))  # a real XML parser: the file is well-formed
    schema.assertValid(document)
    return document.getroot()


def _typed_like_ant(suite) -> None:
    """Where the stricter Ant schema types what Jenkins' leaves as text, the values fit."""
    for key in ("tests", "failures", "errors", "skipped"):
        assert int(suite.get(key)) >= 0
    assert float(suite.get("time")) >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", suite.get("timestamp"))
    for case in suite.iter("testcase"):
        assert float(case.get("time")) >= 0 and case.get("classname") and case.get("name")


def _counts(suite) -> dict[str, int]:
    cases = list(suite.iter("testcase"))
    return {
        "tests": len(cases),
        "failures": sum(1 for c in cases if c.find("failure") is not None),
        "errors": sum(1 for c in cases if c.find("error") is not None),
        "skipped": sum(1 for c in cases if c.find("skipped") is not None),
    }


def test_failing_sled_run_one_case_per_chip_item_with_the_reason(stored_runs, tmp_path, schema):
    db, run_id = stored_runs.db, stored_runs.failing_sled
    root = _export(db, run_id, tmp_path / "sled.xml", schema)
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    _typed_like_ant(suite)
    run = run_store.get_run(db, run_id)
    assert suite.get("name") == f"sled-export run {run_id}"
    assert suite.get("hostname") == "bench-7" and suite.get("id") == str(run_id)
    assert suite.get("timestamp") == run.started_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert abs(float(suite.get("time")) - (run.ended_at - run.started_at).total_seconds()) < 1e-3

    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["dut"] == "SLD-EXP" and props["plan"] == "sled-export"
    assert props["plan_version"] == "2" and props["operator"] == "ana"
    assert props["station"] == "bench-7" and props["verdict"] == "failed"
    assert props["software_version"] and props["run_id"] == str(run_id)
    assert (props["slot 0"], props["slot 2"]) == ("CHP-0 passed", "CHP-2 failed")
    assert "slot 3" not in props  # the empty slot ran with no chip

    # Every stored item is one testcase, in order, named with its slot and chip.
    stored = [(s.name, c) for s in result_store.run_results(db, run_id) for c in s.criteria]
    cases = suite.findall("testcase")
    assert len(cases) == len(stored) == 8  # 3 chips x (limit, mean), fan_rpm, bist
    names = [(c.get("classname"), c.get("name")) for c in cases]
    assert ("power-on", "vdd_core[2] [slot 2 CHP-2]") in names
    assert ("power-on", "vdd_core_mean[0] [slot 0 CHP-0]") in names
    assert ("power-on", "fan_rpm") in names and ("self-test", "bist") in names
    for case, (step, item) in zip(cases, stored, strict=True):
        assert case.get("classname") == step
        assert (case.find("failure") is not None) == (item.verdict == "failed")
        assert (case.find("error") is not None) == (item.verdict == "error")

    bad = next(c for c in cases if c.get("name") == "vdd_core[2] [slot 2 CHP-2]")
    failure = bad.find("failure")
    assert failure.get("type") == "limit_failed"
    message = failure.get("message")
    assert re.fullmatch(
        r"vdd_core\[2\]: worst sample 0\.6\d* V outside 0\.72 … 0\.78 V; first violation at "
        r"[01]\.\d{3} s \(1 in all, extreme 0\.6\d* V, low bound\)\.",
        message,
    ), message
    assert failure.text.startswith("vdd_core[2] out from ")  # one line per violation
    counts = _counts(suite)
    assert counts["failures"] >= 1 and counts["errors"] == 0
    assert {k: int(suite.get(k)) for k in counts} == counts
    assert root.get("tests") == suite.get("tests")


def test_passing_run_has_no_failure_and_error_run_has_an_error(stored_runs, tmp_path, schema):
    db = stored_runs.db
    passing = _export(db, stored_runs.passing_chip, tmp_path / "pass.xml", schema).find("testsuite")
    _typed_like_ant(passing)
    assert _counts(passing) == {"tests": 2, "failures": 0, "errors": 0, "skipped": 0}
    assert passing.get("failures") == "0" and passing.get("errors") == "0"
    assert {c.get("name") for c in passing.iter("testcase")} == {"vdd_core", "bist"}

    errored = _export(db, stored_runs.error_chip, tmp_path / "err.xml", schema).find("testsuite")
    assert errored.get("errors") == "1" and errored.get("failures") == "0"
    (case,) = [c for c in errored.iter("testcase") if c.find("error") is not None]
    assert case.get("name") == "eye_scan"
    error = case.find("error")
    assert error.get("type") == "result_error"
    assert error.get("message") == "eye_scan: nothing was reported by the rig."


def test_marginal_skipped_nan_and_hostile_text(stored_runs, tmp_path, schema):
    db, run_id = stored_runs.db, stored_runs.built
    path = tmp_path / "built.xml"
    suite = _export(db, run_id, path, schema).find("testsuite")
    _typed_like_ant(suite)
    raw = path.read_text(encoding="utf-8")
    assert "\x07" not in raw and "\x1b" not in raw  # XML 1.0 cannot carry them at all
    assert "<b>" not in raw  # markup is text, escaped
    shown = EVIL.replace("\x07", "\\x07").replace("\x1b", "\\x1b")
    assert suite.get("hostname") == "bench" + shown
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["operator"] == "op" + shown and props["dut"] == "CHP" + shown
    assert suite.get("timestamp") == "2026-11-27T03:00:00" and suite.get("time") == "2.500"

    cases = {c.get("name"): c for c in suite.iter("testcase")}
    marginal = cases["vdd" + shown]
    assert marginal.find("failure") is None and marginal.find("error") is None
    assert "marginal: 0.7712 V lies in a guard band" in marginal.find("system-out").text
    assert (
        cases["mean" + shown]
        .find("failure")
        .get("message")
        .startswith("mean" + shown + ": mean nan V outside 0.72")
    )
    high = cases["vdd_high"].find("failure").get("message")
    assert "first violation at 1.250 s (2 in all, extreme 0.81 V, high bound)" in high
    look = cases["look" + shown].find("failure")
    assert look.get("type") == "manual_failed"
    assert look.get("message") == f"look{shown}: entered 'no{shown}', expected 'yes'."
    assert cases["silent"].find("error").get("message") == "silent: no samples of vdd" + shown + (
        " in its window."
    )
    skipped = cases["cool-down"]
    assert skipped.get("classname") == "cool-down" and skipped.find("skipped") is not None
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "6",
        "failures": "3",
        "errors": "1",
        "skipped": "1",
    }


def test_several_runs_make_several_suites_and_an_unknown_run_writes_nothing(
    stored_runs, tmp_path, schema
):
    db = stored_runs.db
    ids = [stored_runs.passing_chip, stored_runs.error_chip]
    root = _export(db, ids, tmp_path / "two.xml", schema)
    assert [s.get("id") for s in root.findall("testsuite")] == [str(i) for i in ids]
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in root.findall("testsuite"))
    with pytest.raises(ExportError, match="There is no run with id 99999"):
        write_junit(db, [stored_runs.passing_chip, 99999], tmp_path / "none.xml")
    assert not (tmp_path / "none.xml").exists()


def test_an_aborted_run_without_results_is_an_error_case(stored_runs, tmp_path, schema):
    db = stored_runs.db
    run = run_store.start_run(db, run_store.get_run(db, stored_runs.passing_chip).dut_id)
    run_store.finish_run(db, run.id, "aborted")
    suite = _export(db, run.id, tmp_path / "aborted.xml", schema).find("testsuite")
    (case,) = suite.findall("testcase")
    assert (case.get("classname"), case.get("name")) == ("run", f"run {run.id}")
    assert case.find("error").get("type") == "run_aborted"
    assert suite.get("errors") == "1" and suite.get("name") == f"recording run {run.id}"


def test_valid_on_every_backend(db, tmp_path, schema):
    # The same run written through the rooms on SQLite and on PostgreSQL (which keeps NaN).
    suite = _export(db, build_stored_run(db), tmp_path / "any.xml", schema).find("testsuite")
    _typed_like_ant(suite)
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("6", "3", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    message = (
        cases["mean" + EVIL.replace("\x07", "\\x07").replace("\x1b", "\\x1b")]
        .find("failure")
        .get("message")
    )
    assert ": mean nan V outside 0.72 … 0.78 V" in message


def test_the_sample_in_docs_fits_the_schema(schema):
    document = etree.parse(str(ROOT / "docs" / "examples" / "sled-run.junit.xml"))
    schema.assertValid(document)
    _typed_like_ant(document.getroot().find("testsuite"))
