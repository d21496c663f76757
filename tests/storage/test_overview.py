"""Overview rows: written as a run grows, exact, and what opening a long run reads."""

from __future__ import annotations

import numpy as np
from alembic import command
from sqlalchemy import func, inspect, select, text

from labbench.storage import engine as storage_engine
from labbench.storage import inventory as inventory_store
from labbench.storage import models as m
from labbench.storage import open_database
from labbench.storage import runs as run_store
from labbench.storage.chunks import OVERVIEW_CHUNKS
from labbench.storage.telemetry import TelemetryWriter
from labbench.storage.telemetry_read import chunk_summary, overview_summary, read_channel

CHUNK = 250  # samples per channel per commit at 1 kHz


def _commit_chunks(
    writer: TelemetryWriter, first: int, chunks: int, nan_chunk: int | None = None
) -> None:
    """``chunks`` commits of one 250-sample chunk per channel, like a 1 kHz run."""
    for k in range(first, first + chunks):
        t = (k * CHUNK + np.arange(CHUNK)) / 1000.0
        v = np.sin(t) + k / 100.0
        if k == nan_chunk:
            v = np.full(CHUNK, np.nan)
        writer.append("vdd_core", t, v, unit="V")
        writer.append("temp_die", t, 40.0 + v)
        writer.commit(malformed_count=0, console_count=0)


def _expected(summary, group: int):
    """Fold a per-chunk summary into blocks of ``group`` chunks (min/max ignoring NaN)."""
    out = []
    for a in range(0, summary.count.size, group):
        b = a + group
        with np.errstate(invalid="ignore"):
            out.append(
                (
                    summary.t_first[a],
                    summary.t_last[b - 1 if b <= summary.count.size else -1],
                    np.fmin.reduce(summary.v_min[a:b]),
                    np.fmax.reduce(summary.v_max[a:b]),
                    summary.count[a:b].sum(),
                )
            )
    return out


def test_overview_rows_summarise_every_block_of_chunks_exactly(db):
    run = run_store.start_run(db, inventory_store.add_dut(db, "chip", "OV-1").id)
    writer = TelemetryWriter(db, run.id)
    blocks = 3
    tail = 5
    _commit_chunks(writer, 0, blocks * OVERVIEW_CHUNKS + tail, nan_chunk=OVERVIEW_CHUNKS + 2)
    writer.close()

    with db.engine.connect() as conn:
        assert (
            conn.execute(select(func.count()).select_from(m.TelemetryOverview)).scalar()
            == 2 * blocks
        )
    chunks = chunk_summary(db, run.id, "vdd_core")
    assert chunks.count.size == blocks * OVERVIEW_CHUNKS + tail
    overview = overview_summary(db, run.id, "vdd_core")
    # One entry per block of chunks, then the newest chunks one by one.
    assert overview.count.tolist() == [OVERVIEW_CHUNKS * CHUNK] * blocks + [CHUNK] * tail
    want = _expected(chunks, OVERVIEW_CHUNKS)[:blocks]
    for i, (t_first, t_last, v_min, v_max, count) in enumerate(want):
        assert (overview.t_first[i], overview.t_last[i], overview.count[i]) == (
            t_first,
            t_last,
            count,
        )
        assert (overview.v_min[i], overview.v_max[i]) == (v_min, v_max)  # the all-NaN chunk ignored
    np.testing.assert_array_equal(overview.v_min[blocks:], chunks.v_min[-tail:])
    t, v = read_channel(db, run.id, "vdd_core")
    assert overview.count.sum() == t.size == (blocks * OVERVIEW_CHUNKS + tail) * CHUNK
    assert overview.v_min[0] == np.nanmin(v[: OVERVIEW_CHUNKS * CHUNK]) and overview.v_max[
        1
    ] == np.nanmax(v[OVERVIEW_CHUNKS * CHUNK : 2 * OVERVIEW_CHUNKS * CHUNK])


def test_all_nan_block_has_null_min_max(tmp_path):
    db = open_database(str(tmp_path / "nan.sqlite3"))
    run = run_store.start_run(db, inventory_store.add_dut(db, "chip", "OV-NAN").id)
    writer = TelemetryWriter(db, run.id)
    for k in range(OVERVIEW_CHUNKS):
        writer.append("x", (k * CHUNK + np.arange(CHUNK)) / 1000.0, np.full(CHUNK, np.nan))
        writer.commit()
    writer.close()
    with db.engine.connect() as conn:
        assert conn.execute(select(m.TelemetryOverview.v_min, m.TelemetryOverview.v_max)).all() == [
            (None, None)
        ]
    overview = overview_summary(db, run.id, "x")
    assert (
        overview.count.tolist() == [OVERVIEW_CHUNKS * CHUNK]
        and np.isnan(overview.v_min[0])
        and np.isnan(overview.v_max[0])
    )
    db.dispose()


