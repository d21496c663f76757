"""kill -9 during `labbench run` loses at most the last 250 ms of telemetry, on every trial,
and the interrupted run ends at its last stored data."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from labbench.storage import open_database
from labbench.storage import runs as run_store
from labbench.storage.telemetry_read import read_channel

PLAN = Path(__file__).parents[2] / "resources" / "plans" / "sled-power-on.toml"
LOSS_BOUND_S = 0.25


@pytest.mark.slow
@pytest.mark.alone
def test_kill_9_during_run_loses_at_most_250_ms(tmp_path):
    rng = random.Random(9)
    losses = []
    for trial in range(12):
        db_path = tmp_path / f"kill{trial}.sqlite3"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "labbench",
                "run",
                "--plan",
                str(PLAN),
                "--dut",
                f"S{trial}",
                "--new-dut",
                "sled",
                "--device",
                "mock://nominal?rate=1000",
                "--db",
                str(db_path),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout.readline().startswith("step 1/3")
            threading.Event().wait(rng.uniform(0.3, 2.5))  # a random moment of the run
            killed_ns = time.time_ns()
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            proc.kill()
            proc.wait()
        db = open_database(str(db_path))
        try:
            (run,) = run_store.list_runs(db)
            t, _ = read_channel(db, run.id, "seq")
            last_ns = run.t0_ns + int(t[-1] * 1e9)
            losses.append((killed_ns - last_ns) / 1e9)
            assert run_store.mark_interrupted_runs(db) == [run.id]
            ended = run_store.get_run(db, run.id).ended_at
            # the end is the last stored data (raw read or event), not when it was noticed
            assert (
                abs((ended - run_store.from_epoch_ns(last_ns)) / dt.timedelta(seconds=1))
                < LOSS_BOUND_S
            )
            assert ended < run_store.from_epoch_ns(killed_ns)
        finally:
            db.dispose()
    assert max(losses) <= LOSS_BOUND_S, sorted(losses)
