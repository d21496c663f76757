"""``labbench dut``: the inventory from scripts, with the same checks and audit trail as the
Inventory panel; every refusal is one sentence naming the culprit, exit code 2, nothing
written."""

from __future__ import annotations

import json

import pytest

from labbench.cli import main
from labbench.storage import events as event_store
from labbench.storage import history, inventory, open_database
from labbench.storage import runs as run_store

HEADER = "serial,kind,part,lot,wafer,wafer_x,wafer_y,sled,slot"


@pytest.fixture
def target(tmp_path):
    return str(tmp_path / "inv.sqlite3")


def _dut(target, *args):
    return main(["dut", *args, "--db", target])


def _error(capsys) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def _counts(target):
    db = open_database(target)
    try:
        return history.counts(db, ("duts", "placements", "audit_entries"))
    finally:
        db.dispose()


@pytest.fixture
def sled_with_chip(target, capsys):
    assert _dut(target, "add", "SLD-1", "--kind", "sled", "--slots", "4", "--part", "A1") == 0
    assert _dut(target, "add", "CHP-1", "--kind", "chip", "--lot", "L7", "--wafer", "W3",
                "--wafer-x", "4", "--wafer-y", "9", "--operator", "ana") == 0  # fmt: skip
    assert _dut(target, "add", "CHP-2", "--kind", "chip") == 0
    assert _dut(target, "place", "CHP-1", "--sled", "SLD-1", "--slot", "2",
                "--operator", "ana", "--reason", "traveller T-1") == 0  # fmt: skip
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "sled SLD-1 registered with 4 slots.",
        "chip CHP-1 registered.",
        "chip CHP-2 registered.",
        "CHP-1 placed in sled SLD-1 slot 2.",
    ]
    return target


def test_add_place_show_and_audit(sled_with_chip, capsys):
    target = sled_with_chip
    assert _dut(target, "show", "CHP-1", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["kind"], shown["lot"], shown["wafer"], shown["wafer_x"], shown["wafer_y"]) == (
        "chip", "L7", "W3", 4, 9,
    )  # fmt: skip
    assert shown["sits_in"] == {"sled": "SLD-1", "slot": 2} and shown["runs"] == []
    assert _dut(target, "show", "SLD-1", "--json") == 0
    sled = json.loads(capsys.readouterr().out)
    assert [s["chip"] for s in sled["slots"]] == [None, None, "CHP-1", None]
    assert _dut(target, "show", "SLD-1") == 0
    assert "  slot 2: CHP-1" in capsys.readouterr().out.splitlines()
    db = open_database(target)
    try:
        chip = inventory.find_dut(db, "CHP-1")
        trail = [
            (a.user, a.action, a.new_value, a.reason)
            for a in event_store.audit_trail(db, "dut", chip.id)
        ]
    finally:
        db.dispose()
    assert trail == [
        ("ana", "add", "chip CHP-1", ""),
        ("ana", "place", "SLD-1 slot 2", "traveller T-1"),
    ]


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (("place", "CHP-2", "--sled", "SLD-1", "--slot", "2"),
         "labbench: Slot 2 of sled SLD-1 already holds chip CHP-1; remove it first."),
        (("place", "CHP-2", "--sled", "SLD-1", "--slot", "4"),
         "labbench: Sled SLD-1 has no slot 4 (its slots are 0 to 3)."),
        (("place", "CHP-2", "--sled", "SLD-1", "--slot", "-1"),
         "labbench: Sled SLD-1 has no slot -1 (its slots are 0 to 3)."),
        (("place", "CHP-2", "--sled", "CHP-1", "--slot", "0"),
         "labbench: CHP-1 is a chip, not a sled: a chip cannot hold chips."),
        (("place", "SLD-1", "--sled", "SLD-1", "--slot", "0"),
         "labbench: SLD-1 is a sled, not a chip: only chips go into slots."),
        (("place", "CHP-9", "--sled", "SLD-1", "--slot", "0"),
         "labbench: There is no DUT with serial 'CHP-9'; register it with `dut add`."),
        (("place", "CHP-2", "--sled", "SLD-9", "--slot", "0"),
         "labbench: There is no DUT with serial 'SLD-9'; register it with `dut add`."),
        (("add", "CHP-1", "--kind", "chip"),
         "labbench: A DUT with serial 'CHP-1' is already registered."),
        (("add", "CHP-3", "--kind", "chp"), "labbench: --kind 'chp' is not one of sled, chip."),
        (("add", "  ", "--kind", "chip"), "labbench: A DUT needs a serial number."),
        (("add", "SLD-2", "--kind", "sled", "--slots", "0"),
         "labbench: Sled SLD-2 needs at least one slot."),
        (("add", "CHP-3", "--kind", "chip", "--slots", "4"),
         "labbench: CHP-3 is a chip: only a sled has slots."),
        (("remove", "CHP-2"), "labbench: Chip CHP-2 is not in a sled."),
        (("remove", "SLD-1"), "labbench: SLD-1 is a sled, not a chip: only chips go into slots."),
        (("show", "NOPE"),
         "labbench: There is no DUT with serial 'NOPE'; register it with `dut add`."),
    ],
)  # fmt: skip
def test_wrong_input_is_one_sentence_exit_2_and_nothing_written(
    sled_with_chip, capsys, args, sentence
):
    before = _counts(sled_with_chip)
    assert _dut(sled_with_chip, *args) == 2
    assert _error(capsys) == sentence
    assert _counts(sled_with_chip) == before


