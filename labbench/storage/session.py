"""What every storage room shares: the error a refused request raises, the session that
writes, the conversion of an ORM row into its record, and the clock stored moments come from.

Reads open a plain ``Session(db.engine)``; writes open :func:`write_session`, so on SQLite
they take the write lock when they begin. No room hands a session or an ORM object to its
caller (docs/architecture.md §2).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.orm import Session

from labbench.storage.engine import Database


class RecordError(Exception):
    """A request that the stored data refuses (duplicate serial, conflicting plan, ...)."""


def write_session(db: Database) -> Session:
    """A session for reading then writing.  On SQLite it takes the write lock when it begins
    (waiting out the busy timeout) instead of failing with "database is locked" when a read
    transaction overlapping another process's commit tries to write."""
    return Session(db.engine.execution_options(sqlite_begin="IMMEDIATE"))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def to_record(cls, row):
    """The record ``cls`` (a frozen dataclass of :mod:`labbench.records`) of an ORM row."""
    return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})
