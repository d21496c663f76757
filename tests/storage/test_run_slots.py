"""A sled run stores the placement it ran with; a chip's history lists every sled run it sat
in, with its own slot, however often the chip moves afterwards."""

from __future__ import annotations

import pytest

from labbench.storage import RecordError, history, inventory
from labbench.storage import events as event_store
from labbench.storage import runs as run_store


@pytest.fixture
def tray(db):
    sled_a = inventory.add_dut(db, "sled", "SLD-A", slot_count=4)
    sled_b = inventory.add_dut(db, "sled", "SLD-B", slot_count=4)
    chips = [inventory.add_dut(db, "chip", f"CHP-{n}") for n in range(3)]
    return db, sled_a, sled_b, chips


def _run(db, dut_id, status="passed"):
    run = run_store.start_run(db, dut_id)
    run_store.finish_run(db, run.id, status)
    return run


def test_place_run_move_run_lists_both_runs_with_their_own_slot(tray):
    db, sled_a, sled_b, (chip, other, _) = tray
    inventory.place_chip(db, chip.id, sled_a.id, 1)
    inventory.place_chip(db, other.id, sled_a.id, 3)
    first = _run(db, sled_a.id, "failed")
    inventory.place_chip(db, chip.id, sled_b.id, 2)
    second = _run(db, sled_b.id, "passed")
    without = _run(db, sled_a.id, "passed")  # the chip had left SLD-A by then
    own = _run(db, chip.id, "marginal")  # a run of the chip on its own

    rows = history.dut_runs(db, chip.id)
    assert [(r.id, r.dut_serial, r.slot, r.status, r.chip_verdict) for r in rows] == [
        (own.id, "CHP-0", None, "marginal", None),
        (second.id, "SLD-B", 2, "passed", None),
        (first.id, "SLD-A", 1, "failed", None),
    ]
    # What the first run recorded is not rewritten by the move.
    assert [(s.slot, s.chip_serial) for s in run_store.run_slots(db, first.id)] == [
        (1, "CHP-0"),
        (3, "CHP-1"),
    ]
    assert [(s.slot, s.chip_serial) for s in run_store.run_slots(db, without.id)] == [(3, "CHP-1")]
    listed = list(history.iter_run_list(db, dut="CHP-0"))
    assert [(r.run_id, r.dut, r.slot, r.chip_verdict) for r in listed] == [
        (first.id, "SLD-A", 1, None),
        (second.id, "SLD-B", 2, None),
        (own.id, "CHP-0", None, None),
    ]
    # The sled's own lists are untouched: each run once, no slot.
    assert [(r.id, r.slot) for r in history.dut_runs(db, sled_a.id)] == [
        (without.id, None),
        (first.id, None),
    ]
    everything = list(history.iter_run_list(db))
    assert len(everything) == 4 and {r.slot for r in everything} == {None}


def test_chip_run_and_empty_sled_store_no_slots(tray):
    db, sled_a, _, (chip, _, _) = tray
    assert run_store.run_slots(db, _run(db, sled_a.id).id) == []
    assert run_store.run_slots(db, _run(db, chip.id).id) == []


def test_remove_ends_the_placement_keeps_history_and_is_audited(tray):
    db, sled_a, _, (chip, _, _) = tray
    inventory.place_chip(db, chip.id, sled_a.id, 0, user="ana", reason="tray 7")
    run = _run(db, sled_a.id)
    inventory.remove_chip(db, chip.id, user="ben", reason="to the probe station")
    assert inventory.sled_slots(db, sled_a.id) == {}
    assert [p.removed_at is not None for p in inventory.chip_history(db, chip.id)] == [True]
    assert [r.id for r in history.dut_runs(db, chip.id)] == [run.id]
    trail = [
        (a.user, a.action, a.old_value, a.new_value, a.reason)
        for a in event_store.audit_trail(db, "dut", chip.id)
    ]
    assert trail == [
        ("ana", "place", "", "SLD-A slot 0", "tray 7"),
        ("ben", "remove", "SLD-A slot 0", "", "to the probe station"),
    ]
    with pytest.raises(RecordError, match="Chip CHP-0 is not in a sled"):
        inventory.remove_chip(db, chip.id, user="ben")


def test_import_checks_every_row_before_writing_anything(tray):
    db, sled_a, _, (chip, _, _) = tray
    inventory.place_chip(db, chip.id, sled_a.id, 0)
    cells = dict.fromkeys(inventory.TRAVELLER_COLUMNS, "")
    rows = [
        (2, {**cells, "serial": "SLD-N", "kind": "sled", "slots": "2"}),
        (3, {**cells, "serial": "CHP-N1", "kind": "chip", "sled": "SLD-N", "slot": "1"}),
        (4, {**cells, "serial": "CHP-N2", "kind": "chip", "sled": "SLD-N", "slot": "2"}),
        (5, {**cells, "serial": "CHP-N3", "kind": "chip", "sled": "SLD-A", "slot": "0"}),
        (6, {**cells, "serial": "CHP-N4", "kind": "chip", "sled": "CHP-N1", "slot": "0"}),
        (7, {**cells, "serial": "CHP-N5", "kind": "chip", "sled": "SLD-N", "slot": "1"}),
    ]
    before = history.counts(db, ("duts", "placements", "audit_entries"))
    with pytest.raises(inventory.ImportRejected) as info:
        inventory.import_duts(db, rows, user="ana")
    assert info.value.problems == [
        (4, "sled SLD-N has no slot 2."),
        (5, "slot 0 of sled SLD-A already holds chip CHP-0."),
        (6, "CHP-N1 is a chip, not a sled: a chip cannot hold chips."),
        (7, "slot 1 of sled SLD-N is already given to CHP-N1 on line 3."),
    ]
    assert history.counts(db, ("duts", "placements", "audit_entries")) == before
    created = inventory.import_duts(db, rows[:2], user="ana", reason="traveller T-9")
    assert [d.serial for d in created] == ["SLD-N", "CHP-N1"]
    sled = inventory.find_dut(db, "SLD-N")
    assert sled.slot_count == 2 and inventory.sled_slots(db, sled.id)[1].serial == "CHP-N1"
    actions = [a.action for a in event_store.audit_trail(db, "dut", created[1].id)]
    assert actions == ["add", "place"]
