"""Telemetry chunks: the writer that appends numpy batches (readers: ``telemetry_read``).

One row per (run, channel, chunk): float64 little-endian times (seconds since the run's
``t0_ns``) and values, with count, first/last time and min/max as columns
(docs/architecture.md); every 32 chunks of a channel also get an overview row
(``labbench.storage.chunks``), so a long run opens without reading its chunk rows.

A :class:`TelemetryWriter` belongs to one thread: it opens its own connection on first use
in that thread, and every :meth:`commit` makes everything appended so far durable.  The
acquisition's storage link commits a batch every 150 ms (:meth:`append_batches`), which
bounds what a crash can lose to 250 ms.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Connection, func, insert, select, update

from labbench.storage import models as m
from labbench.storage.chunks import (
    CHUNK_COLUMNS,
    OverviewBlock,
    chunk_values,
    chunk_values_many,
    execute_many,
    insert_chunks,
    insert_rows,
    sqlite_transaction,
)
from labbench.storage.engine import Database

log = logging.getLogger(__name__)

# Samples per chunk row.  64 k samples = 1 MiB of blobs: big enough that per-row overhead
# vanishes at 10 kHz x 16 channels, small enough that a zoomed view reads little extra.
MAX_CHUNK_SAMPLES = 65_536
_F8 = np.dtype("<f8")

_chunks = m.TelemetryChunk.__table__
_channels = m.Channel.__table__
_raw = m.RawChunk.__table__
_runs = m.Run.__table__
_events = m.RunEvent.__table__
_overview = m.TelemetryOverview.__table__


_RAW_COLUMNS = ("run_id", "seq", "received_ns", "data")
_EVENT_COLUMNS = ("run_id", "at_ns", "kind", "detail")

# Run events that come from the rig's own lines (``text``: a rig's text value such as
# Teleplot's ``>status:Running|t``); rebuilt when a run is re-parsed.
CONSOLE_EVENT_KINDS = ("console", "malformed", "result", "text")
# Events made by parsing the raw bytes: a re-parse removes and rebuilds them.
PARSED_EVENT_KINDS = (*CONSOLE_EVENT_KINDS, "channel_refused")


@dataclass
class _ChannelState:
    id: int
    seq: int
    t_parts: list
    v_parts: list
    pending: int = 0
    block: OverviewBlock = field(default_factory=OverviewBlock)


def chunk_row(run_id: int, channel_id: int, seq: int, t: np.ndarray, v: np.ndarray) -> dict:
    """The column values of one chunk row by name (shared with the benchmarks' raw baselines)."""
    return dict(zip(CHUNK_COLUMNS, chunk_values(run_id, channel_id, seq, t, v), strict=True))


class TelemetryWriter:
    """Appends one run's samples and raw bytes; never drops anything it was given."""

    def __init__(self, db: Database, run_id: int, *, max_chunk_samples: int = MAX_CHUNK_SAMPLES):
        self._db = db
        self.run_id = run_id
        self._max_chunk = max_chunk_samples
        self._conn: Connection | None = None
        self._channels: dict[str, _ChannelState] = {}
        self._raw_pending: list[dict] = []
        self._events_pending: list[dict] = []
        self._raw_seq = 0
        self.samples_written = 0
        self.chunks_written = 0

    # The connection is opened lazily so that it belongs to the thread that writes.
    def _connection(self) -> Connection:
        if self._conn is None:
            conn = self._db.engine.connect()
            if conn.dialect.name == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            self._conn = conn
            self._load_existing()
        return self._conn

    def _load_existing(self) -> None:
        conn = self._conn
        assert conn is not None
        rows = conn.execute(
            select(_channels.c.id, _channels.c.name, func.max(_chunks.c.seq))
            .select_from(_channels.outerjoin(_chunks, _chunks.c.channel_id == _channels.c.id))
            .where(_channels.c.run_id == self.run_id)
            .group_by(_channels.c.id, _channels.c.name)
        ).all()
        for channel_id, name, max_seq in rows:
            self._channels[name] = _ChannelState(
                channel_id, (max_seq + 1) if max_seq is not None else 0, [], []
            )
        raw_max = conn.execute(
            select(func.max(_raw.c.seq)).where(_raw.c.run_id == self.run_id)
        ).scalar()
        self._raw_seq = raw_max + 1 if raw_max is not None else 0
        conn.commit()

    def ensure_channel(self, name: str, unit: str = "") -> int:
        """The channel's id, creating its row (committed with the next commit) if new."""
        conn = self._connection()  # first: a run that already has channels loads them here
        state = self._channels.get(name)
        if state is None:
            channel_id = conn.execute(
                insert(_channels).values(
                    run_id=self.run_id, name=name, unit=unit, position=len(self._channels)
                )
            ).inserted_primary_key[0]
            state = self._channels[name] = _ChannelState(channel_id, 0, [], [])
        return state.id

    def append(self, channel: str, t: np.ndarray, v: np.ndarray, unit: str = "") -> None:
        """Queue samples of one channel (times in seconds since the run's t0)."""
        # A commit batch's items go through append_batches; this is for one channel at a time.
        n = len(t)
        if n != len(v):
            raise ValueError(f"channel {channel!r}: {n} times but {len(v)} values")
        if n == 0:
            return
        state = self._channels.get(channel)
        if state is None:
            self.ensure_channel(channel, unit)
            state = self._channels[channel]
        state.t_parts.append(np.asarray(t, dtype=_F8))
        state.v_parts.append(np.asarray(v, dtype=_F8))
        state.pending += n

    def append_batches(self, batches) -> None:
        """Queue the items of the storage link's commit batches (``CommitBatch.items``:
        ``("samples", channel, unit, t, v)``, ``("raw", received_ns, data)``,
        ``("event", at_ns, kind, detail)``), in order; the caller commits them.

        A commit batch holds every channel once per reader batch, so the samples are grouped
        by channel here in one pass and each channel's parts are joined when the rows are
        built.  Nothing is queued when a channel's times and values differ in length.
        """
        self._connection()  # knows the run's channels (and raw numbering) before anything is queued
        items = [item for batch in batches for item in batch.items]
        samples = [item for item in items if item[0] == "samples"]
        raw_items, event_items = [], []
        if len(samples) < len(items):
            raw_items = [item for item in items if item[0] == "raw"]
            event_items = [item for item in items if item[0] == "event"]
        groups = _group_by_channel(samples)
        counts = []
        for name, (t_parts, v_parts, _) in groups.items():
            n = sum(map(len, t_parts))
            if n != sum(map(len, v_parts)):
                raise ValueError(f"channel {name!r}: {n} times but {sum(map(len, v_parts))} values")
            counts.append(n)
        channels = self._channels
        for (name, (t_parts, v_parts, unit)), n in zip(groups.items(), counts, strict=True):
            if n == 0:
                continue
            state = channels.get(name)
            if state is None:
                self.ensure_channel(name, unit)
                state = channels[name]
            state.t_parts += t_parts
            state.v_parts += v_parts
            state.pending += n
        for _, received_ns, data in raw_items:
            self.append_raw(received_ns, data)
        run_id = self.run_id
        self._events_pending += [
            (run_id, at_ns, kind, detail) for _, at_ns, kind, detail in event_items
        ]

    def append_raw(self, received_ns: int, data: bytes) -> None:
        """One read's bytes; empty ``data`` records when a read that brought nothing returned
        (the start of the interval the next read's lines are timed over)."""
        self._connection()  # numbering continues after what the run already holds
        self._raw_pending.append((self.run_id, self._raw_seq, received_ns, bytes(data)))
        self._raw_seq += 1

    def append_event(self, at_ns: int, kind: str, detail: str = "") -> None:
        """A run event (console line, disconnect, command sent, ...), written with the data."""
        self._events_pending.append((self.run_id, at_ns, kind, detail))

    @property
    def pending_samples(self) -> int:
        return sum(state.pending for state in self._channels.values())

    def commit(self, **run_counters: int) -> int:
        """Write everything queued and commit; returns the samples written.

        ``run_counters`` (e.g. ``malformed_count``) are stored on the run in the same
        transaction, so the run's counters always match its committed data.
        """
        conn = self._connection()
        if conn.dialect.name == "sqlite" and not conn.in_transaction():
            with sqlite_transaction(conn):
                return self.flush(**run_counters)
        samples = self.flush(**run_counters)
        conn.commit()
        return samples

    def flush(self, **run_counters: int) -> int:
        """Write everything queued inside the open transaction, without committing."""
        conn = self._connection()
        pending = [state for state in self._channels.values() if state.pending]
        rows, owners = self._chunk_rows(pending)
        overview_rows = []
        for state, row in zip(owners, rows, strict=True):
            summary = state.block.add(row)
            if summary is not None:
                overview_rows.append(summary)
        samples = sum(state.pending for state in pending)
        for state in pending:
            state.t_parts.clear()
            state.v_parts.clear()
            state.pending = 0
        insert_chunks(conn, rows, overview_rows)
        if self._raw_pending:
            insert_rows(conn, _raw.name, _RAW_COLUMNS, self._raw_pending)
            self._raw_pending = []
        if self._events_pending:
            insert_rows(conn, _events.name, _EVENT_COLUMNS, self._events_pending)
            self._events_pending = []
        if samples or run_counters:
            _update_run_counters(conn, self.run_id, samples, run_counters)
        self.samples_written += samples
        self.chunks_written += len(rows)
        return samples

    def _chunk_rows(self, pending: list[_ChannelState]) -> tuple[list[tuple], list[_ChannelState]]:
        """The chunk rows of the channels' queued samples, and the channel of each row."""
        run_id, step = self.run_id, self._max_chunk
        n = pending[0].pending if pending else 0
        if len(pending) > 1 and n <= step and all(state.pending == n for state in pending):
            # The usual commit: every channel has as many new samples as the others (one per
            # line), so their chunks are built as one block.
            parts = [part for state in pending for part in state.t_parts]
            parts += [part for state in pending for part in state.v_parts]
            t, v = np.concatenate(parts, dtype=_F8).reshape(2, len(pending), n)
            rows = chunk_values_many(run_id, [(state.id, state.seq) for state in pending], t, v)
            for state in pending:
                state.seq += 1
            return rows, pending
        rows, owners = [], []
        for state in pending:
            t = (
                np.concatenate(state.t_parts, dtype=_F8)
                if len(state.t_parts) > 1
                else np.asarray(state.t_parts[0], _F8)
            )
            v = (
                np.concatenate(state.v_parts, dtype=_F8)
                if len(state.v_parts) > 1
                else np.asarray(state.v_parts[0], _F8)
            )
            for start in range(0, t.size, step):
                rows.append(
                    chunk_values(
                        run_id,
                        state.id,
                        state.seq,
                        t[start : start + step],
                        v[start : start + step],
                    )
                )
                owners.append(state)
                state.seq += 1
        return rows, owners

    def delete_telemetry(self) -> None:
        """Remove the run's channels, chunks, console lines and channel refusals (inside the open
        transaction; for rebuilding a run from its raw bytes).  Raw bytes and other events
        stay."""
        conn = self._connection()
        conn.execute(_overview.delete().where(_overview.c.run_id == self.run_id))
        conn.execute(_chunks.delete().where(_chunks.c.run_id == self.run_id))
        conn.execute(
            _events.delete().where(
                _events.c.run_id == self.run_id, _events.c.kind.in_(PARSED_EVENT_KINDS)
            )
        )
        conn.execute(_channels.delete().where(_channels.c.run_id == self.run_id))
        conn.execute(
            update(_runs)
            .where(_runs.c.id == self.run_id)
            .values(sample_count=0, malformed_count=0, console_count=0)
        )
        self._channels.clear()

    def record_reparse(
        self, *, user: str, old_profile: str, new_profile: str, reason: str = ""
    ) -> None:
        """Audit a rebuild and switch the run's profile, in the transaction of the rebuilt data."""
        conn = self._connection()
        conn.execute(
            insert(m.AuditEntry.__table__).values(
                at=dt.datetime.now(dt.UTC),
                user=user,
                entity="run",
                entity_id=self.run_id,
                action="reparse",
                field="profile",
                old_value=old_profile,
                new_value=new_profile,
                reason=reason or f"telemetry rebuilt from raw bytes with profile {new_profile}",
            )
        )
        conn.execute(update(_runs).where(_runs.c.id == self.run_id).values(profile=new_profile))

    def connection(self) -> Connection:
        """This writer's connection, for statements that must commit with its data."""
        return self._connection()

    def abandon(self) -> None:
        """Release the connection without committing: the open transaction is rolled back
        (after a failure, or to give up a rebuild)."""
        conn, self._conn = self._conn, None
        self._channels.clear()
        self._raw_pending, self._events_pending = [], []
        if conn is None:
            return
        try:
            conn.invalidate() if conn.dialect.name == "postgresql" else conn.close()
        except Exception as exc:  # the connection is already gone: nothing left to roll back
            log.debug("releasing a failed connection: %s", exc)

    def close(self) -> None:
        """Commit what is queued and release the connection."""
        if self._conn is None:
            return
        try:
            self.commit()
        finally:
            self._conn.close()
            self._conn = None


def _group_by_channel(samples: list[tuple]) -> dict[str, tuple[list, list, str]]:
    """channel -> (its time arrays, its value arrays, the unit its first item names), in
    order of first appearance.  Usually every reader batch names the same channels in the
    same order, and the arrays are picked by slicing instead of item by item."""
    names = [item[1] for item in samples]
    order = list(dict.fromkeys(names))
    k = len(order)
    if k and names == order * (len(names) // k):
        t_all = [item[3] for item in samples]
        v_all = [item[4] for item in samples]
        return {name: (t_all[c::k], v_all[c::k], samples[c][2]) for c, name in enumerate(order)}
    groups: dict[str, tuple[list, list, str]] = {}
    for _, name, unit, t, v in samples:
        group = groups.get(name)
        if group is None:
            group = groups[name] = ([], [], unit)
        group[0].append(t)
        group[1].append(v)
    return groups


_COUNTER_SQL: dict[tuple[str, tuple[str, ...]], str] = {}


def _update_run_counters(
    conn: Connection, run_id: int, added_samples: int, counters: dict[str, int]
) -> None:
    """Add to the run's sample count and set its other counters (one prepared statement per
    set of counter names: this runs at every commit)."""
    names = tuple(sorted(counters))
    key = (conn.dialect.paramstyle, names)
    sql = _COUNTER_SQL.get(key)
    if sql is None:
        unknown = [name for name in names if name not in _runs.c or name == "sample_count"]
        if unknown:
            raise ValueError(f"not a run counter: {', '.join(unknown)}")
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sets = ", ".join(
            [f"sample_count = sample_count + {mark}"] + [f"{name} = {mark}" for name in names]
        )
        sql = _COUNTER_SQL[key] = f"UPDATE runs SET {sets} WHERE id = {mark}"
    execute_many(conn, sql, [(added_samples, *(int(counters[name]) for name in names), run_id)])
