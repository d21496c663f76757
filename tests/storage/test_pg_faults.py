"""PostgreSQL going away mid-run, on a private server: the run goes on and stores everything
once the server is back; text the server refuses never costs a batch."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

from labbench.storage import open_database
from labbench.storage import repository as repo
from labbench.storage.telemetry import read_channel
from tests.acquisition.test_storage_stalls import Lines
from tests.pg_server import PrivatePostgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def server():
    pg = PrivatePostgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.destroy()


def _record(url: str, seconds: float, device: str = "mock://nominal?rate=500") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "labbench", "record", "--device", device, "--dut", "CHP-PG",
         "--new-dut", "chip", "--duration", str(seconds), "--profile", "default", "--db", url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _stored(url: str) -> int:
    db = open_database(url)
    try:
        runs = repo.list_runs(db)
        return runs[0].sample_count if runs else 0
    finally:
        db.dispose()


def _check_complete(url: str, lines_out: str) -> repo.RunInfo:
    db = open_database(url)
    try:
        (run,) = repo.list_runs(db)
        _, seq = read_channel(db, run.id, "seq")
        np.testing.assert_array_equal(seq, np.arange(seq.size))  # in order, once, nothing missing
        assert run.sample_count == seq.size * 11
        assert f"{run.sample_count} samples from {seq.size} lines" in lines_out
        return run
    finally:
        db.dispose()


def test_server_restarted_mid_run_everything_is_forwarded(server):
    # Finding 3: stopped 3 s in and back 5 s later, the writer failed at once (traceback,
    # exit 1, run left running) and everything after the stop was lost.
    open_database(server.url).dispose()
    proc = _record(server.url, 6.0)
    err = Lines(proc.stderr)
    try:
        tick = threading.Event()
        while _stored(server.url) < 500 * 11:
            tick.wait(0.05)
        server.stop()
        err.wait_for("storage stalled")
        server.start()
        err.wait_for("storage back")
        out = proc.stdout.read()
        assert proc.wait(timeout=60) == 0, out + err.rest()
    finally:
        proc.kill()
        proc.wait()
    text = err.rest()
    assert "Traceback" not in text
    run = _check_complete(server.url, out)
    assert run.status == "recorded"
    db = open_database(server.url)
    try:
        kinds = [e.kind for e in repo.run_events(db, run.id)]
        assert "storage_stall" in kinds and "storage_back" in kinds
    finally:
        db.dispose()
