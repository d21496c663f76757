"""CSV exports: round trip through pandas at full precision, every judged item, no formulas."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

from labbench import paths
from labbench.cli import main
from labbench.export.csv_report import REPORT_COLUMNS, cell_text, safe_text, write_telemetry
from labbench.protocols.profile import load_profile
from labbench.runs.plan import load_plan
from labbench.runs.sequencer import RunRequest, run_plan
from labbench.storage import inventory as inventory_store
from labbench.storage import open_database
from labbench.storage import results as result_store
from labbench.storage import runs as run_store
from labbench.storage.telemetry import TelemetryWriter
from labbench.storage.telemetry_read import read_channel

EVIL = '=HYPERLINK("http://x","click")'


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A real run of the sled plan on the rail-droop rig, for a DUT with a hostile serial."""
    folder = tmp_path_factory.mktemp("export")
    db = open_database(str(folder / "export.sqlite3"))
    plan = load_plan(paths.resources_dir() / "plans" / "sled-power-on.toml")
    dut = inventory_store.add_dut(db, "sled", EVIL)
    outcome = run_plan(
        db,
        RunRequest(
            plan,
            dut,
            "mock://rail-droop?rate=300&power=off",
            load_profile("default"),
            "+cmd|' /C calc'!A0",
            "@bench",
        ),
    )
    yield db, outcome, folder
    db.dispose()


def test_safe_text():
    assert safe_text(EVIL) == "'" + EVIL
    for bad in ("+1", "-2+3", "@SUM(A1)", "\tx"):
        assert safe_text(bad) == "'" + bad
    assert safe_text("\rx") == "%0Dx"  # CR and LF never reach a cell: each row is one line
    assert safe_text("'quoted") == "''quoted"  # so that dropping one leading quote reverses it
    assert safe_text("vdd_core") == "vdd_core" and safe_text(None) == ""


def test_report_lists_every_judged_item_and_neutralises_text(finished_run, tmp_path):
    db, outcome, _ = finished_run
    report = tmp_path / "report.csv"
    assert (
        main(["export", str(outcome.run_id), "--report", str(report), "--db", db.url.database]) == 0
    )
    text = report.read_text(encoding="utf-8")
    assert (
        "# dut_serial: '=HYPERLINK(%22http://x%22,%22click%22)\n" in text
    )  # quotes escaped in the preamble
    assert "# operator: '+cmd|' /C calc'!A0\n" in text and "# station: '@bench\n" in text
    preamble = dict(line[2:].split(": ", 1) for line in text.split("\n") if line.startswith("# "))
    assert (
        cell_text(preamble["dut_serial"]) == EVIL
        and cell_text(preamble["operator"]) == "+cmd|' /C calc'!A0"
    )
    assert "# verdict: failed" in text and "# start_utc: 20" in text
    frame = pd.read_csv(report, comment="#")
    assert tuple(frame.columns) == REPORT_COLUMNS
    stored = [
        (s.name, c.name, c.verdict)
        for s in result_store.run_results(db, outcome.run_id)
        for c in s.criteria
    ]
    assert list(zip(frame["step"], frame["name"], frame["verdict"], strict=True)) == stored
    droop = frame[(frame["step"] == "load-50") & (frame["name"] == "vdd_core")].iloc[0]
    assert (
        droop["verdict"] == "failed" and droop["violations"] == 1 and float(droop["value"]) < 0.72
    )
    assert (
        droop["low"] == 0.72
        and droop["marginal_high"] == 0.77
        and 2.9 < droop["first_violation_s"] < 3.4
    )
    # every cell of every row, not only the preamble, is safe in a spreadsheet
    with open(report, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(line for line in f if not line.startswith("#")))
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_telemetry_round_trip_full_precision(finished_run, tmp_path, layout):
    db, outcome, _ = finished_run
    path = tmp_path / f"telemetry-{layout}.csv"
    assert (
        main(
            [
                "export",
                str(outcome.run_id),
                "--report",
                str(tmp_path / "r.csv"),
                "--telemetry",
                str(path),
                "--layout",
                layout,
                "--db",
                db.url.database,
            ]
        )
        == 0
    )
    frame = pd.read_csv(path, comment="#")
    channels = run_store.run_channels(db, outcome.run_id)
    assert sum(read_channel(db, outcome.run_id, c.name)[0].size for c in channels) > 5000
    for channel in channels:
        t, v = read_channel(db, outcome.run_id, channel.name)
        if layout == "wide":
            column = f"{channel.name} ({channel.unit})" if channel.unit else channel.name
            present = frame[column].notna() | _was_nan_cell(path, column)
            got_t, got_v = frame["t_s"][present].to_numpy(), frame[column][present].to_numpy()
        else:
            rows = frame[frame["channel"] == channel.name]
            got_t, got_v = rows["t_s"].to_numpy(), rows["value"].to_numpy()
        np.testing.assert_array_equal(got_t, t, err_msg=channel.name)
        np.testing.assert_array_equal(
            got_v, v, err_msg=channel.name
        )  # bit for bit (NaN == NaN here)
    if layout == "wide":
        assert "vdd_core (V)" in frame.columns and "temp_die (°C)" in frame.columns


