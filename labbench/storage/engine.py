"""Opening a labbench database: URL handling, SQLite settings, migrations at open.

``open_database()`` is the only way the app gets an engine.  It accepts a filesystem path
or any SQLAlchemy URL, refuses a database written by a newer labbench (untouched), brings
an older one up to date, and on SQLite applies the settings of docs/architecture.md §2.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.exc import DatabaseError as DBAPIError
from sqlalchemy.pool import NullPool

from labbench import paths

log = logging.getLogger(__name__)

DB_ENV_VAR = "LABBENCH_DB"
DEFAULT_DB_NAME = "labbench.sqlite3"
# How long a SQLite connection waits for another process's write lock before failing.
# A run commits at most every 250 ms, so 30 s only ever elapses when something is stuck.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Serialises concurrent upgrades of one PostgreSQL database by several stations.
_PG_MIGRATION_LOCK_KEY = 0x6C6162_62656E  # "lab" "ben"


class DatabaseError(Exception):
    """A database that labbench cannot use; the message is one sentence for the user."""


class DatabaseTooNew(DatabaseError):
    pass


# Any failure the database layer raises (a lost connection, a lock, a refused statement):
# callers outside storage catch this name instead of importing SQLAlchemy themselves.
DatabaseFault = sa_exc.SQLAlchemyError


class StorageError(Exception):
    """The database failed during a run (unavailable, full, refused the data): one sentence."""


@dataclass(frozen=True)
class Database:
    """An open labbench database: the engine and the URL it was opened with."""

    engine: Engine
    url: URL
    # A SQLite file labbench may read but not write: it serves reading commands only.
    read_only: str | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def describe(self) -> str:
        """The URL as a user may see it (password hidden)."""
        if self.is_sqlite:
            return self.url.database or ":memory:"
        return self.url.render_as_string(hide_password=True)

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at (None: not a labbench database yet)."""
        return current_revision(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def default_database_path() -> Path:
    return paths.user_data_dir() / DEFAULT_DB_NAME


def resolve_url(target: str | os.PathLike[str] | None = None) -> URL:
    """Turn ``--db`` / ``LABBENCH_DB`` / the default into a SQLAlchemy URL.

    A string with ``://`` is a URL; anything else is a path to a SQLite file.
    """
    if target is None or str(target) == "":
        target = os.environ.get(DB_ENV_VAR) or default_database_path()
    text_target = os.fspath(target)
    if "://" in text_target:
        try:
            url = make_url(text_target)
            url.port  # noqa: B018 - a port that is not a number fails here, not at connect
        except (ArgumentError, ValueError) as exc:
            raise DatabaseError(
                f"The database URL {_hide_password(text_target)!r} is not a valid SQLAlchemy URL "
                f"({exc})."
            ) from None
        backend = url.get_backend_name()
        if backend == "postgresql" and url.get_driver_name() in ("psycopg2", "postgresql", ""):
            # psycopg 3 is what the postgresql extra installs.
            url = url.set(drivername="postgresql+psycopg")
        if backend not in ("sqlite", "postgresql"):
            raise DatabaseError(
                f"The database URL {url.render_as_string(hide_password=True)!r} uses {backend!r}; "
                "labbench supports sqlite and postgresql."
            )
        if backend == "sqlite" and url.database in (None, "", ":memory:"):
            raise DatabaseError(
                f"The database URL {text_target!r} names no SQLite file (an in-memory database "
                "would lose every run); give a path, e.g. sqlite:////home/lab/labbench.sqlite3."
            )
        return url
    path = Path(text_target).expanduser()
    if path.is_dir():
        raise DatabaseError(f"The database path {path} is a directory, not a SQLite file.")
    if not path.parent.exists():
        raise DatabaseError(f"The folder of the database path {path} does not exist.")
    return URL.create("sqlite+pysqlite", database=str(path.resolve()))


def _hide_password(text_url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", text_url)


def sqlite_busy_timeout_ms() -> int:
    """SQLITE_BUSY_TIMEOUT_MS, or LABBENCH_SQLITE_BUSY_TIMEOUT_S when set."""
    value = os.environ.get("LABBENCH_SQLITE_BUSY_TIMEOUT_S")
    return int(float(value) * 1000) if value else SQLITE_BUSY_TIMEOUT_MS


def _sqlite_settings(engine: Engine) -> None:
    """Per-connection SQLite settings, and transactions under SQLAlchemy's control.

    Python's sqlite3 module opens transactions on its own (and not before DDL); switching
    that off and emitting BEGIN ourselves makes migrations atomic and lets the telemetry
    writer take the write lock up front (``BEGIN IMMEDIATE``) instead of failing with
    SQLITE_BUSY when a deferred transaction tries to upgrade.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # FULL costs nothing here: a run commits at most every 250 ms.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={sqlite_busy_timeout_ms()}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: URL) -> Engine:
    """An engine with labbench's settings; does not touch the database yet."""
    try:
        if url.get_backend_name() == "sqlite":
            # NullPool: each thread opens its own connection (threads never share one),
            # and a dead connection never lingers in a pool after a fork or a crash.
            engine = create_engine(url, poolclass=NullPool)
            _sqlite_settings(engine)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (NoSuchModuleError, ImportError) as exc:
        raise DatabaseError(
            f"The database URL {url.render_as_string(hide_password=True)!r} needs a driver that is "
            f"not installed ({exc})."
        ) from None
    return engine


# Alembic is imported only when a database needs upgrading (or a developer asks): importing
# it costs about 0.3 s, a third of the app's launch budget (benchmarks/launch.py).
_REVISION_RE = re.compile(r"^revision(?::\s*str)?\s*=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN_RE = re.compile(r"^down_revision(?::[^=]+)?\s*=\s*(None|['\"]([^'\"]+)['\"])", re.M)


def known_revisions() -> dict[str, str | None]:
    """revision -> down_revision of every migration shipped, read from the files' headers."""
    out: dict[str, str | None] = {}
    for path in sorted((paths.migrations_dir() / "versions").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION_RE.search(source), _DOWN_RE.search(source)
        if revision and down:
            out[revision.group(1)] = down.group(2)
    return out


def alembic_config(connection=None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(paths.migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    revisions = known_revisions()
    heads = sorted(set(revisions) - set(revisions.values()))
    assert len(heads) == 1, f"the migrations have several heads: {heads}"
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _check_not_newer(engine: Engine, url: URL) -> str | None:
    """The database's revision; refuses one this labbench does not know."""
    revision = current_revision(engine)
    if revision is None:
        return None
    if revision not in known_revisions():
        raise DatabaseTooNew(
            f"The database {_describe(url)} is at schema revision {revision!r}, which this "
            f"labbench ({_version()}) does not know: it was written by a newer labbench, so "
            "upgrade labbench before opening it."
        )
    return revision


def _describe(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)


def _version() -> str:
    from labbench import __version__

    return __version__


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision in one transaction (locked against others)."""
    from alembic import command

    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            # A migration that changes a constraint copies the table and drops the old one
            # (Alembic's batch mode). With foreign keys on, SQLite checks every dropped row
            # against the tables that refer to it: criterion_results against violations,
            # whose reference has no index, took over 15 min for 2 M results. Off for the
            # migration (only possible outside a transaction), checked before the commit.
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK_KEY}
                    )
                command.upgrade(alembic_config(conn), "head")
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(
                            f"the migration left {len(broken)} rows referring to missing ones "
                            f"(first: table {broken[0][0]}, row {broken[0][1]})"
                        )
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def open_database(
    target: str | os.PathLike[str] | None = None, *, migrate: bool = True
) -> Database:
    """Open (and by default upgrade) the labbench database at ``target``.

    Raises :class:`DatabaseError` with a one-sentence message for anything the user must fix.
    """
    url = resolve_url(target)
    read_only = _sqlite_read_only(url)
    engine = make_engine(_read_only_url(url, read_only) if read_only else url)
    try:
        try:
            revision = _check_not_newer(engine, url)
            if url.get_backend_name() == "sqlite" and not read_only:
                _enable_wal(engine, url)
            if migrate and revision != head_revision():
                if read_only:
                    raise DatabaseError(
                        f"The database {_describe(url)} is read-only and needs an upgrade this "
                        f"labbench cannot write."
                    )
                upgrade(
                    engine
                )  # (running Alembic for an up-to-date database costs 0.1 s at every start)
        except DBAPIError as exc:
            raise DatabaseError(
                f"Could not open the database {_describe(url)}: {_first_line(exc)}."
            ) from None
    except BaseException:
        engine.dispose()
        raise
    return Database(engine=engine, url=url, read_only=read_only)


def _sqlite_read_only(url: URL) -> str | None:
    """For a SQLite file labbench cannot write: "file" (the file is read-only) or "folder"
    (its folder or file system is read-only: no journal files can be made beside it)."""
    if url.get_backend_name() != "sqlite" or not url.database or not os.path.exists(url.database):
        return None
    if not os.access(os.path.dirname(url.database), os.W_OK):
        return "folder"
    if not os.access(url.database, os.W_OK):
        return "file"
    return None


def _read_only_url(url: URL, why: str) -> URL:
    # A WAL database on read-only media opens only as immutable (nothing else writes it there).
    extra = "&immutable=1" if why == "folder" else ""
    return URL.create(
        "sqlite+pysqlite", database=f"file:{url.database}?mode=ro{extra}", query={"uri": "true"}
    )


def _enable_wal(engine: Engine, url: URL) -> None:
    """Persistent WAL mode: readers never block the writer, a crash cannot tear a commit.

    Done on the raw DB-API connection because it must run outside a transaction.
    """
    raw = engine.raw_connection()
    try:
        mode = raw.driver_connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    finally:
        raw.close()
    if str(mode).lower() != "wal" and url.database not in (None, "", ":memory:"):
        log.warning("SQLite database %s is not in WAL mode (%s)", url.database, mode)


def probe_writable(db: Database, timeout_s: float = 1.0) -> str | None:
    """None if the database takes a write transaction within ``timeout_s``, else why not.

    For giving up quickly: a normal connection waits 30 s for a SQLite lock, and forever for
    a PostgreSQL server that is frozen."""
    try:
        if db.is_sqlite:
            import sqlite3

            conn = sqlite3.connect(db.url.database, timeout=timeout_s, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
            finally:
                conn.close()
        else:
            import psycopg

            url = db.url
            with psycopg.connect(
                host=url.host,
                port=url.port or 5432,
                user=url.username,
                password=url.password,
                dbname=url.database,
                connect_timeout=max(int(timeout_s), 1),
            ) as conn:
                conn.execute("SELECT 1")
    except Exception as exc:
        return _first_line(exc)
    return None


def first_line(exc: BaseException) -> str:
    """The first line of a database error, without SQLAlchemy's background notes."""
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (
        str(orig).strip().splitlines()[0].rstrip(".") if str(orig).strip() else type(orig).__name__
    )
