"""Every storage fault is one sentence: exit 3 for a run, 2 for a command that could not use
its database; never a traceback, never exit 1 (the code for a failed DUT)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from labbench.storage import inventory as inventory_store
from labbench.storage import open_database
from labbench.storage import runs as run_store
from tests.acquisition.test_storage_stalls import WriteLock


def _cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "labbench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def _record(
    db: str, *extra: str, env: dict | None = None, seconds: float = 0.5
) -> subprocess.CompletedProcess:
    return _cli(
        "record",
        "--device",
        "mock://nominal?rate=200",
        "--dut",
        "CHP-F",
        "--new-dut",
        "chip",
        "--duration",
        str(seconds),
        "--db",
        db,
        *extra,
        env=env,
    )


def _one_sentence(result: subprocess.CompletedProcess, expected_code: int, *words: str) -> str:
    assert result.returncode == expected_code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("labbench:")]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def recorded_db(tmp_path) -> Path:
    path = tmp_path / "lab" / "faults.sqlite3"
    path.parent.mkdir()
    assert _record(str(path)).returncode == 0
    return path


@pytest.fixture
def read_only(recorded_db):
    folder = recorded_db.parent
    subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
        yield recorded_db
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_read_only_database_refuses_runs_and_serves_reading(read_only, tmp_path):
    _one_sentence(_record(str(read_only)), 3, "read")
    plan = Path(__file__).parents[2] / "resources" / "plans" / "sled-power-on.toml"
    _one_sentence(
        _cli(
            "run",
            "--plan",
            str(plan),
            "--dut",
            "S-RO",
            "--new-dut",
            "sled",
            "--device",
            "mock://nominal",
            "--db",
            str(read_only),
        ),
        3,
        "read",
    )
    listed = _cli("runs", "--db", str(read_only))
    assert listed.returncode == 0 and "recorded" in listed.stdout, listed.stderr
    exported = _cli(
        "export",
        "1",
        "--report",
        str(tmp_path / "r.csv"),
        "--telemetry",
        str(tmp_path / "t.csv"),
        "--db",
        str(read_only),
    )
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "t.csv").stat().st_size > 0


def test_write_lock_held_at_start_is_one_sentence_after_the_busy_timeout(recorded_db):
    lock = WriteLock(recorded_db)
    try:
        env = dict(os.environ, LABBENCH_SQLITE_BUSY_TIMEOUT_S="1")
        _one_sentence(_record(str(recorded_db), env=env), 3, "database is locked")
    finally:
        lock.release()


def test_corrupt_pages_behind_a_valid_header(recorded_db):
    data = bytearray(recorded_db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for offset in range(page * 2, len(data), page):  # every page but the first two
        data[offset : offset + 64] = b"\xa5" * 64
    recorded_db.write_bytes(bytes(data))
    _one_sentence(_record(str(recorded_db)), 2, "malformed")
    _one_sentence(_cli("runs", "--db", str(recorded_db)), 2, "malformed")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://lab:secret@dbhost:notaport/lab",
        "postgresql://lab@[::1/lab",
        "postgresql://lab@[::1:5432/lab",
        "sqlite://",
    ],
)
def test_bad_database_urls(url):
    line = _one_sentence(_record(url), 2, "database URL")
    assert "secret" not in line
    _one_sentence(_cli("runs", "--db", url), 2, "database URL")


def test_ten_recorders_on_one_file_all_finish(tmp_path):
    # Finding 6: "database is locked" in finish_run in 2 of 10 trials.
    path = tmp_path / "shared.sqlite3"
    open_database(str(path)).dispose()
    db = open_database(str(path))
    inventory_store.add_dut(db, "chip", "CHP-F")
    db.dispose()
    # Ten recorders at once: every pair of them races for the write lock.
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "labbench",
                "record",
                "--device",
                "mock://nominal?rate=1000",
                "--dut",
                "CHP-F",
                "--duration",
                "0.6",
                "--db",
                str(path),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(10)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, out + err
    db = open_database(str(path))
    try:
        assert [r.status for r in run_store.list_runs(db)] == ["recorded"] * 10
    finally:
        db.dispose()
