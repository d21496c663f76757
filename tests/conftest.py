"""Shared fixtures: isolated user directories, and databases on SQLite and PostgreSQL.

PostgreSQL tests need a server: ``LABBENCH_TEST_PG_URL`` names an account that may create
databases (``.ci/run`` starts one and sets it).  Without it they skip, unless
``LABBENCH_REQUIRE_PG=1`` (set by CI), where a missing server is a failure.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

# Before anything can import Qt: tests never need a display.
os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest

PG_URL_ENV = "LABBENCH_TEST_PG_URL"
PG_REQUIRED_ENV = "LABBENCH_REQUIRE_PG"


USER_DIRS = (
    ("XDG_DATA_HOME", "data"),
    ("XDG_CONFIG_HOME", "config"),
    ("XDG_STATE_HOME", "state"),
    ("XDG_CACHE_HOME", "cache"),
)


def user_dirs_env(home) -> dict[str, str]:
    """Environment variables that point every user directory into ``home`` (created)."""
    env = {"HOME": str(home)}
    for var, sub in USER_DIRS:
        (home / sub).mkdir(exist_ok=True)
        env[var] = str(home / sub)
    return env


@pytest.fixture(autouse=True)
def alone_when_marked(request):
    """The suite runs in two processes (pytest-xdist). A test marked ``alone`` bounds a
    real-time latency (the event loop never stalls 50 ms, kill -9 loses at most 250 ms, 20 k
    lines a second through a pty): it takes an exclusive lock that every other test holds
    shared, so it runs while the other process waits, as on a machine doing nothing else."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run is None:  # one process: nothing runs beside it
        yield
        return
    alone = request.node.get_closest_marker("alone") is not None
    with open(Path(tempfile.gettempdir()) / f"labbench-tests-{run}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Never read or write the developer's real settings, data or database."""
    home = tmp_path_factory.mktemp("home")
    for var, value in user_dirs_env(home).items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("LABBENCH_DB", raising=False)
    return home


def _pg_admin_url() -> str | None:
    return os.environ.get(PG_URL_ENV) or None


def _pg_unavailable(reason: str):
    if os.environ.get(PG_REQUIRED_ENV) == "1":
        pytest.fail(f"PostgreSQL tests are required here but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_admin():
    """A psycopg connection (autocommit) that can create and drop test databases."""
    url = _pg_admin_url()
    if url is None:
        _pg_unavailable(f"no PostgreSQL server configured (set {PG_URL_ENV})")
    try:
        import psycopg
        from sqlalchemy.engine import make_url
    except ImportError as exc:  # pragma: no cover - the test extra installs psycopg
        _pg_unavailable(f"psycopg is not installed ({exc})")
    sa_url = make_url(url)
    params = {
        "host": sa_url.host or "localhost",
        "port": sa_url.port or 5432,
        "user": sa_url.username,
        "password": sa_url.password,
        "dbname": sa_url.database or "postgres",
    }
    try:
        conn = psycopg.connect(autocommit=True, connect_timeout=5, **params)
    except Exception as exc:
        _pg_unavailable(
            f"the PostgreSQL server at {sa_url.host}:{sa_url.port} is not reachable ({exc})"
        )
    yield conn, sa_url
    conn.close()


@pytest.fixture
def pg_url(pg_admin):
    """The URL of a brand-new, empty PostgreSQL database, dropped after the test."""
    conn, sa_url = pg_admin
    name = f"labbench_test_{uuid.uuid4().hex[:12]}"
    conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield sa_url.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        _drop_database(conn, name)


def _drop_database(conn, name: str) -> None:
    """DROP … WITH (FORCE) may not terminate a server process of another role on the database:
    an autovacuum worker that started on the test's tables.  It ends within moments."""
    import psycopg

    for attempt in range(50):
        try:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.errors.InsufficientPrivilege:
            if attempt == 49:
                raise
            time.sleep(0.1)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """An empty database on each backend: a SQLite file path, or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "labbench.sqlite3")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def db(db_url):
    from labbench.storage import open_database

    database = open_database(db_url)
    yield database
    database.dispose()


class MockRigProcesses:
    """``labbench mock-rig`` processes on ptys, each behind a link in ``folder``; stop them all
    with :meth:`stop`."""

    def __init__(self, folder, env: dict[str, str] | None = None):
        self.folder, self.env = folder, env
        self.started: list[subprocess.Popen] = []

    def start(self, scenario: str = "nominal", rate: float = 100.0, seed: int = 0) -> str:
        link = self.folder / f"rig{len(self.started)}"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "labbench",
                "mock-rig",
                "--scenario",
                scenario,
                "--rate",
                str(rate),
                "--seed",
                str(seed),
                "--link",
                str(link),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )
        self.started.append(proc)
        first = proc.stdout.readline().strip()
        assert first == str(link), proc.stderr.read()
        return first

    def stop(self) -> None:
        for proc in self.started:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def mock_rig_process(tmp_path):
    """Start ``labbench mock-rig`` on a pty; yields a function(scenario, rate, seed) -> path."""
    rigs = MockRigProcesses(tmp_path)
    yield rigs.start
    rigs.stop()