def test_non_integer_slot_is_refused_by_the_parser(sled_with_chip, capsys):
    before = _counts(sled_with_chip)
    with pytest.raises(SystemExit) as info:
        _dut(sled_with_chip, "place", "CHP-2", "--sled", "SLD-1", "--slot", "two")
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --slot: invalid int value: 'two'" in err and "Traceback" not in err
    assert _counts(sled_with_chip) == before


def test_moving_keeps_the_chip_in_one_slot_and_remove_keeps_history(sled_with_chip, capsys):
    target = sled_with_chip
    assert _dut(target, "place", "CHP-1", "--sled", "SLD-1", "--slot", "0") == 0
    assert _dut(target, "show", "SLD-1", "--json") == 0
    capsys.readouterr()
    assert _dut(target, "show", "SLD-1", "--json") == 0
    slots = [s["chip"] for s in json.loads(capsys.readouterr().out)["slots"]]
    assert slots == ["CHP-1", None, None, None]
    assert _dut(target, "remove", "CHP-1", "--operator", "ben") == 0
    assert capsys.readouterr().out == "CHP-1 taken out of sled SLD-1 slot 0.\n"
    assert _dut(target, "show", "CHP-1", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["sits_in"] is None
    assert [(p["sled"], p["slot"], p["removed_at"] is None) for p in shown["placements"]] == [
        ("SLD-1", 2, False),
        ("SLD-1", 0, False),
    ]


def test_chip_lists_the_sled_runs_it_sat_in_with_its_own_slot(sled_with_chip, capsys):
    target = sled_with_chip
    db = open_database(target)
    try:
        sled = inventory.find_dut(db, "SLD-1")
        first = run_store.start_run(db, sled.id)
        run_store.finish_run(db, first.id, "failed")
    finally:
        db.dispose()
    assert _dut(target, "place", "CHP-1", "--sled", "SLD-1", "--slot", "3") == 0
    db = open_database(target)
    try:
        second = run_store.start_run(db, sled.id)
        run_store.finish_run(db, second.id, "passed")
    finally:
        db.dispose()
    capsys.readouterr()
    assert main(["runs", "--dut", "CHP-1", "--json", "--db", target]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["run_id"], r["dut"], r["verdict"], r["slot"], r["chip_verdict"]) for r in rows] == [
        (first.id, "SLD-1", "failed", 2, None),
        (second.id, "SLD-1", "passed", 3, None),
    ]
    assert _dut(target, "show", "CHP-1", "--json") == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [(r["run_id"], r["slot"]) for r in runs] == [(second.id, 3), (first.id, 2)]
    assert _dut(target, "show", "CHP-1") == 0
    assert "(sled SLD-1 slot 2)" in capsys.readouterr().out