def _was_nan_cell(path, column) -> pd.Series:
    raw = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
    return raw[column] == "nan"


def test_wide_layout_keeps_samples_that_share_a_time(tmp_path):
    db = open_database(str(tmp_path / "same.sqlite3"))
    run = run_store.start_run(db, inventory_store.add_dut(db, "chip", "C").id)
    writer = TelemetryWriter(db, run.id, max_chunk_samples=2)
    writer.append(
        "a", np.array([0.0, 0.0, 0.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0, 4.0, math.nan])
    )
    writer.append("b", np.array([0.0, 1.0, 1.0, 3.0]), np.array([5.0, 6.0, 7.0, -0.0]), unit="V")
    writer.close()
    path = tmp_path / "w.csv"
    assert write_telemetry(db, run.id, path, "wide") == 9
    assert path.read_text().splitlines() == [
        "t_s,a,b (V)",
        "0.0,1.0,5.0",
        "0.0,2.0,",
        "0.0,3.0,",
        "1.0,4.0,6.0",
        "1.0,,7.0",
        "2.0,nan,",
        "3.0,,-0.0",
    ]
    db.dispose()


def test_runs_list_csv_and_filters(finished_run, tmp_path, capsys):
    db, outcome, _ = finished_run
    path = tmp_path / "runs.csv"
    assert main(["runs", "--csv", str(path), "--db", db.url.database]) == 0
    frame = pd.read_csv(path)
    assert list(frame.columns) == [
        "run_id",
        "dut",
        "dut_kind",
        "plan",
        "plan_version",
        "station",
        "operator",
        "start_utc",
        "end_utc",
        "duration_s",
        "verdict",
        "failed_items",
        "slot",
        "chip_verdict",
    ]
    row = frame[frame["run_id"] == outcome.run_id].iloc[0]
    assert row["dut"] == "'" + EVIL and row["verdict"] == "failed" and row["failed_items"] >= 1
    assert 7 < row["duration_s"] < 15 and str(row["plan_version"]) == "1"
    capsys.readouterr()
    assert main(["runs", "--verdict", "passed", "--json", "--db", db.url.database]) == 0
    assert capsys.readouterr().out.strip() == "[]"
    # --since keeps the runs started at or after it and leaves out the rest: an older run of
    # the same DUT is listed from 2020 on, left out from 2022 on; from tomorrow on, nothing.
    run = run_store.get_run(db, outcome.run_id)
    older = run_store.start_run(
        db, run.dut_id, started_at=dt.datetime(2021, 6, 1, 12, 0, tzinfo=dt.UTC)
    )
    run_store.finish_run(db, older.id, "aborted")

    def listed(*args: str) -> list[tuple[int, str]]:
        capsys.readouterr()
        assert main(["runs", *args, "--json", "--db", db.url.database]) == 0
        return sorted((r["run_id"], r["verdict"]) for r in json.loads(capsys.readouterr().out))

    assert listed("--dut", EVIL, "--since", "2020-01-01") == sorted(
        [(older.id, "aborted"), (outcome.run_id, "failed")]
    )
    assert listed("--dut", EVIL, "--since", "2022-01-01") == [(outcome.run_id, "failed")]
    tomorrow = (run.started_at + dt.timedelta(days=1)).date().isoformat()
    assert listed("--since", tomorrow) == []
    assert main(["runs", "--since", "yesterday", "--db", db.url.database]) == 2
    assert main(["runs", "--verdict", "great", "--db", db.url.database]) == 2


def test_export_of_unknown_run_is_one_sentence(tmp_path, capsys):
    db_path = str(tmp_path / "e.sqlite3")
    assert main(["export", "42", "--report", str(tmp_path / "r.csv"), "--db", db_path]) == 2
    assert capsys.readouterr().err.strip() == "labbench: There is no run with id 42."
    assert (
        main(["export", "42", "--report", str(tmp_path / "nodir" / "r.csv"), "--db", db_path]) == 2
    )
