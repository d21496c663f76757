"""Re-parsing is one transaction: deletion, rebuild, audit entry and the run's profile commit
together, or not at all."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from labbench.protocols.profile import load_profile
from labbench.runs.recording import record
from labbench.storage import events as event_store
from labbench.storage import inventory as inventory_store
from labbench.storage import open_database
from labbench.storage import runs as run_store


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "labbench", *args], capture_output=True, text=True, timeout=120
    )


def _snapshot(db_path) -> tuple:
    db = open_database(str(db_path))
    try:
        run = run_store.get_run(db, 1)
        channels = sorted(c.name for c in run_store.run_channels(db, 1))
        return run.sample_count, run.profile, channels, len(event_store.audit_trail(db, "run", 1))
    finally:
        db.dispose()


@pytest.fixture
def recorded(tmp_path):
    path = tmp_path / "reparse.sqlite3"
    db = open_database(str(path))
    try:
        summary = record(
            db,
            device="mock://garbage?rate=2000",
            dut=inventory_store.add_dut(db, "chip", "CHP-RP"),
            duration_s=3.0,
            profile=load_profile("bringup-rig"),
        )
        assert summary.samples > 10_000
    finally:
        db.dispose()
    return path


@pytest.fixture
def tight_disk(tmp_path, recorded):
    """The database alone on a tmpfs with little room to spare."""
    mount = tmp_path / "tight"
    mount.mkdir()
    size_kib = recorded.stat().st_size // 1024 + 256
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(mount)], check=True
    )
    try:
        shutil.copy(recorded, mount / recorded.name)
        yield mount / recorded.name
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_reparse_that_fails_midway_leaves_the_old_run_whole(tight_disk):
    # Finding 7: a failure after the delete committed the deletion (33,187 samples -> 0, no
    # audit entry).
    before = _snapshot(tight_disk)
    result = _cli("reparse", "1", "--profile", "default", "--user", "ana", "--db", str(tight_disk))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "full" in result.stderr
    assert _snapshot(tight_disk) == before
    assert before[1] == "bringup-rig" and before[3] == 0


def test_a_reparse_commits_profile_audit_and_telemetry_together(recorded, tmp_path):
    result = _cli(
        "reparse",
        "1",
        "--profile",
        "default",
        "--user",
        "ana",
        "--reason",
        "scaling",
        "--db",
        str(recorded),
    )
    assert result.returncode == 0, result.stderr
    samples, profile, channels, audits = _snapshot(recorded)
    assert profile == "default" and audits == 1 and "clk_core_mhz" in channels and samples > 0
    report = tmp_path / "report.csv"
    assert _cli("export", "1", "--report", str(report), "--db", str(recorded)).returncode == 0
    assert "# profile: default" in report.read_text() or "profile,default" in report.read_text()


def _write_lock_taken(db_path) -> bool:
    import sqlite3

    conn = sqlite3.connect(str(db_path), timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


def test_ctrl_c_during_a_reparse_leaves_the_old_run_whole(recorded):
    # Finding 7: the writer's close in `finally` committed the deletion when the rebuild was
    # interrupted.
    import signal
    import threading

    before = _snapshot(recorded)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labbench",
            "reparse",
            "1",
            "--profile",
            "default",
            "--user",
            "ana",
            "--db",
            str(recorded),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    tick = threading.Event()
    try:
        while not _write_lock_taken(recorded):
            assert proc.poll() is None, proc.stderr.read()
            tick.wait(0.005)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert _snapshot(recorded) == before, (before, _snapshot(recorded), err)
    assert proc.returncode == 3, err
    assert "Traceback" not in err
