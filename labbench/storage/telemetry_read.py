"""Telemetry chunks read back for views, analysis and export: a channel's samples (whole or
between two times, chunk by chunk), per-chunk summaries and the overview of a long run, and
the raw bytes a run received (docs/architecture.md §2)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, func, or_, select

from labbench.storage import models as m
from labbench.storage.engine import Database

_chunks = m.TelemetryChunk.__table__
_channels = m.Channel.__table__
_raw = m.RawChunk.__table__
_overview = m.TelemetryOverview.__table__
_F8 = np.dtype("<f8")


@dataclass(frozen=True)
class ChunkSummary:
    """Per-chunk statistics of one channel, for overviews without reading blobs."""

    t_first: np.ndarray
    t_last: np.ndarray
    v_min: np.ndarray
    v_max: np.ndarray
    count: np.ndarray


def _channel_id(conn: Connection, run_id: int, channel: str) -> int:
    channel_id = conn.execute(
        select(_channels.c.id).where(_channels.c.run_id == run_id, _channels.c.name == channel)
    ).scalar()
    if channel_id is None:
        raise KeyError(f"run {run_id} has no channel {channel!r}")
    return channel_id


def read_channel(
    db: Database,
    run_id: int,
    channel: str,
    t_start: float | None = None,
    t_end: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """All samples of a channel (optionally only chunks overlapping [t_start, t_end])."""
    t_parts, v_parts = [], []
    for t, v in iter_channel_chunks(db, run_id, channel, t_start, t_end):
        t_parts.append(t)
        v_parts.append(v)
    if not t_parts:
        return np.empty(0, _F8), np.empty(0, _F8)
    t, v = np.concatenate(t_parts), np.concatenate(v_parts)
    if t_start is not None or t_end is not None:
        keep = np.ones(t.size, bool)
        if t_start is not None:
            keep &= t >= t_start
        if t_end is not None:
            keep &= t <= t_end
        t, v = t[keep], v[keep]
    return t, v


def read_window(
    db: Database, run_id: int, channel: str, t_start: float, t_end: float
) -> tuple[np.ndarray, np.ndarray]:
    """A channel's samples in [t_start, t_end], for plotting a moment of a long run (a
    violation in the HTML report): the chunk holding ``t_start`` is found through the
    (run, channel, t_first) index and only the chunks from there to ``t_end`` are read,
    where :func:`read_channel` scans every chunk row of the channel to test its times (150 ms
    a call on a 1 h run at 1 kHz). It takes the chunks to be in time order, as the writer
    stores them; judging uses :func:`read_channel`, which does not rely on that."""
    c = _chunks.c
    with db.engine.connect() as conn:
        channel_id = _channel_id(conn, run_id, channel)
        mine = (c.run_id == run_id, c.channel_id == channel_id)
        holder = select(func.max(c.t_first)).where(*mine, c.t_first <= t_start).scalar_subquery()
        rows = conn.execute(
            select(c.t, c.v)
            .where(
                *mine,
                c.t_first >= func.coalesce(holder, t_start),
                c.t_first <= t_end,
                c.t_last >= t_start,
            )
            .order_by(c.t_first)
        ).all()
    if not rows:
        return np.empty(0, _F8), np.empty(0, _F8)
    t = np.concatenate([np.frombuffer(r[0], _F8) for r in rows])
    v = np.concatenate([np.frombuffer(r[1], _F8) for r in rows])
    keep = (t >= t_start) & (t <= t_end)
    return t[keep], v[keep]


def iter_channel_chunks(
    db: Database,
    run_id: int,
    channel: str,
    t_start: float | None = None,
    t_end: float | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """A channel's chunks in order, one at a time (memory stays at one chunk)."""
    with db.engine.connect() as conn:
        channel_id = _channel_id(conn, run_id, channel)
        query = (
            select(_chunks.c.t, _chunks.c.v)
            .where(_chunks.c.channel_id == channel_id)
            .order_by(_chunks.c.seq)
        )
        if t_start is not None:
            query = query.where(_chunks.c.t_last >= t_start)
        if t_end is not None:
            query = query.where(_chunks.c.t_first <= t_end)
        # Two chunks (2 MiB at most) fetched at a time: memory stays flat however long the run.
        result = conn.execution_options(yield_per=2).execute(query)
        for t_blob, v_blob in result:
            yield np.frombuffer(t_blob, _F8), np.frombuffer(v_blob, _F8)


