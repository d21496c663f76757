"""TelemetryWriter.append_batches: a commit batch's items stored exactly as item-by-item appends
store them, and a failed SQLite commit leaves nothing behind."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from labbench.storage import inventory as inventory_store
from labbench.storage import models as m
from labbench.storage import runs as run_store
from labbench.storage.engine import DatabaseFault
from labbench.storage.journal import CommitBatch
from labbench.storage.telemetry import TelemetryWriter

CHANNELS = ("vdd_core", "temp_die", "iddq")


def _batches(regular: bool) -> list[CommitBatch]:
    """Commit batches as the storage link cuts them: five reader batches of every channel per
    commit (``regular``), or channels missing from some reader batches and in another order."""
    rng = np.random.default_rng(3)
    batches = []
    for number in range(1, 4):
        batch = CommitBatch(number)
        batch.items.append(("raw", number * 1000, f"line {number}\n".encode()))
        for reader in range(5):
            t = ((number * 5 + reader) * 30 + np.arange(30)) / 1000.0
            names = CHANNELS if regular or reader % 2 else CHANNELS[::-1][:2]
            for name in names:
                v = rng.standard_normal(t.size)
                if name == "iddq" and number == 2:
                    v[:] = np.nan  # a chunk of NaN only: NULL min/max
                if name == "temp_die":
                    v[::7] = np.nan
                batch.items.append(("samples", name, "mA" if name == "iddq" else "V", t, v))
                batch.samples += t.size
            batch.items.append(
                ("event", number * 1000 + reader, "console", f"reader batch {reader}")
            )
        batch.counters = {"malformed_count": number, "console_count": 5 * number}
        batches.append(batch)
    return batches


def _stored(db, run_id: int):
    ch, c, o = m.Channel.__table__.c, m.TelemetryChunk.__table__.c, m.TelemetryOverview.__table__.c
    with db.engine.connect() as conn:
        channels = conn.execute(
            select(ch.name, ch.unit, ch.position).where(ch.run_id == run_id).order_by(ch.position)
        ).all()
        chunks = conn.execute(
            select(ch.name, c.seq, c.count, c.t_first, c.t_last, c.v_min, c.v_max, c.t, c.v)
            .join(m.Channel.__table__, ch.id == c.channel_id)
            .where(ch.run_id == run_id)
            .order_by(ch.name, c.seq)
        ).all()
        overview = conn.execute(
            select(o.seq_first, o.seq_last, o.count).where(o.run_id == run_id)
        ).all()
        raw = conn.execute(
            select(m.RawChunk.seq, m.RawChunk.received_ns, m.RawChunk.data)
            .where(m.RawChunk.run_id == run_id)
            .order_by(m.RawChunk.seq)
        ).all()
        events = conn.execute(
            select(m.RunEvent.at_ns, m.RunEvent.kind, m.RunEvent.detail)
            .where(m.RunEvent.run_id == run_id)
            .order_by(m.RunEvent.id)
        ).all()
        run = conn.execute(
            select(m.Run.sample_count, m.Run.malformed_count, m.Run.console_count).where(
                m.Run.id == run_id
            )
        ).one()
    return channels, chunks, overview, raw, events, tuple(run)


@pytest.mark.parametrize(
    "regular", [True, False], ids=["every-channel-every-batch", "channels-missing"]
)
def test_commit_batches_store_what_item_by_item_appends_store(db, regular):
    dut = inventory_store.add_dut(db, "chip", "AB-1").id
    grouped_run, single_run = run_store.start_run(db, dut).id, run_store.start_run(db, dut).id
    batches = _batches(regular)

    grouped = TelemetryWriter(db, grouped_run)
    for batch in batches:
        grouped.append_batches([batch])
        grouped.commit(**batch.counters)
    grouped.close()
    single = TelemetryWriter(db, single_run)
    for batch in batches:
        for item in batch.items:
            if item[0] == "samples":
                single.append(item[1], item[3], item[4], unit=item[2])
            elif item[0] == "raw":
                single.append_raw(item[1], item[2])
            else:
                single.append_event(item[1], item[2], item[3])
        single.commit(**batch.counters)
    single.close()

    got, want = _stored(db, grouped_run), _stored(db, single_run)
    assert got == want
    channels, chunks, _, raw, events, run = got
    assert [name for name, _, _ in channels] == (
        list(CHANNELS) if regular else [CHANNELS[2], CHANNELS[1], CHANNELS[0]]
    )
    assert len(chunks) == 3 * len(CHANNELS) and len(raw) == 3 and len(events) == 15
    assert run == (sum(b.samples for b in batches), 3, 15)
    nan_chunk = next(row for row in chunks if row.name == "iddq" and row.seq == 1)
    assert nan_chunk.v_min is None and nan_chunk.v_max is None


def test_a_catch_up_group_is_one_chunk_per_channel(db):
    run_id = run_store.start_run(db, inventory_store.add_dut(db, "chip", "AB-2").id).id
    batches = _batches(True)
    writer = TelemetryWriter(db, run_id)
    writer.append_batches(batches)
    writer.commit(**batches[-1].counters)
    writer.close()
    _, chunks, _, raw, _, run = _stored(db, run_id)
    assert [(row.name, row.seq, row.count) for row in chunks if row.name == "vdd_core"] == [
        ("vdd_core", 0, 450)
    ]
    t = np.frombuffer(chunks[-1][7], "<f8")
    assert (t[0], t[-1], chunks[-1].t_first, chunks[-1].t_last) == (0.15, 0.599, 0.15, 0.599)
    assert [r.seq for r in raw] == [0, 1, 2]
    assert run == (sum(b.samples for b in batches), 3, 15)


def test_a_channel_whose_times_and_values_differ_queues_nothing(db):
    run_id = run_store.start_run(db, inventory_store.add_dut(db, "chip", "AB-3").id).id
    batch = CommitBatch(1)
    batch.items += [
        ("raw", 1, b"x"),
        ("samples", "vdd", "V", np.arange(3.0), np.arange(3.0)),
        ("samples", "bad", "V", np.arange(3.0), np.arange(2.0)),
    ]
    writer = TelemetryWriter(db, run_id)
    with pytest.raises(ValueError, match="channel 'bad': 3 times but 2 values"):
        writer.append_batches([batch])
    assert writer.pending_samples == 0
    writer.commit()
    writer.close()
    channels, chunks, _, raw, _, _ = _stored(db, run_id)
    assert (channels, chunks, raw) == ([], [], [])


def test_a_failed_sqlite_commit_is_rolled_back_and_raised_as_a_database_fault(db):
    run_id = run_store.start_run(db, inventory_store.add_dut(db, "chip", "AB-4").id).id
    first, second = TelemetryWriter(db, run_id), TelemetryWriter(db, run_id)
    first.ensure_channel("vdd", "V")
    first.commit()
    second.ensure_channel("vdd", "V")  # knows the channel, and that its next chunk is seq 0
    first.append("vdd", np.arange(3.0), np.ones(3))
    first.commit()

    # The second writer's chunk collides with the first's (same channel, same seq).
    second.append_raw(5, b"lost with its transaction")
    second.append_event(5, "console", "lost too")
    second.append("vdd", np.arange(3.0, 6.0), np.ones(3))
    with pytest.raises(DatabaseFault) as caught:
        second.commit(malformed_count=7)
    assert isinstance(caught.value, sa_exc.IntegrityError)
    second.abandon()

    _, chunks, _, raw, events, run = _stored(db, run_id)
    assert [(row.seq, row.t_first) for row in chunks] == [(0, 0.0)]
    assert (raw, events, run) == ([], [], (3, 0, 0))
    first.append("vdd", np.arange(3.0, 6.0), np.ones(3))  # the database takes the next commit
    first.commit()
    first.close()
    assert _stored(db, run_id)[5][0] == 6
