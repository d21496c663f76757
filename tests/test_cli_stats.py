"""``labbench stats``: the analytics tables from scripts, on SQLite and PostgreSQL, as
``{"rows": [...]}`` with the documented keys, as CSV that pandas reads back, and as a table;
bad input is one sentence naming the culprit, exit code 2, no traceback."""

from __future__ import annotations

import datetime as dt
import json

import pandas
import pytest

from labbench.cli import main
from labbench.records import CriterionRecord, StepRecord, ViolationRecord
from labbench.storage import inventory, open_database, plans, results
from labbench.storage import runs as run_store

T0 = dt.datetime(2026, 11, 25, 22, 0, tzinfo=dt.UTC)
YIELD_KEYS = {"group", "units", "fpy", "lpy", "station_losses"}
CAPABILITY_KEYS = {
    "step", "name", "channel", "unit", "n", "mean", "sigma_within", "sigma_overall", "low",
    "high", "cp", "cpk", "pp", "ppk",
}  # fmt: skip
PARETO_KEYS = {"step", "name", "count", "cumulative_pct"}


def _item(name, value, verdict="passed", first_s=None):
    violations = () if first_s is None else (ViolationRecord("v", first_s, first_s, 0.0, "low"),)
    return CriterionRecord(
        "measure", name, "v", "V", "mean", value, "", 0.0, 6.0, None, None, None, 0.0, 0.0, 1,
        verdict, violations,
    )  # fmt: skip


@pytest.fixture
def lab(db_url):
    """Chip A fails at 22:00 UTC (its vdd item) then passes at 01:00 the next day; chip B
    passes at 23:00; chip C's run at 23:30 is aborted.  vdd reads 1, 2, 4 in start order."""
    db = open_database(db_url)
    try:
        plan = plans.store_plan_version(db, "power-on", "1", "chip", "text")
        station = inventory.ensure_station(db, "bench-1").id
        a, b, c = (inventory.add_dut(db, "chip", s, lot="L1") for s in ("A", "B", "C"))
        for dut, hours, status, value in (
            (a, 0, "failed", 1.0),
            (b, 1, "passed", 2.0),
            (c, 1.5, "aborted", None),
            (a, 3, "passed", 4.0),
        ):
            run = run_store.start_run(
                db, dut.id, plan_id=plan.id, station_id=station,
                started_at=T0 + dt.timedelta(hours=hours),
            )  # fmt: skip
            if value is not None:
                verdict = "failed" if status == "failed" else "passed"
                first_s = 0.5 if verdict == "failed" else None
                items = (_item("vdd", value, verdict, first_s), _item("temp", 40.0))
                step = StepRecord(0, "power", run.t0_ns, run.t0_ns, status, items)
                results.store_results(db, run.id, [step])
            run_store.finish_run(db, run.id, status)
    finally:
        db.dispose()
    return db_url


def _stats(target, *args):
    return main(["stats", *args, "--db", target])


def _json(capsys) -> list[dict]:
    captured = capsys.readouterr()
    body = json.loads(captured.out)
    assert set(body) == {"rows"}
    return body["rows"]


def test_yield_json_rows(lab, capsys):
    assert _stats(lab, "yield", "--plan", "power-on", "--json") == 0
    (row,) = _json(capsys)
    assert set(row) >= YIELD_KEYS
    assert {k: row[k] for k in YIELD_KEYS} == {
        "group": "all", "units": 2, "fpy": 0.5, "lpy": 1.0, "station_losses": 1,
    }  # fmt: skip
    # By UTC day: A (22:00) and B (23:00) on the 25th, C's loss too; A's pass on the 26th
    # is its second attempt, so the 26th has no unit.
    assert _stats(lab, "yield", "--plan", "power-on", "--by", "day", "--json") == 0
    assert [(r["group"], r["units"], r["station_losses"]) for r in _json(capsys)] == [
        ("2026-11-25", 2, 1)
    ]
    # A bare --until date includes that day: A's last attempt then is its failure.
    assert _stats(lab, "yield", "--plan", "power-on", "--until", "2026-11-25", "--json") == 0
    assert [(r["units"], r["lpy"]) for r in _json(capsys)] == [(2, 0.5)]
    assert _stats(lab, "yield", "--plan", "power-on", "--station", "bench-2", "--json") == 0
    assert _json(capsys) == []


