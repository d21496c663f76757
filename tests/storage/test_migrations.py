"""The migrations build the schema from empty, go down and up again, and match the models."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from labbench.storage import DatabaseTooNew, open_database
from labbench.storage import engine as storage_engine
from labbench.storage.models import Base


def _diff(db):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def _tables(db) -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade_matches_models(db_url):
    db = open_database(db_url)
    try:
        assert storage_engine.current_revision(db.engine) == storage_engine.head_revision()
        assert _tables(db) == set(Base.metadata.tables)
        assert _diff(db) == []

        with db.engine.connect() as conn, conn.begin():
            command.downgrade(storage_engine.alembic_config(conn), "base")
        assert _tables(db) == set()
        assert storage_engine.current_revision(db.engine) is None

        storage_engine.upgrade(db.engine)
        assert _tables(db) == set(Base.metadata.tables)
        assert _diff(db) == []
    finally:
        db.dispose()


def test_reopening_is_idempotent(db_url):
    for _ in range(2):
        db = open_database(db_url)
        assert storage_engine.current_revision(db.engine) == storage_engine.head_revision()
        db.dispose()


def _stamp_unknown(db_url: str) -> None:
    db = open_database(db_url)
    with db.engine.connect() as conn, conn.begin():
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
    db.dispose()


def test_newer_database_is_refused_untouched_sqlite(tmp_path):
    path = tmp_path / "newer.sqlite3"
    _stamp_unknown(str(path))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(DatabaseTooNew) as info:
        open_database(str(path))
    message = str(info.value)
    assert (
        "ffff_from_the_future" in message and "newer labbench" in message and str(path) in message
    )
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not Path(str(path) + "-wal").exists() or Path(str(path) + "-wal").stat().st_size == 0


@pytest.mark.postgres
def test_newer_database_is_refused_untouched_postgresql(pg_url):
    _stamp_unknown(pg_url)
    with pytest.raises(DatabaseTooNew, match="ffff_from_the_future"):
        open_database(pg_url)
    from sqlalchemy import create_engine

    engine = create_engine(pg_url)
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            == "ffff_from_the_future"
        )
    engine.dispose()


def test_cli_reports_newer_database_in_one_line(tmp_path, capsys):
    from labbench.cli import main

    path = tmp_path / "newer.sqlite3"
    _stamp_unknown(str(path))
    assert main(["db", "upgrade", "--db", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ffff_from_the_future" in err and "Traceback" not in err


def test_run_slots_migration_keeps_existing_runs(db_url):
    """Runs recorded before revision 0003 survive up, down and up again; they have no slot
    rows and stay listed as runs of their own DUT."""
    from labbench.storage import history, inventory
    from labbench.storage import runs as run_store

    db = open_database(db_url)
    try:
        sled = inventory.add_dut(db, "sled", "SLD-OLD", slot_count=2)
        chip = inventory.add_dut(db, "chip", "CHP-OLD")
        inventory.place_chip(db, chip.id, sled.id, 0)
        with db.engine.connect() as conn, conn.begin():
            command.downgrade(storage_engine.alembic_config(conn), "0002_telemetry_overview")
        assert "run_slots" not in _tables(db)
        with db.engine.connect() as conn, conn.begin():
            conn.execute(
                text(
                    "INSERT INTO runs (dut_id, operator, device, profile, software_version, host,"
                    " started_at, t0_ns, status, sample_count, malformed_count, console_count,"
                    " violation_count, failed_items, error_message) VALUES (:dut, 'ana', '', '',"
                    " '0', '', :at, 0, 'passed', 10, 0, 0, 0, 0, '')"
                ),
                {"dut": sled.id, "at": "2026-11-20 10:00:00"},
            )
        storage_engine.upgrade(db.engine)
        assert _diff(db) == []
        (old,) = history.dut_runs(db, sled.id)
        assert (old.status, old.slot, old.chip_verdict) == ("passed", None, None)
        assert run_store.run_slots(db, old.id) == []
        assert history.dut_runs(db, chip.id) == []  # nobody recorded the chip in that run
        new = run_store.start_run(db, sled.id)
        assert [(s.slot, s.chip_serial) for s in run_store.run_slots(db, new.id)] == [
            (0, "CHP-OLD")
        ]
        with db.engine.connect() as conn, conn.begin():
            command.downgrade(storage_engine.alembic_config(conn), "0002_telemetry_overview")
        assert "run_slots" not in _tables(db)
        storage_engine.upgrade(db.engine)
        assert [r.id for r in history.dut_runs(db, sled.id)] == [new.id, old.id]
    finally:
        db.dispose()


def test_criterion_slots_migration_keeps_existing_results(db_url):
    """Results stored before revision 0004 survive up, down and up again with no slot and
    no chip; per-chip items stored after it keep theirs, and the chip verdict in run_slots."""
    from labbench.records import CriterionRecord, StepRecord
    from labbench.storage import inventory, results
    from labbench.storage import runs as run_store

    def item(name: str, slot: int | None = None, chip: str = "") -> CriterionRecord:
        return CriterionRecord(
            "limit", name, name, "V", "", 0.75, "", 0.72, 0.78, None, None, None, 0.0, 0.0, 10,
            "passed", slot=slot, chip=chip,
        )  # fmt: skip

    db = open_database(db_url)
    try:
        sled = inventory.add_dut(db, "sled", "SLD-OLD4", slot_count=2)
        chip = inventory.add_dut(db, "chip", "CHP-OLD4")
        inventory.place_chip(db, chip.id, sled.id, 1)
        with db.engine.connect() as conn, conn.begin():
            command.downgrade(storage_engine.alembic_config(conn), "0003_run_slots")
        columns = {c["name"] for c in inspect(db.engine).get_columns("criterion_results")}
        assert not {"slot", "chip"} & columns
        old = run_store.start_run(db, sled.id)
        with db.engine.connect() as conn, conn.begin():
            conn.execute(
                text(
                    "INSERT INTO step_results (run_id, position, name, started_ns, verdict)"
                    " VALUES (:run, 0, 'power-on', 0, 'passed')"
                ),
                {"run": old.id},
            )
            step_id = conn.execute(text("SELECT max(id) FROM step_results")).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO criterion_results (run_id, step_result_id, kind, name, channel,"
                    " unit, stat, value, text_value, settle_s, hold_s, sample_count, verdict,"
                    " violation_count) VALUES (:run, :step, 'limit', 'vdd_core', 'vdd_core', 'V',"
                    " '', 0.75, '', 0, 0, 10, 'passed', 0)"
                ),
                {"run": old.id, "step": step_id},
            )
        storage_engine.upgrade(db.engine)
        assert _diff(db) == []
        ((kept,),) = [s.criteria for s in results.run_results(db, old.id)]
        assert (kept.name, kept.slot, kept.chip, kept.verdict) == ("vdd_core", None, "", "passed")

        new = run_store.start_run(db, sled.id)
        steps = [
            StepRecord(
                0, "power-on", 0, 1, "passed", (item("vdd_core[1]", 1, "CHP-OLD4"), item("fan_rpm"))
            )
        ]
        results.store_results(db, new.id, steps, {1: "passed"})
        assert results.run_results(db, new.id) == steps
        assert [(s.slot, s.chip_verdict) for s in run_store.run_slots(db, new.id)] == [
            (1, "passed")
        ]
        with db.engine.connect() as conn, conn.begin():
            command.downgrade(storage_engine.alembic_config(conn), "0003_run_slots")
        with db.engine.connect() as conn:
            names = conn.execute(
                text("SELECT name FROM criterion_results WHERE run_id = :run ORDER BY id"),
                {"run": new.id},
            ).scalars()
            assert list(names) == ["vdd_core[1]", "fan_rpm"]  # the items stay, without slots
        storage_engine.upgrade(db.engine)
        assert _diff(db) == []
        ((again,),) = [s.criteria for s in results.run_results(db, old.id)]
        assert (again.slot, again.chip) == (None, "")
        assert sorted(r.id for r in run_store.list_runs(db)) == sorted([new.id, old.id])
    finally:
        db.dispose()


def test_timing_criteria_migration(db_url):
    """Revision 0006 lets criterion_results hold kind 'timing'; down and up again keep the
    other checks, and a downgrade refuses to lose stored timing results."""
    from sqlalchemy.exc import IntegrityError

    from labbench.records import CriterionRecord, StepRecord
    from labbench.storage import inventory, results
    from labbench.storage import runs as run_store

    rise = CriterionRecord(
        "timing", "vdd_core_rise", "vdd_core", "ms", "rise", 2.5,
        "vdd_core rose from 10 % to 90 % in 2.5 ms", 1.0, 5.0, None, None, None, 0.0, 0.0, 100,
        "passed",
    )  # fmt: skip

    positions = iter(range(100))

    def insert(conn, run_id: int, kind: str, verdict: str = "passed") -> None:
        conn.execute(
            text(
                "INSERT INTO step_results (run_id, position, name, started_ns, verdict)"
                " VALUES (:run, :position, 'power-on', 0, 'passed')"
            ),
            {"run": run_id, "position": next(positions)},
        )
        step_id = conn.execute(text("SELECT max(id) FROM step_results")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO criterion_results (run_id, step_result_id, kind, name, channel,"
                " unit, stat, value, text_value, settle_s, hold_s, sample_count, verdict,"
                " violation_count) VALUES (:run, :step, :kind, 'x', 'x', 'ms', 'rise', 2.5, '',"
                " 0, 0, 10, :verdict, 0)"
            ),
            {"run": run_id, "step": step_id, "kind": kind, "verdict": verdict},
        )

    db = open_database(db_url)
    try:
        chip = inventory.add_dut(db, "chip", "CHP-T6")
        run = run_store.start_run(db, chip.id)
        steps = [StepRecord(0, "power-on", 0, 1, "passed", (rise,))]
        results.store_results(db, run.id, steps, {})
        assert results.run_results(db, run.id) == steps
        config = storage_engine.alembic_config
        with (
            pytest.raises(RuntimeError, match="holds 1 timing results"),
            db.engine.connect() as conn,
            conn.begin(),
        ):
            command.downgrade(config(conn), "0005_analytics_indexes")
        assert storage_engine.current_revision(db.engine) == storage_engine.head_revision()

        empty = run_store.start_run(db, chip.id)
        with db.engine.connect() as conn, conn.begin():
            conn.execute(text("DELETE FROM criterion_results WHERE run_id = :r"), {"r": run.id})
            command.downgrade(config(conn), "0005_analytics_indexes")
        for kind, verdict in (("timing", "passed"), ("limit", "bogus")):
            with pytest.raises(IntegrityError), db.engine.connect() as conn, conn.begin():
                insert(conn, empty.id, kind, verdict)
        with db.engine.connect() as conn, conn.begin():
            insert(conn, empty.id, "limit")
        storage_engine.upgrade(db.engine)
        assert _diff(db) == []
        with db.engine.connect() as conn, conn.begin():
            insert(conn, empty.id, "timing")
        with pytest.raises(IntegrityError), db.engine.connect() as conn, conn.begin():
            insert(conn, empty.id, "limit", "bogus")  # the verdict check survived
        kinds = [c.kind for s in results.run_results(db, empty.id) for c in s.criteria]
        assert sorted(kinds) == ["limit", "timing"]
    finally:
        db.dispose()


def test_sqlite_upgrade_keeps_violations_and_foreign_keys(tmp_path):
    """A database with violations (which refer to criterion results) upgrades through a
    migration that copies criterion_results (SQLite's batch mode): dropping the old table
    with foreign keys on failed on the first violation (and, before failing, checked every
    dropped row against violations, unindexed: over 15 min for 2 M results). The upgrade
    runs with them off, checks the references before committing, and turns them on again."""
    from labbench.storage import inventory
    from labbench.storage import runs as run_store

    db = open_database(str(tmp_path / "fk.sqlite3"))
    try:
        chip = inventory.add_dut(db, "chip", "CHP-FK")
        run = run_store.start_run(db, chip.id)
        with db.engine.connect() as conn, conn.begin():
            command.downgrade(storage_engine.alembic_config(conn), "0005_analytics_indexes")
            conn.execute(
                text(
                    "INSERT INTO step_results (run_id, position, name, started_ns, verdict)"
                    " VALUES (:r, 0, 's', 0, 'failed')"
                ),
                {"r": run.id},
            )
            conn.execute(
                text(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                    " WHERE i < 20000) INSERT INTO criterion_results (run_id, step_result_id,"
                    " kind, name, channel, unit, stat, value, text_value, settle_s, hold_s,"
                    " sample_count, verdict, violation_count) SELECT :r, (SELECT max(id) FROM"
                    " step_results), 'limit', 'x' || i, 'x', 'V', '', 1.0, '', 0, 0, 10,"
                    " 'failed', 1 FROM n"
                ),
                {"r": run.id},
            )
            conn.execute(
                text(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                    " WHERE i < 2000) INSERT INTO violations (run_id, criterion_result_id,"
                    " step_position, channel, start_s, end_s, extreme, bound)"
                    " SELECT :r, i * 10, 0, 'x', 0, 1, 2, 'high' FROM n"
                ),
                {"r": run.id},
            )
        storage_engine.upgrade(db.engine)
        assert storage_engine.current_revision(db.engine) == storage_engine.head_revision()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM violations")).scalar_one() == 2000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    finally:
        db.dispose()