def _write(tmp_path, text, name="traveller.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_registers_a_tray_in_one_go(target, tmp_path, capsys):
    path = _write(
        tmp_path,
        HEADER + ",slots\n"
        "SLD-7,sled,A1,,,,,,,4\n"
        "CHP-70,chip,A1,LOT26,W03,4,9,SLD-7,0,\n"
        "CHP-71,chip,A1,LOT26,W03,5,9,SLD-7,1,\n"
        "CHP-72,chip,A1,LOT26,W03,6,9,,,\n",
    )
    assert _dut(target, "import", path, "--operator", "ana") == 0
    assert capsys.readouterr().out == f"4 DUTs registered from {path} (2 chips placed).\n"
    assert _dut(target, "show", "SLD-7", "--json") == 0
    sled = json.loads(capsys.readouterr().out)
    assert sled["slot_count"] == 4
    assert [s["chip"] for s in sled["slots"]] == ["CHP-70", "CHP-71", None, None]
    db = open_database(target)
    try:
        chip = inventory.find_dut(db, "CHP-70")
        assert (chip.lot, chip.wafer, chip.wafer_x, chip.wafer_y) == ("LOT26", "W03", 4, 9)
        assert [a.action for a in event_store.audit_trail(db, "dut", chip.id)] == ["add", "place"]
    finally:
        db.dispose()


def test_import_with_bad_rows_names_every_line_and_writes_nothing(sled_with_chip, tmp_path, capsys):
    target = sled_with_chip
    path = _write(
        tmp_path,
        HEADER + "\n"
        "CHP-80,chip,A1,L,W,1,1,SLD-1,0\n"
        "CHP-81,chip,A1,L,W,2,1,SLD-1,1\n"
        "CHP-82,chip,A1,L,W,3,1,SLD-1,3\n"
        "CHP-83,chp,A1,L,W,4,1,,\n"
        "CHP-84,chip,A1,L,W,5,1,SLD-1,x\n"
        "CHP-81,chip,A1,L,W,6,1,,\n"
        "CHP-1,chip,A1,L,W,7,1,,\n"
        "CHP-85,chip,A1,L,W,8,1,SLD-1,2\n"
        "CHP-86,chip,A1,L,W,9,1,SLD-1,9\n"
        "CHP-87,chip,A1,L,W,9,1,CHP-80,0\n"
        "CHP-88,chip,A1,L,W,9,1,SLD-404,0\n"
        "CHP-89,chip,A1,L,W,9,1,SLD-1,0\n"
        "CHP-90,chip,A1\n",
    )
    before = _counts(target)
    assert _dut(target, "import", path) == 2
    assert _error(capsys) == (
        f"labbench: {path} has 10 bad rows and nothing was imported: "
        "line 5: DUT kind 'chp' is not one of sled, chip; "
        "line 6: slot must be a whole number, not 'x'; "
        "line 7: serial 'CHP-81' is listed twice (first on line 3); "
        "line 8: a DUT with serial 'CHP-1' is already registered; "
        "line 9: slot 2 of sled SLD-1 already holds chip CHP-1; "
        "line 10: sled SLD-1 has no slot 9; "
        "line 11: CHP-80 is a chip, not a sled: a chip cannot hold chips; "
        "line 12: sled 'SLD-404' is neither registered nor listed in the file; "
        "line 13: slot 0 of sled SLD-1 is already given to CHP-80 on line 2; "
        "line 14: it has 3 cells where the header has 9."
    )
    assert _counts(target) == before


def test_import_names_a_bad_row_and_a_duplicate(target, tmp_path, capsys):
    rows = [f"CHP-{n},chip,A1,L,W,{n},0,," for n in range(1, 9)]
    rows[3] = "CHP-4,chip,A1,L,W,four,0,,"  # line 5
    rows[5] = "CHP-2,chip,A1,L,W,6,0,,"  # line 7
    path = _write(tmp_path, "\n".join([HEADER, *rows]) + "\n")
    assert _dut(target, "import", path) == 2
    assert _error(capsys) == (
        f"labbench: {path} has 2 bad rows and nothing was imported: "
        "line 5: wafer_x must be a whole number, not 'four'; "
        "line 7: serial 'CHP-2' is listed twice (first on line 3)."
    )
    assert _counts(target)["duts"] == 0


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("", "{path} is empty: it needs the header " + HEADER + "[,slots]."),
        (HEADER + "\n", "{path} has a header but no rows: nothing to import."),
        ("serial,kind,colour\nX,chip,red\n",
         "{path} line 1: the header lacks part, lot, wafer, wafer_x, wafer_y, sled, slot and "
         "has unknown column(s) colour (expected " + HEADER + "[,slots])."),
    ],
)  # fmt: skip
def test_import_refuses_a_file_it_cannot_use(target, tmp_path, capsys, text, sentence):
    path = _write(tmp_path, text)
    assert _dut(target, "import", path) == 2
    assert _error(capsys) == "labbench: " + sentence.format(path=path)


def test_import_of_a_missing_file_names_it(target, tmp_path, capsys):
    path = tmp_path / "nowhere.csv"
    assert _dut(target, "import", str(path)) == 2
    assert _error(capsys) == f"labbench: Cannot read {path}: No such file or directory."
