"""Telemetry chunk rows and overview rows: encoding and the bulk inserts of one commit.

A run commits every 150 ms, so at 1 kHz each commit makes one 150-sample chunk per channel
and the cost per row, not per sample, decides the throughput.  Rows are built as tuples and
inserted with one driver-level ``executemany`` per commit (no per-row dicts, no statement
compilation; on SQLite straight on the sqlite3 connection), with errors raised as SQLAlchemy's.

Small chunks also make long runs slow to open: 100 M samples at 1 kHz are 400,000 chunk
rows.  So every ``OVERVIEW_CHUNKS`` chunks of a channel the writer adds one overview row
(count, first/last time, min/max of those chunks) in the same transaction as the chunk that
completes it; an overview reads those, plus the few newest chunks no overview row covers yet.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import numpy as np
from sqlalchemy import Connection
from sqlalchemy import exc as sa_exc

log = logging.getLogger(__name__)

F8 = np.dtype("<f8")

CHUNK_COLUMNS = (
    "run_id",
    "channel_id",
    "seq",
    "count",
    "t_first",
    "t_last",
    "v_min",
    "v_max",
    "t",
    "v",
)

# Chunks per overview row: 4,800 samples at 1 kHz, so a 100 M-sample run at 16 channels has
# about 1,300 overview rows per channel, which is about what a screen's width can show.
OVERVIEW_CHUNKS = 32

OVERVIEW_COLUMNS = (
    "run_id",
    "channel_id",
    "seq_first",
    "seq_last",
    "count",
    "t_first",
    "t_last",
    "v_min",
    "v_max",
)

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


def chunk_values_many(
    run_id: int, channels: list[tuple[int, int]], t: np.ndarray, v: np.ndarray
) -> list[tuple]:
    """Rows of several channels' chunks of the same length at once: ``channels`` is
    (channel id, seq) per row of the 2-D C-contiguous float64 arrays ``t`` and ``v``.

    At 1 kHz a commit holds 150 samples per channel, so the cost is per row: one min/max
    over the whole block and one ``tobytes`` per array, sliced, instead of numpy calls per
    channel.  (``fmin``/``fmax`` skip NaN without a warning; an all-NaN row gives NaN.)
    """
    count = t.shape[1]
    v_min = np.fmin.reduce(v, axis=1).tolist()
    v_max = np.fmax.reduce(v, axis=1).tolist()
    t_first, t_last = t[:, 0].tolist(), t[:, -1].tolist()
    size = count * F8.itemsize
    t_bytes, v_bytes = t.tobytes(), v.tobytes()
    return [
        (
            run_id,
            channel_id,
            seq,
            count,
            t_first[i],
            t_last[i],
            None if v_min[i] != v_min[i] else v_min[i],
            None if v_max[i] != v_max[i] else v_max[i],
            t_bytes[i * size : (i + 1) * size],
            v_bytes[i * size : (i + 1) * size],
        )
        for i, (channel_id, seq) in enumerate(channels)
    ]


class OverviewBlock:
    """The chunks of one channel written since its last overview row."""

    __slots__ = ("chunks", "count", "seq_first", "seq_last", "t_first", "t_last", "v_max", "v_min")

    def __init__(self) -> None:
        self.chunks = 0

    def add(self, row: tuple) -> tuple | None:
        """Fold in a row made by :func:`chunk_values`; returns the overview row (in
        ``OVERVIEW_COLUMNS`` order) when the block is complete."""
        _, _, seq, count, t_first, t_last, v_min, v_max, _, _ = row
        if self.chunks == 0:
            self.seq_first, self.count, self.t_first, self.v_min, self.v_max = (
                seq,
                count,
                t_first,
                v_min,
                v_max,
            )
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
        return (
            row[0],
            row[1],
            self.seq_first,
            self.seq_last,
            self.count,
            self.t_first,
            self.t_last,
            self.v_min,
            self.v_max,
        )


def insert_rows(conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert tuples (values of ``columns`` in order) with one cached driver-level statement."""
    if not rows:
        return
    paramstyle = conn.dialect.paramstyle
    sql = _INSERT_SQL.get((paramstyle, table))
    if sql is None:
        mark = "?" if paramstyle == "qmark" else "%s"
        sql = _INSERT_SQL[paramstyle, table] = (
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join([mark] * len(columns))})"
        )
    execute_many(conn, sql, rows)


def execute_many(conn: Connection, sql: str, rows: list[tuple]) -> None:
    """Run a driver-level statement once per row inside the connection's transaction.

    On SQLite it goes straight to the sqlite3 connection: at 1 kHz a commit inserts 16 small
    rows, and SQLAlchemy's execution context per statement costs about as much as the
    inserts themselves.  The transaction is still begun through SQLAlchemy (so it knows about
    it and ``commit()`` commits it) unless the caller began one on the sqlite3 connection
    itself (:func:`sqlite_transaction`), and errors are raised as SQLAlchemy's, as with
    ``exec_driver_sql``.
    """
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql(sql, rows)
        return
    driver = conn.connection.driver_connection
    if not driver.in_transaction:
        conn.begin()
    try:
        driver.executemany(sql, rows)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _wrapped(conn, sql, exc) from exc


def _wrapped(conn: Connection, sql: str, exc: Exception) -> BaseException:
    return sa_exc.DBAPIError.instance(
        sql, None, exc, conn.dialect.loaded_dbapi.Error, hide_parameters=True, dialect=conn.dialect
    )


@contextlib.contextmanager
def sqlite_transaction(conn: Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` straight on a SQLite connection that SQLAlchemy has
    no transaction open on (rolled back if the body raises); statements inside go through
    :func:`execute_many`.  Saves SQLAlchemy's begin and commit, about a fifth of a 1 kHz
    commit; the write lock is taken up front, as the engine's ``sqlite_begin`` does."""
    driver = conn.connection.driver_connection
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        driver.execute("BEGIN IMMEDIATE")
    except dbapi_error as exc:
        raise _wrapped(conn, "BEGIN IMMEDIATE", exc) from exc
    try:
        yield
        driver.execute("COMMIT")
    except BaseException as exc:
        if driver.in_transaction:
            try:
                driver.execute("ROLLBACK")
            except dbapi_error as rollback_exc:  # the connection is gone: nothing to roll back
                log.debug("rollback after a failed commit: %s", rollback_exc)
        if isinstance(exc, dbapi_error):
            raise _wrapped(conn, "COMMIT", exc) from exc
        raise


def insert_chunks(conn: Connection, rows: list[tuple], overview_rows: list[tuple] = ()) -> None:
    """Insert rows made by :func:`chunk_values` and :meth:`OverviewBlock.add` inside the
    connection's transaction."""
    insert_rows(conn, "telemetry_chunks", CHUNK_COLUMNS, rows)
    insert_rows(conn, "telemetry_overview", OVERVIEW_COLUMNS, list(overview_rows))