def chunk_summary(db: Database, run_id: int, channel: str) -> ChunkSummary:
    """One entry per chunk row of the channel, in order."""
    with db.engine.connect() as conn:
        channel_id = _channel_id(conn, run_id, channel)
        rows = conn.execute(
            select(
                _chunks.c.t_first,
                _chunks.c.t_last,
                _chunks.c.v_min,
                _chunks.c.v_max,
                _chunks.c.count,
            )
            .where(_chunks.c.channel_id == channel_id)
            .order_by(_chunks.c.seq)
        ).all()
    return _summary(rows)


# Beyond this many stretches of chunks without overview rows (one per writer that stopped
# mid-block, e.g. a resumed run), reading every chunk row is simpler and as fast.
_MAX_OVERVIEW_GAPS = 64


def overview_summary(db: Database, run_id: int, channel: str) -> ChunkSummary:
    """The channel's whole-run summary for drawing an overview: overview rows where the writer
    made them (one per ``OVERVIEW_CHUNKS`` chunks), chunk rows for the chunks none covers.

    Same fields as :func:`chunk_summary`, in time order, and the counts add up to the
    channel's samples; with no overview rows (a short run, or one recorded before they
    existed) it is exactly :func:`chunk_summary`.
    """
    c, o = _chunks.c, _overview.c
    with db.engine.connect() as conn:
        channel_id = _channel_id(conn, run_id, channel)
        blocks = conn.execute(
            select(o.seq_first, o.seq_last, o.t_first, o.t_last, o.v_min, o.v_max, o.count)
            .where(o.channel_id == channel_id)
            .order_by(o.seq_first)
        ).all()
        uncovered, after = [], -1
        for block in blocks:
            if block.seq_first > after + 1:
                uncovered.append(c.seq.between(after + 1, block.seq_first - 1))
            after = max(after, block.seq_last)
        query = select(c.seq, c.t_first, c.t_last, c.v_min, c.v_max, c.count).where(
            c.channel_id == channel_id
        )
        if len(uncovered) > _MAX_OVERVIEW_GAPS:
            blocks = []
        elif blocks:
            query = query.where(or_(c.seq > after, *uncovered))
        chunks = conn.execute(query.order_by(c.seq)).all()
    if not blocks:
        return _summary([row[1:] for row in chunks])
    rows = sorted([(b[0], *b[2:]) for b in blocks] + [tuple(row) for row in chunks])
    return _summary([row[1:] for row in rows])


def _summary(rows) -> ChunkSummary:
    """rows of (t_first, t_last, v_min, v_max, count), NULL min/max as NaN."""
    if not rows:
        empty = np.empty(0, _F8)
        return ChunkSummary(empty, empty, empty, empty, np.empty(0, np.int64))
    cols = list(zip(*rows, strict=True))
    as_float = lambda col: np.array([np.nan if x is None else x for x in col], _F8)  # noqa: E731
    return ChunkSummary(
        as_float(cols[0]),
        as_float(cols[1]),
        as_float(cols[2]),
        as_float(cols[3]),
        np.array(cols[4], np.int64),
    )


def read_raw(db: Database, run_id: int) -> Iterator[tuple[int, bytes]]:
    """The run's raw rig bytes in arrival order, as (received_ns, data)."""
    with db.engine.connect() as conn:
        result = conn.execution_options(yield_per=256).execute(
            select(_raw.c.received_ns, _raw.c.data)
            .where(_raw.c.run_id == run_id)
            .order_by(_raw.c.seq)
        )
        for received_ns, data in result:
            yield received_ns, bytes(data)
