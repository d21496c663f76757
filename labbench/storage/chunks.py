"""Telemetry chunk rows and overview rows: encoding and the bulk inserts of one commit.

A run commits every 250 ms, so at 1 kHz each commit makes one 250-sample chunk per channel
and the cost per row, not per sample, decides the throughput.  Rows are built as tuples and
inserted with one driver-level ``executemany`` per commit (no per-row dicts, no statement
compilation), through SQLAlchemy so that errors stay SQLAlchemy's.

Small chunks also make long runs slow to open: 100 M samples at 1 kHz are 400,000 chunk
rows.  So every ``OVERVIEW_CHUNKS`` chunks of a channel the writer adds one overview row
(count, first/last time, min/max of those chunks) in the same transaction as the chunk that
completes it; an overview reads those, plus the few newest chunks no overview row covers yet.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import Connection

F8 = np.dtype("<f8")

CHUNK_COLUMNS = ("run_id", "channel_id", "seq", "count", "t_first", "t_last", "v_min", "v_max", "t", "v")

# Chunks per overview row: 8,000 samples at 1 kHz, so a 100 M-sample run at 16 channels has
# about 800 overview rows per channel, which is about what a screen's width can show.
OVERVIEW_CHUNKS = 32

OVERVIEW_COLUMNS = ("run_id", "channel_id", "seq_first", "seq_last", "count", "t_first", "t_last", "v_min", "v_max")

_INSERT_SQL: dict[tuple[str, str], str] = {}


def chunk_values(run_id: int, channel_id: int, seq: int, t: np.ndarray, v: np.ndarray) -> tuple:
    """The column values of one chunk row, in ``CHUNK_COLUMNS`` order.

    min/max ignore NaN; they are NULL when every value is NaN.
    """
    v_min = float(np.fmin.reduce(v))
    v_max = float(np.fmax.reduce(v))
    return (
        run_id,
        channel_id,
        seq,
        t.size,
        float(t[0]),
        float(t[-1]),
        None if v_min != v_min else v_min,
        None if v_max != v_max else v_max,
        t.astype(F8, copy=False).tobytes(),
        v.astype(F8, copy=False).tobytes(),
    )


def chunk_values_many(run_id: int, channels: list[tuple[int, int]], t: np.ndarray, v: np.ndarray) -> list[tuple]:
    """Rows of several channels' chunks of the same length at once: ``channels`` is
    (channel id, seq) per row of the 2-D arrays ``t`` and ``v``.

    At 1 kHz a commit holds 250 samples per channel; one min/max over the whole block
    instead of two small reductions per channel halves the cost of building the rows.
    """
    with np.errstate(invalid="ignore"):
        v_min = np.fmin.reduce(v, axis=1).tolist()
        v_max = np.fmax.reduce(v, axis=1).tolist()
    t_first, t_last = t[:, 0].tolist(), t[:, -1].tolist()
    count = t.shape[1]
    rows = []
    for i, (channel_id, seq) in enumerate(channels):
        lo, hi = v_min[i], v_max[i]
        rows.append((
            run_id, channel_id, seq, count, t_first[i], t_last[i],
            None if lo != lo else lo, None if hi != hi else hi, t[i].tobytes(), v[i].tobytes(),
        ))
    return rows


class OverviewBlock:
    """The chunks of one channel written since its last overview row."""

    __slots__ = ("chunks", "seq_first", "seq_last", "count", "t_first", "t_last", "v_min", "v_max")

    def __init__(self) -> None:
        self.chunks = 0

    def add(self, row: tuple) -> tuple | None:
        """Fold in a row made by :func:`chunk_values`; returns the overview row (in
        ``OVERVIEW_COLUMNS`` order) when the block is complete."""
        _, _, seq, count, t_first, t_last, v_min, v_max, _, _ = row
        if self.chunks == 0:
            self.seq_first, self.count, self.t_first, self.v_min, self.v_max = seq, count, t_first, v_min, v_max
        else:
            self.count += count
            if v_min is not None:
                self.v_min = v_min if self.v_min is None or v_min < self.v_min else self.v_min
                self.v_max = v_max if self.v_max is None or v_max > self.v_max else self.v_max
        self.seq_last, self.t_last = seq, t_last
        self.chunks += 1
        if self.chunks < OVERVIEW_CHUNKS:
            return None
        self.chunks = 0
        return (row[0], row[1], self.seq_first, self.seq_last, self.count, self.t_first, self.t_last, self.v_min, self.v_max)


def _insert(conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    if not rows:
        return
    paramstyle = conn.dialect.paramstyle
    sql = _INSERT_SQL.get((paramstyle, table))
    if sql is None:
        mark = "?" if paramstyle == "qmark" else "%s"
        sql = _INSERT_SQL[paramstyle, table] = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
        )
    conn.exec_driver_sql(sql, rows)


def insert_chunks(conn: Connection, rows: list[tuple], overview_rows: list[tuple] = ()) -> None:
    """Insert rows made by :func:`chunk_values` and :meth:`OverviewBlock.add` inside the
    connection's transaction."""
    _insert(conn, "telemetry_chunks", CHUNK_COLUMNS, rows)
    _insert(conn, "telemetry_overview", OVERVIEW_COLUMNS, list(overview_rows))
