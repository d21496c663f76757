"""Revision 0007 adds a step result's sweep point (sweep, axis names and values, order): runs
stored before it keep their results with no point, up, down and up again, on SQLite and
PostgreSQL; a downgrade refuses to drop stored points' coordinates."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from labbench.records import StepRecord, SweepCoordinates
from labbench.storage import engine as storage_engine
from labbench.storage import inventory, open_database, results
from labbench.storage import runs as run_store
from labbench.storage.sweeps import run_sweeps

from .test_migrations import _diff

COLUMNS = {"sweep", "sweep_x_name", "sweep_x", "sweep_y_name", "sweep_y", "sweep_order"}


def _columns(db) -> set[str]:
    return {c["name"] for c in inspect(db.engine).get_columns("step_results")}


def _downgrade(db, revision: str = "0006_timing_criteria") -> None:
    with db.engine.connect() as conn, conn.begin():
        command.downgrade(storage_engine.alembic_config(conn), revision)


def test_sweep_points_migration_keeps_existing_runs(db_url):
    db = open_database(db_url)
    try:
        chip = inventory.add_dut(db, "chip", "CHP-SW7")
        _downgrade(db)
        assert not COLUMNS & _columns(db)
        old = run_store.start_run(db, chip.id)
        with db.engine.connect() as conn, conn.begin():
            conn.execute(
                text(
                    "INSERT INTO step_results (run_id, position, name, started_ns, verdict)"
                    " VALUES (:run, 0, 'power-on', 0, 'passed')"
                ),
                {"run": old.id},
            )
        storage_engine.upgrade(db.engine)
        assert _columns(db) >= COLUMNS and _diff(db) == []
        (kept,) = results.run_results(db, old.id)
        assert (kept.name, kept.verdict, kept.point) == ("power-on", "passed", None)
        assert run_sweeps(db, old.id) == []

        new = run_store.start_run(db, chip.id)
        steps = [
            StepRecord(0, "power-on", 0, 1, "passed"),
            StepRecord(1, "shmoo vdd_mv=650 freq_mhz=1000", 1, 2, "failed",
                       point=SweepCoordinates("shmoo", "vdd_mv", 650.0, "freq_mhz", 1000.0, 0)),
            StepRecord(2, "shmoo vdd_mv=700 freq_mhz=1000", 2, 3, "passed",
                       point=SweepCoordinates("shmoo", "vdd_mv", 700.0, "freq_mhz", 1000.0, 1)),
            StepRecord(3, "shmoo vdd_mv=650 freq_mhz=1200", 3, None, "skipped",
                       point=SweepCoordinates("shmoo", "vdd_mv", 650.0, "freq_mhz", 1200.0, 2)),
        ]  # fmt: skip
        results.store_results(db, new.id, steps)
        assert results.run_results(db, new.id) == steps
        (sweep,) = run_sweeps(db, new.id)
        assert [sweep.shmoo.cell(x, 1000.0) for x in (650.0, 700.0)] == ["F", "P"]
        assert sweep.shmoo.cell(650.0, 1200.0) == "-" and sweep.shmoo.vmin[1000.0] == 700.0

        with pytest.raises(RuntimeError, match="holds 3 sweep points"):
            _downgrade(db)
        assert storage_engine.current_revision(db.engine) == storage_engine.head_revision()
        assert results.run_results(db, new.id) == steps  # nothing lost

        with db.engine.connect() as conn, conn.begin():
            conn.execute(text("DELETE FROM step_results WHERE sweep IS NOT NULL"))
        _downgrade(db)
        assert not COLUMNS & _columns(db)
        with db.engine.connect() as conn:
            names = conn.execute(text("SELECT name FROM step_results ORDER BY id")).scalars()
            assert list(names) == ["power-on", "power-on"]  # both runs' plain steps kept
        storage_engine.upgrade(db.engine)
        assert _diff(db) == []
        assert [s.point for s in results.run_results(db, old.id)] == [None]
        assert sorted(r.id for r in run_store.list_runs(db)) == sorted([old.id, new.id])
    finally:
        db.dispose()
