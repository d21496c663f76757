"""The JSON record: valid against docs/record-schema.json (jsonschema, draft 2020-12), strict
JSON (no NaN), every item as in the CSV report with its slot and chip, per-chip verdicts,
violations, an events summary that counts the console without listing it, operator notes."""

from __future__ import annotations

import datetime as dt
import json

import jsonschema
import pandas as pd
import pytest

from labbench.export.csv_report import ExportError, cell_text, write_report
from labbench.export.json_record import (
    RECORD_FORMAT,
    SCHEMA_ID,
    SCHEMA_VERSION,
    run_record,
    write_json_record,
)
from labbench.storage import events as event_store
from labbench.storage import results as result_store
from labbench.storage import runs as run_store

from .conftest import EVIL, RECORD_SCHEMA, ROOT, build_stored_run, load_json


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(RECORD_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)  # the schema itself is valid
    return jsonschema.Draft202012Validator(schema)


def _export(db, run_id, path, validator) -> dict:
    write_json_record(db, run_id, path)
    record = load_json(path)
    validator.validate(record)
    for moment in (record["run"]["start_utc"], record["run"]["end_utc"]):
        assert dt.datetime.fromisoformat(moment).utcoffset() == dt.timedelta(0)
    return record


def test_schema_is_documented_and_versioned(validator):
    schema = validator.schema
    assert schema["$id"] == SCHEMA_ID and schema["version"] == SCHEMA_VERSION
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["description"] and schema["properties"]["format"]["const"] == RECORD_FORMAT
    item = schema["properties"]["items"]["items"]
    assert item["description"] and item["additionalProperties"] is False
    for key in ("name", "channel", "slot", "chip", "limits", "value"):
        assert item["properties"][key]["description"], key


def test_failing_sled_record_matches_the_csv_report(stored_runs, tmp_path, validator):
    db, run_id = stored_runs.db, stored_runs.failing_sled
    record = _export(db, run_id, tmp_path / "sled.json", validator)
    assert (record["format"], record["schema_version"]) == (RECORD_FORMAT, SCHEMA_VERSION)
    run = record["run"]
    assert (run["id"], run["status"], run["operator"], run["station"]) == (
        run_id,
        "failed",
        "ana",
        "bench-7",
    )
    assert run["dut"]["serial"] == "SLD-EXP" and run["dut"]["kind"] == "sled"
    assert run["plan"]["name"] == "sled-export" and run["plan"]["version"] == "2"
    assert len(run["plan"]["sha256"]) == 64 and run["samples"] > 0
    assert record["chips"] == [
        {"slot": 0, "chip": "CHP-0", "verdict": "passed"},
        {"slot": 1, "chip": "CHP-1", "verdict": "passed"},
        {"slot": 2, "chip": "CHP-2", "verdict": "failed"},
    ]
    assert [(s["name"], s["verdict"]) for s in record["steps"]] == [
        ("power-on", "failed"),
        ("self-test", "passed"),
    ]
    assert 0 <= record["steps"][0]["start_s"] < record["steps"][0]["end_s"]

    # The same items, values and limits as the CSV report, column for column.
    report = tmp_path / "report.csv"
    write_report(db, run_id, report)
    frame = pd.read_csv(report, comment="#")
    items = record["items"]
    assert len(items) == len(frame) == 8
    for item, (_, row) in zip(items, frame.iterrows(), strict=True):
        assert (item["step"], item["kind"], item["name"], item["verdict"]) == (
            row["step"],
            row["kind"],
            row["name"],
            row["verdict"],
        )
        for key in ("low", "high", "violations", "first_violation_s"):
            assert (item[key] is None and pd.isna(row[key])) or item[key] == row[key], key
        if item["kind"] in ("limit", "measure"):
            assert item["value"] == float(row["value"])
        limits = row["limits"]
        assert item["limits"] == (cell_text(limits) if isinstance(limits, str) else "")
        assert item["slot"] == (None if pd.isna(row["slot"]) else int(row["slot"]))
        assert item["chip"] == (None if pd.isna(row["chip"]) else row["chip"])

    bad = next(i for i in items if i["name"] == "vdd_core[2]")
    assert (bad["channel"], bad["slot"], bad["chip"], bad["verdict"]) == (
        "vdd_core[2]",
        2,
        "CHP-2",
        "failed",
    )
    assert bad["violations"] == 1 and bad["value"] < 0.72
    (violation,) = record["violations"]
    assert (violation["item"], violation["channel"], violation["slot"], violation["bound"]) == (
        "vdd_core[2]",
        "vdd_core[2]",
        2,
        "low",
    )
    assert violation["start_s"] == bad["first_violation_s"] < violation["end_s"]

    # Events: counted by kind (console text included), listed except the rig's own text.
    events = record["events"]
    stored = event_store.run_events(db, run_id)
    assert sum(events["counts"].values()) == len(stored)
    listed = [e["kind"] for e in events["listed"]]
    assert {"connect", "command", "step_start", "step_end"} <= set(listed)
    assert not set(listed) & set(events["counted_only"])
    commands = [e["detail"] for e in events["listed"] if e["kind"] == "command"]
    assert commands == ["PWR ON", "BIST"]
    assert record["notes"] == []