def test_capability_json_rows(lab, capsys):
    assert _stats(lab, "capability", "--plan", "power-on", "--json") == 0
    rows = {r["name"]: r for r in _json(capsys)}
    assert all(set(r) >= CAPABILITY_KEYS for r in rows.values())
    vdd = rows["vdd"]
    sw = 1.5 / 1.128  # moving ranges 1 and 2
    assert (vdd["n"], vdd["mean"], vdd["low"], vdd["high"]) == (3, 7 / 3, 0.0, 6.0)
    assert vdd["sigma_within"] == pytest.approx(sw)
    assert vdd["cpk"] == pytest.approx((7 / 3) / (3 * sw))
    assert vdd["flagged"] is True
    temp = rows["temp"]  # 40 every time, outside 0..6: σ = 0, no figure
    assert (temp["sigma_overall"], temp["cp"], temp["cpk"]) == (0.0, None, None)
    assert temp["flagged"] is False


def test_pareto_json_rows(lab, capsys):
    assert _stats(lab, "pareto", "--plan", "power-on", "--json") == 0
    assert _json(capsys) == [{"step": "power", "name": "vdd", "count": 1, "cumulative_pct": 100.0}]


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("yield", ["group", "units", "fpy", "lpy", "station_losses"]),
        ("capability", ["step", "name", "channel", "unit", "n", "mean", "sigma_within",
                        "sigma_overall", "low", "high", "cp", "cpk", "pp", "ppk"]),
        ("pareto", ["step", "name", "count", "cumulative_pct"]),
    ],
)  # fmt: skip
def test_csv_loads_column_for_column(lab, tmp_path, capsys, table, columns):
    path = tmp_path / f"{table}.csv"
    assert _stats(lab, table, "--plan", "power-on", "--csv", str(path)) == 0
    rows = {"yield": 1, "capability": 2, "pareto": 1}[table]
    assert capsys.readouterr().out == f"{rows} rows written to {path}\n"
    frame = pandas.read_csv(path, comment="#")
    assert list(frame.columns[: len(columns)]) == columns
    if table == "capability":
        vdd = frame[frame["name"] == "vdd"].iloc[0]
        assert vdd["mean"] == 7 / 3  # full precision
        assert pandas.isna(frame[frame["name"] == "temp"].iloc[0]["cpk"])  # no figure: empty


def test_tables_for_people(lab, capsys):
    assert _stats(lab, "capability", "--plan", "power-on") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["step", "item", "n"]
    assert any(line.startswith("power") and "vdd" in line and "Cpk < 1.33" in line for line in out)
    assert _stats(lab, "yield", "--plan", "power-on", "--by", "station") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["bench-1", "2", "50.0", "%", "100.0", "%", "3", "1"]
    assert _stats(lab, "pareto", "--plan", "power-on", "--since", "2026-11-27") == 0
    assert capsys.readouterr().out.strip() == "no failed runs of plan 'power-on' match"


@pytest.mark.parametrize(
    ("args", "culprit"),
    [
        (["yield", "--plan", "nope"], "'nope'"),
        (["yield", "--plan", "power-on", "--since", "yesterday"], "--since 'yesterday'"),
        (["capability", "--plan", "power-on", "--until", "2026-02-30"], "--until '2026-02-30'"),
        (["yield", "--plan", "power-on", "--by", "month"], "--by 'month'"),
        (["yield", "--plan", "power-on", "--unit", "wafer"], "--unit 'wafer'"),
        (["yield", "--plan", "power-on", "--unit", "sled"], "runs on chips"),
        (["yield", "--plan", "power-on", "--slot", "two"], "--slot 'two'"),
        (["pareto", "--plan", "power-on", "--by", "day"], "--by"),
        (["yield", "--plan", "power-on", "--json", "--csv", "x.csv"], "--json and --csv"),
        (["yield", "--plan", "power-on", "--since", "2026-11-26", "--until", "2026-11-25T12:00"],
         "--until '2026-11-25T12:00' is not after"),
    ],
)  # fmt: skip
def test_bad_input_is_one_sentence_and_exit_2(lab, capsys, args, culprit):
    assert _stats(lab, *args) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and culprit in lines[0], captured.err