def test_a_resumed_run_is_summarised_once_with_its_uncovered_chunks(tmp_path):
    """A writer stopped mid-block leaves chunks no overview row covers; they are read as chunks."""
    db = open_database(str(tmp_path / "resume.sqlite3"))
    run = run_store.start_run(db, inventory_store.add_dut(db, "chip", "OV-2").id)
    first = TelemetryWriter(db, run.id)
    _commit_chunks(first, 0, OVERVIEW_CHUNKS + 7)
    first.close()
    second = TelemetryWriter(db, run.id)  # continues the seqs; its blocks start afresh
    _commit_chunks(second, OVERVIEW_CHUNKS + 7, 2 * OVERVIEW_CHUNKS + 3)
    second.close()
    overview = overview_summary(db, run.id, "temp_die")
    assert overview.count.tolist() == (
        [OVERVIEW_CHUNKS * CHUNK] + [CHUNK] * 7 + [OVERVIEW_CHUNKS * CHUNK] * 2 + [CHUNK] * 3
    )
    assert (
        np.all(np.diff(overview.t_first) > 0)
        and overview.t_last[-1] == read_channel(db, run.id, "temp_die")[0][-1]
    )
    db.dispose()


def test_rebuilding_a_run_removes_its_overview_rows(tmp_path):
    db = open_database(str(tmp_path / "rebuild.sqlite3"))
    run = run_store.start_run(db, inventory_store.add_dut(db, "chip", "OV-3").id)
    writer = TelemetryWriter(db, run.id)
    _commit_chunks(writer, 0, OVERVIEW_CHUNKS)
    writer.delete_telemetry()  # foreign keys are on: overview rows must go before their channels
    writer.commit()
    _commit_chunks(writer, 0, 3)
    writer.close()
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(m.TelemetryOverview)).scalar() == 0
    assert overview_summary(db, run.id, "vdd_core").count.tolist() == [CHUNK] * 3
    db.dispose()


def test_migration_keeps_recorded_runs_and_goes_down_and_up(db_url):
    """A database at the first revision with a recorded run: up, down, up keeps its telemetry,
    and its overview (no overview rows) comes from its chunks."""
    db = open_database(db_url, migrate=False)
    with db.engine.connect() as conn, conn.begin():
        command.upgrade(storage_engine.alembic_config(conn), "0001")
    db.dispose()
    db = open_database(db_url, migrate=False)
    run = run_store.start_run(db, inventory_store.add_dut(db, "chip", "OLD-1").id)
    with db.engine.begin() as conn:
        channel_id = conn.execute(
            text(
                "INSERT INTO channels (run_id, name, unit, position) VALUES (:r, 'vdd_core', 'V', "
                "0) RETURNING id"
            ),
            {"r": run.id},
        ).scalar()
        for seq in range(3):
            t = np.arange(seq * 4, seq * 4 + 4, dtype="<f8")
            conn.execute(
                text(
                    "INSERT INTO telemetry_chunks (run_id, channel_id, seq, count, t_first, "
                    "t_last, v_min, v_max, t, v) "
                    "VALUES (:r, :c, :s, 4, :a, :b, :a, :b, :t, :t)"
                ),
                {
                    "r": run.id,
                    "c": channel_id,
                    "s": seq,
                    "a": float(t[0]),
                    "b": float(t[-1]),
                    "t": t.tobytes(),
                },
            )
    db.dispose()
    for target in ("head", "0001", "head"):
        db = open_database(db_url, migrate=False)
        with db.engine.connect() as conn, conn.begin():
            if target == "head":
                command.upgrade(storage_engine.alembic_config(conn), target)
            else:
                command.downgrade(storage_engine.alembic_config(conn), target)
        tables = (
            set(m.Base.metadata.tables)
            if target == "head"
            else set(m.Base.metadata.tables) - {"telemetry_overview", "run_slots", "criterion_keys"}
        )
        assert set(inspect(db.engine).get_table_names()) - {"alembic_version"} == tables
        t, _v = read_channel(db, run.id, "vdd_core")
        np.testing.assert_array_equal(t, np.arange(12.0))
        db.dispose()
    db = open_database(db_url)
    assert overview_summary(db, run.id, "vdd_core").count.tolist() == [4, 4, 4]
    db.dispose()