def test_passing_and_error_records(stored_runs, tmp_path, validator):
    passing = _export(stored_runs.db, stored_runs.passing_chip, tmp_path / "p.json", validator)
    assert passing["run"]["status"] == "passed" and passing["chips"] == []
    assert {i["verdict"] for i in passing["items"]} == {"passed"} and passing["violations"] == []
    assert all(i["slot"] is None and i["chip"] is None for i in passing["items"])
    bist = next(i for i in passing["items"] if i["name"] == "bist")
    assert (bist["equals"], bist["text_value"], bist["limits"]) == ("PASS", "PASS", "= PASS")

    errored = _export(stored_runs.db, stored_runs.error_chip, tmp_path / "e.json", validator)
    assert errored["run"]["status"] == "error"
    eye = next(i for i in errored["items"] if i["name"] == "eye_scan")
    assert (eye["verdict"], eye["value"], eye["text_value"], eye["sample_count"]) == (
        "error",
        None,
        "",
        0,
    )


def test_nan_is_null_text_is_plain_and_notes_are_kept(stored_runs, tmp_path, validator):
    db, run_id = stored_runs.db, stored_runs.built
    path = tmp_path / "built.json"
    record = _export(db, run_id, path, validator)
    raw = path.read_text(encoding="utf-8")
    assert "NaN" not in raw and "Infinity" not in raw
    run = record["run"]
    # Text is data in JSON: markup, formulas and quotes come back exactly as stored.
    assert run["operator"] == "op" + EVIL and run["dut"]["serial"] == "CHP" + EVIL
    assert run["plan"]["name"] == "hand" + EVIL and run["station"] == "bench" + EVIL
    assert run["start_utc"] == "2026-11-27T03:00:00.250000+00:00" and run["duration_s"] == 2.5
    items = {i["name"]: i for i in record["items"]}
    assert items["mean" + EVIL]["value"] is None and items["mean" + EVIL]["verdict"] == "failed"
    assert items["vdd" + EVIL]["verdict"] == "marginal" and items["vdd" + EVIL]["value"] == 0.7712
    assert items["look" + EVIL]["text_value"] == "no" + EVIL
    assert [(v["start_s"], v["end_s"], v["extreme"]) for v in record["violations"]] == [
        (1.25, 1.5, 0.81),
        (2.0, 2.125, 0.79),
    ]
    assert items["vdd_high"]["first_violation_s"] == 1.25
    skipped = record["steps"][1]
    assert skipped == {
        "position": 1,
        "name": "cool-down",
        "verdict": "skipped",
        "start_s": None,
        "end_s": None,
        "items": 0,
        "sweep_point": None,
    }
    assert record["sweeps"] == []
    events = record["events"]
    assert events["counts"] == {"command": 1, "connect": 1, "console": 5, "disconnect": 1,
                                "reconnect": 1}  # fmt: skip
    assert [(e["kind"], e["t_s"], e["detail"]) for e in events["listed"]] == [
        ("connect", 0.0, "mock://nominal"),
        ("command", 0.01, "PWR ON" + EVIL),
        ("disconnect", 1.0, "cable" + EVIL),
        ("reconnect", 1.5, "back"),
    ]
    (note,) = record["notes"]
    assert (note["user"], note["text"]) == ("ana" + EVIL, "n" + EVIL)


def test_nan_never_reaches_the_file_on_any_backend(db, tmp_path, validator):
    # PostgreSQL keeps a NaN value where SQLite stores NULL: both must write null.
    run_id = build_stored_run(db)
    steps = result_store.run_results(db, run_id)
    record = run_record(db, run_id)
    validator.validate(record)
    stored_nan = next(c for s in steps for c in s.criteria if c.name == "mean" + EVIL)
    assert stored_nan.value is None or stored_nan.value != stored_nan.value
    json.dumps(record, allow_nan=False)  # raises on NaN or infinity anywhere
    write_json_record(db, [run_id, run_id], tmp_path / "two.json")
    two = load_json(tmp_path / "two.json")
    assert isinstance(two, list) and len(two) == 2
    for one in two:
        validator.validate(one)


def test_unknown_run_is_one_sentence_and_writes_nothing(stored_runs, tmp_path):
    with pytest.raises(ExportError, match=r"^There is no run with id 424242\.$"):
        write_json_record(stored_runs.db, 424242, tmp_path / "none.json")
    assert not (tmp_path / "none.json").exists()


def test_a_recording_and_a_run_still_running_fit_the_schema(stored_runs, tmp_path, validator):
    db = stored_runs.db
    dut_id = run_store.get_run(db, stored_runs.failing_sled).dut_id  # the sled, chips placed
    recording = run_store.start_run(db, dut_id, device="mock://nominal")
    run_store.finish_run(db, recording.id, "recorded", sample_count=10)
    running = run_store.start_run(db, dut_id)
    for run_id, status in ((recording.id, "recorded"), (running.id, "running")):
        record = run_record(db, run_id)
        validator.validate(record)
        assert record["run"]["status"] == status and record["run"]["plan"] is None
        assert record["items"] == [] and record["steps"] == []
        # Its chips as placed, with no verdict of their own: nothing was judged per chip.
        assert [(c["slot"], c["verdict"]) for c in record["chips"]] == [(0, None), (1, None),
                                                                        (2, None)]  # fmt: skip
    assert record["run"]["end_utc"] is None and record["run"]["duration_s"] is None
    # Ended, so that no later test's command line finds a run left running in the shared db.
    run_store.finish_run(db, running.id, "aborted")


def test_the_sample_in_docs_fits_the_schema(validator):
    record = load_json(ROOT / "docs" / "examples" / "sled-run.record.json")
    validator.validate(record)
    assert record["schema_version"] == SCHEMA_VERSION
