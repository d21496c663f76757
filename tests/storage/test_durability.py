"""SQLite survives SIGKILL mid-write, and two processes share one file."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select, text

from labbench.storage import inventory as inventory_store
from labbench.storage import models as m
from labbench.storage import open_database
from labbench.storage import runs as run_store
from labbench.storage.telemetry_read import chunk_summary, read_channel

CHILD = Path(__file__).with_name("writer_child.py")
PER_COMMIT = 500
CHANNELS = 8


def _start_child(db_path: Path, run_id: int, commits: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(db_path), str(run_id), str(commits)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _new_run(db_path: Path) -> int:
    db = open_database(str(db_path))
    chip = inventory_store.add_dut(db, "chip", f"CHP-{db_path.stem}")
    run_id = run_store.start_run(db, chip.id).id
    db.dispose()
    return run_id


@pytest.mark.slow
@pytest.mark.parametrize("attempt", range(5))
def test_sigkill_during_writes_loses_nothing_committed(tmp_path, attempt):
    rng = random.Random(1000 + attempt)
    db_path = tmp_path / "kill.sqlite3"
    run_id = _new_run(db_path)
    child = _start_child(db_path, run_id, commits=100_000)
    reported = -1
    kill_after = rng.randint(3, 60)
    try:
        for line in child.stdout:
            assert line.startswith("committed ")
            reported = int(line.split()[1])
            if reported >= kill_after:
                # Kill at a random moment within the next commit, not right after a print.
                threading.Event().wait(rng.uniform(0.0, 0.02))
                break
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert reported >= kill_after, child.stderr.read()

    db = open_database(str(db_path))
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            stored = conn.execute(select(func.sum(m.TelemetryChunk.count))).scalar()
            sample_count = conn.execute(
                select(m.Run.sample_count).where(m.Run.id == run_id)
            ).scalar()
        # Every reported commit is there, and the run's counter matches its chunks exactly.
        assert stored >= (reported + 1) * PER_COMMIT * CHANNELS
        assert stored % (PER_COMMIT * CHANNELS) == 0
        assert sample_count == stored
        for i in range(CHANNELS):
            t, v = read_channel(db, run_id, f"ch{i}")
            commits = t.size // PER_COMMIT
            expected_t = np.concatenate(
                [n + np.arange(PER_COMMIT) / PER_COMMIT for n in range(commits)]
            )
            np.testing.assert_array_equal(t, expected_t)
            np.testing.assert_array_equal(v, expected_t * (i + 1))
    finally:
        db.dispose()


@pytest.mark.slow
def test_one_process_writes_while_another_reads(tmp_path):
    db_path = tmp_path / "shared.sqlite3"
    run_id = _new_run(db_path)
    commits = 150
    child = _start_child(db_path, run_id, commits=commits)
    db = open_database(str(db_path))
    reads = 0
    try:
        last = 0
        while child.poll() is None or reads == 0:
            # Reads while the other process holds or takes the write lock must not fail.
            with db.engine.connect() as conn:
                count = conn.execute(select(func.count()).select_from(m.TelemetryChunk)).scalar()
                conn.execute(text("SELECT count(*) FROM runs")).scalar()
            assert count >= last
            last = count
            if count:
                summary = chunk_summary(db, run_id, "ch0")
                assert summary.count.sum() == summary.count.size * PER_COMMIT
            reads += 1
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        assert out.count("committed") == commits
        t, _ = read_channel(db, run_id, "ch7")
        assert t.size == commits * PER_COMMIT
        assert reads > 10
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        db.dispose()
