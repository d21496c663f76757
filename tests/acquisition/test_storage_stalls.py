"""A stalled database never stops the reader: the run goes on, spills to its journal, and
stores everything, in order and once, when the database is back.  Ctrl-C always works."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from labbench.storage import events as event_store
from labbench.storage import inventory as inventory_store
from labbench.storage import open_database
from labbench.storage import runs as run_store
from labbench.storage.telemetry_read import read_channel

LOCK_HOLDER = Path(__file__).with_name("lock_holder.py")


class Lines:
    """The lines a process writes to one stream, as they come."""

    def __init__(self, stream):
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        for line in self.seen:
            if text in line:
                return line
        while True:
            line = self._queue.get(timeout=timeout)
            if line is None:
                raise AssertionError(f"{text!r} never came; got {self.seen}")
            self.seen.append(line)
            if text in line:
                return line

    def rest(self) -> str:
        self._thread.join(60)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.seen.append(line)
        return "".join(self.seen)


class WriteLock:
    """Another process holding the SQLite write lock."""

    def __init__(self, db_path: Path):
        self.proc = subprocess.Popen(
            [sys.executable, str(LOCK_HOLDER), str(db_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            assert self.proc.wait(timeout=30) == 0
        self.proc.stdin.close()
        self.proc.stdout.close()


def _record_cli(db_path: Path, seconds: float, rate: int = 1000) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labbench",
            "record",
            "--device",
            f"mock://nominal?rate={rate}",
            "--dut",
            "CHP-ST",
            "--new-dut",
            "chip",
            "--duration",
            str(seconds),
            "--profile",
            "default",
            "--db",
            str(db_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_run(db_path: Path, timeout: float = 30.0, run_id: int = 1) -> None:
    done = threading.Event()
    db = open_database(str(db_path))
    try:
        for _ in range(int(timeout / 0.02)):
            runs = [r for r in run_store.list_runs(db) if r.id == run_id]
            if runs and runs[0].sample_count > 0:
                return
            done.wait(0.02)
    finally:
        db.dispose()
    raise AssertionError("the run never started storing")


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "stall.sqlite3"
    open_database(str(path)).dispose()
    return path


def test_a_write_lock_held_past_the_end_loses_nothing_and_keeps_timestamps(db_path):
    # Finding 1: a lock held longer than the recording used to cut the run short at ~4.7 s
    # and report success; a stalled reader gave seconds of samples one timestamp.
    proc = _record_cli(db_path, 4.0)
    err = Lines(proc.stderr)
    lock = None
    try:
        _wait_for_run(db_path)
        lock = WriteLock(db_path)
        err.wait_for("storage stalled")
        err.wait_for("waiting for the database")  # the recording ended while the lock was held
        lock.release()
        err.wait_for("storage back")
        out = proc.stdout.read()
        assert proc.wait(timeout=60) == 0, out + err.rest()
    finally:
        if lock is not None:
            lock.release()
        proc.kill()
        proc.wait()
    assert "recorded" in out and "1 storage stalls" in out
    db = open_database(str(db_path))
    try:
        (run,) = run_store.list_runs(db)
        assert run.status == "recorded"
        t, seq = read_channel(db, run.id, "seq")
        # every line, in order, once, through the whole recording
        np.testing.assert_array_equal(seq, np.arange(seq.size))
        assert run.sample_count == seq.size * 11
        assert t[-1] > 3.7
        # timestamps follow arrival: no second of data squeezed onto one time
        assert np.diff(t).max() < 0.1
        assert np.unique(t).size > 0.9 * t.size / 4
        kinds = [e.kind for e in event_store.run_events(db, run.id)]
        assert kinds.count("storage_stall") == 1 and kinds.count("storage_back") == 1
    finally:
        db.dispose()


def test_ctrl_c_works_while_the_database_is_locked(db_path):
    # Finding 2: with the writer stuck the process ignored Ctrl-C and the run stayed running.
    proc = _record_cli(db_path, 60.0)
    err = Lines(proc.stderr)
    lock = None
    try:
        _wait_for_run(db_path)
        lock = WriteLock(db_path)
        err.wait_for("storage stalled")
        proc.send_signal(signal.SIGINT)
        err.wait_for("waiting for the database")
        proc.send_signal(signal.SIGINT)  # stop waiting for it
        assert proc.wait(timeout=30) == 3
        text = err.rest()
        assert "Traceback" not in text
        assert "could not be closed as aborted because the database is unavailable" in text
        journal = next(line for line in text.splitlines() if "kept in" in line or "journal" in line)
        assert journal
    finally:
        if lock is not None:
            lock.release()
        proc.kill()
        proc.wait()
    # The next start marks it interrupted (no run stays running) and stores what the journal
    # kept: nothing read from the rig is lost.
    db = open_database(str(db_path))
    try:
        assert run_store.mark_interrupted_runs(db) == [1]
        run = run_store.get_run(db, 1)
        assert run.status == "interrupted" and run.ended_at is not None
        _, seq = read_channel(db, 1, "seq")
        np.testing.assert_array_equal(seq, np.arange(seq.size))
        assert seq.size > 1000 and run.sample_count == seq.size * 11
    finally:
        db.dispose()


@pytest.fixture
def full_disk(tmp_path):
    """A 1 MiB tmpfs as the user data directory (where the journal goes)."""
    mount = tmp_path / "data"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_journal_that_fills_the_disk_ends_the_run_as_error_and_says_why(db_path, full_disk):
    import os

    env = dict(os.environ, XDG_DATA_HOME=str(full_disk))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labbench",
            "record",
            "--device",
            "mock://nominal?rate=2000",
            "--dut",
            "CHP-FULL",
            "--new-dut",
            "chip",
            "--duration",
            "120",
            "--profile",
            "default",
            "--db",
            str(db_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    err = Lines(proc.stderr)
    lock = None
    try:
        _wait_for_run(db_path)
        lock = WriteLock(db_path)
        err.wait_for("storage stalled")
        err.wait_for("waiting for the database")  # the journal filled up: the run ended
        lock.release()
        out = proc.stdout.read()
        assert proc.wait(timeout=60) == 3, out + err.rest()
    finally:
        if lock is not None:
            lock.release()
        proc.kill()
        proc.wait()
    text = err.rest()
    assert "Traceback" not in text
    assert (
        "ended as error because the storage journal" in text and "No space left on device" in text
    )
    assert "error" in out
    db = open_database(str(db_path))
    try:
        (run,) = run_store.list_runs(db)
        assert run.status == "error" and "No space left on device" in run.error_message
        _, seq = read_channel(db, run.id, "seq")
        assert seq.size > 0 and run.sample_count == seq.size * 11
        np.testing.assert_array_equal(
            seq, np.arange(seq.size)
        )  # what was kept is whole and in order
    finally:
        db.dispose()


def test_a_reparse_during_a_live_recording_leaves_its_timestamps_alone(db_path):
    # Finding 1: a reparse of another run (one long write transaction) during a recording
    # gave the recording 7.7 s of samples with one timestamp.
    from labbench.protocols.profile import load_profile
    from labbench.runs.recording import record

    db = open_database(str(db_path))
    try:
        big = record(
            db,
            device="mock://nominal?rate=20000",
            dut=inventory_store.add_dut(db, "chip", "CHP-BIG"),
            duration_s=2.0,
            profile=load_profile("default"),
        )
    finally:
        db.dispose()
    proc = _record_cli(db_path, 4.0)
    err = Lines(proc.stderr)
    try:
        _wait_for_run(db_path, run_id=2)
        reparse = subprocess.run(
            [
                sys.executable,
                "-m",
                "labbench",
                "reparse",
                str(big.run_id),
                "--profile",
                "bringup-rig",
                "--user",
                "ana",
                "--db",
                str(db_path),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert reparse.returncode == 0, reparse.stderr
        out = proc.stdout.read()
        assert proc.wait(timeout=120) == 0, out + err.rest()
    finally:
        proc.kill()
        proc.wait()
    db = open_database(str(db_path))
    try:
        run = run_store.get_run(db, 2)
        t, seq = read_channel(db, run.id, "seq")
        np.testing.assert_array_equal(seq, np.arange(seq.size))
        assert t[-1] > 3.7 and np.diff(t).max() < 0.1
        assert np.unique(t).size > 0.9 * t.size / 4
    finally:
        db.dispose()


def test_a_plan_run_goes_on_through_a_stall(db_path):
    plan = Path(__file__).parents[2] / "resources" / "plans" / "sled-power-on.toml"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labbench",
            "run",
            "--plan",
            str(plan),
            "--dut",
            "S-ST",
            "--new-dut",
            "sled",
            "--device",
            "mock://nominal?rate=500",
            "--db",
            str(db_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out = Lines(proc.stdout)
    err = Lines(proc.stderr)
    lock = None
    try:
        out.wait_for("step 1/3")
        lock = WriteLock(db_path)  # held through the rest of step 1 and into step 2
        err.wait_for("storage stalled")
        out.wait_for("step 2/3")
        lock.release()
        err.wait_for("storage back")
        assert proc.wait(timeout=120) == 0, out.rest() + err.rest()
    finally:
        if lock is not None:
            lock.release()
        proc.kill()
        proc.wait()
    assert "PASSED" in out.rest()
    db = open_database(str(db_path))
    try:
        (run,) = run_store.list_runs(db)
        assert run.status == "passed"
        _, seq = read_channel(db, run.id, "seq")
        np.testing.assert_array_equal(seq, np.arange(seq.size))
        kinds = [e.kind for e in event_store.run_events(db, run.id)]
        assert kinds.count("step_start") == 3 and kinds.count("step_end") == 3
        assert "storage_stall" in kinds and "storage_back" in kinds
    finally:
        db.dispose()
