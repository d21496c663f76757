"""Stored runs at scale: a 100 M-sample run's overview, and the history with 100 k runs.

    python benchmarks/stored_runs.py [--samples 100000000] [--channels 16] [--runs 100000]
                                     [--cache DIR] [--regenerate]

1. A run of N samples recorded at 1 kHz per channel is written by the app's own
   TelemetryWriter at the acquisition pipeline's cadence: one append per channel every
   ``BATCH_INTERVAL_S`` (30 ms of samples), a commit every ``COMMIT_INTERVAL_S`` (250 ms), so
   its chunks are the real 250-sample ones.  Writing 100 M samples takes a while, so the
   database file is cached (default ``~/.cache/labbench-bench``) under a name that holds the
   sizes and a hash of the storage code and migrations: any change to the writer or the
   schema makes a new file.  Then the GUI's run detail opens the run offscreen and the time
   to its first painted overview is measured (chunk min/max columns, no blob read).
   Baseline, same run: reading every sample of one channel.  Target: overview <= 1 s.
2. R runs are inserted; the history's first page, a filtered page and a sorted page are timed
   (what the lazy model asks for), next to counting all runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import inspect
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from sqlalchemy import insert

from labbench import paths
from labbench.acquisition.pipeline import BATCH_INTERVAL_S, COMMIT_INTERVAL_S
from labbench.storage import history as history_store
from labbench.storage import inventory as inventory_store
from labbench.storage import models as m
from labbench.storage import open_database
from labbench.storage import plans as plan_store
from labbench.storage import runs as run_store
from labbench.storage.telemetry import TelemetryWriter
from labbench.storage.telemetry_read import read_channel

RATE_HZ = 1000.0
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "labbench-bench"


def storage_fingerprint() -> str:
    """A hash of everything that decides what the writer stores: its code, the models and the
    migrations (the readers may change without invalidating the cached run)."""
    from labbench.storage import chunks

    digest = hashlib.sha256(inspect.getsource(TelemetryWriter).encode())
    for path in [
        Path(chunks.__file__),
        Path(m.__file__),
        *sorted((paths.migrations_dir() / "versions").glob("*.py")),
    ]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def write_big_run(db, samples: int, channels: int) -> int:
    """``samples`` in all, recorded at 1 kHz per channel, written the way the pipeline writes."""
    run = run_store.start_run(db, inventory_store.add_dut(db, "chip", "BIG-RUN").id)
    writer = TelemetryWriter(db, run.id)
    per_channel = samples // channels
    per_commit = round(RATE_HZ * COMMIT_INTERVAL_S)
    batches = int(np.ceil(COMMIT_INTERVAL_S / BATCH_INTERVAL_S))
    rng = np.random.default_rng(5)
    drift = np.sin(np.arange(per_commit) / per_commit)
    for i, start in enumerate(range(0, per_channel, per_commit)):
        n = min(per_commit, per_channel - start)
        t_commit = (start + np.arange(n)) / RATE_HZ
        v_commit = [
            0.75 + 0.01 * np.sin(i / 500 + c) + 0.002 * rng.standard_normal(n) + 0.001 * drift[:n]
            for c in range(channels)
        ]
        for part in np.array_split(np.arange(n), batches):
            if part.size:
                a, b = part[0], part[-1] + 1
                for c in range(channels):
                    writer.append(f"ch{c}", t_commit[a:b], v_commit[c][a:b], unit="V")
        writer.commit(malformed_count=0, console_count=0)
    writer.close()
    run_store.finish_run(db, run.id, "recorded")
    return run.id


def cached_big_run(cache: Path, samples: int, channels: int, regenerate: bool) -> tuple[Path, int]:
    """The path of a database holding the big run (made now if not cached) and the run id."""
    cache.mkdir(parents=True, exist_ok=True)
    path = (
        cache
        / f"stored-run-{samples}-{channels}ch-{int(RATE_HZ)}hz-{storage_fingerprint()}.sqlite3"
    )
    if path.exists() and not regenerate:
        db = open_database(str(path))
        run_id = history_store.query_runs(db, limit=1)[0].id
        chunks = history_store.counts(db, ("telemetry_chunks",))["telemetry_chunks"]
        db.dispose()
        print(
            f"stored run of {samples:,} samples ({channels} channels x {RATE_HZ:,.0f} Hz): cached "
            f"file {path}"
        )
        print(
            f"  ({chunks:,} chunk rows; written earlier by TelemetryWriter at the pipeline's "
            f"cadence; --regenerate to rewrite)"
        )
        return path, run_id
    for old in cache.glob(f"stored-run-{samples}-{channels}ch-*"):
        old.unlink()
    partial = path.with_suffix(".partial")
    for leftover in cache.glob(partial.name + "*"):
        leftover.unlink()
    db = open_database(str(partial))
    begin = time.perf_counter()
    run_id = write_big_run(db, samples, channels)
    chunks = history_store.counts(db, ("telemetry_chunks",))["telemetry_chunks"]
    db.dispose()
    shutil.move(partial, path)
    print(
        f"stored run of {samples:,} samples ({channels} channels x {RATE_HZ:,.0f} Hz) written in "
        f"{time.perf_counter() - begin:.0f} s by TelemetryWriter: an append per channel every "
        f"{BATCH_INTERVAL_S * 1e3:g} ms, a commit every {COMMIT_INTERVAL_S * 1e3:g} ms "
        f"({chunks:,} chunk rows); "
        f"cached as {path}"
    )
    return path, run_id


def time_overview(db, run_id: int) -> float:
    from PySide6.QtWidgets import QApplication

    from labbench.ui.app import make_application
    from labbench.ui.loader import Loader
    from labbench.ui.run_detail import RunDetail

    app = make_application()
    loader = Loader()
    detail = RunDetail(db, loader)
    detail.resize(1400, 800)
    detail.show()
    app.processEvents()
    done = []
    begin = time.perf_counter()
    detail.open_run(
        run_id,
        on_loaded=lambda: (
            detail.plots.layout_widget.viewport().repaint(),
            done.append(time.perf_counter()),
        ),
    )
    while not done:
        app.processEvents()
        time.sleep(0.001)
    elapsed = done[0] - begin
    points = sum(len(detail.plots.data[name][0]) for name in detail.plots.data)
    detail.close()
    loader.shutdown()
    QApplication.processEvents()
    print(f"  overview points drawn: {points:,}")
    return elapsed


def insert_runs(db, count: int) -> None:
    chip = inventory_store.add_dut(db, "chip", "HIST-0")
    sled = inventory_store.add_dut(db, "sled", "HIST-S")
    plan = plan_store.store_plan_version(db, "bench-plan", "1", "chip", "x")
    station = inventory_store.ensure_station(db, "bench-st")
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    statuses = ["passed", "passed", "passed", "marginal", "failed", "error", "aborted"]
    rows = []
    for i in range(count):
        moment = start + dt.timedelta(minutes=i)
        rows.append(
            {
                "dut_id": chip.id if i % 3 else sled.id,
                "plan_id": plan.id,
                "station_id": station.id,
                "operator": f"op{i % 7}",
                "device": "mock://nominal",
                "profile": "default",
                "software_version": "bench",
                "host": "bench",
                "pid": None,
                "started_at": moment,
                "t0_ns": run_store.to_epoch_ns(moment),
                "ended_at": moment + dt.timedelta(seconds=30),
                "status": statuses[i % len(statuses)],
                "sample_count": i,
                "malformed_count": 0,
                "console_count": 0,
                "violation_count": 0,
                "failed_items": 0,
                "error_message": "",
            }
        )
    with db.engine.begin() as conn:
        for a in range(0, count, 10_000):
            conn.execute(insert(m.Run.__table__), rows[a : a + 10_000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000_000)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument(
        "--cache", type=Path, default=CACHE_DIR, help="where the big run's database is kept"
    )
    parser.add_argument(
        "--regenerate", action="store_true", help="write the big run again even if cached"
    )
    args = parser.parse_args()
    path, run_id = cached_big_run(args.cache, args.samples, args.channels, args.regenerate)
    with tempfile.TemporaryDirectory(prefix="labbench-bench-") as tmp:
        db = open_database(str(path))
        overview = time_overview(db, run_id)
        begin = time.perf_counter()
        t, _ = read_channel(db, run_id, "ch0")
        full = time.perf_counter() - begin
        print(f"  overview of the whole run drawn in {overview * 1e3:.0f} ms  (target <= 1000 ms)")
        print(f"  baseline: reading every sample of one channel ({t.size:,}): {full * 1e3:.0f} ms")
        db.dispose()

        db = open_database(str(Path(tmp) / "history.sqlite3"))
        insert_runs(db, args.runs)
        timings = {}
        for name, kwargs in (
            ("first page (newest 200)", {}),
            ("filtered: verdict failed", {"status": "failed"}),
            ("filtered: text 'op3'", {"text": "op3"}),
            (
                "sorted by DUT, page 100",
                {"sort": "dut_serial", "descending": False, "offset": 20_000},
            ),
        ):
            begin = time.perf_counter()
            rows = history_store.query_runs(db, limit=200, **kwargs)
            timings[name] = (time.perf_counter() - begin, len(rows))
        begin = time.perf_counter()
        total = history_store.counts(db, ("runs",))["runs"]
        count_time = time.perf_counter() - begin
        print(
            f"history with {total:,} runs (baseline: counting them all takes "
            f"{count_time * 1e3:.1f} ms):"
        )
        for name, (seconds, n) in timings.items():
            print(f"  {name:28s}: {seconds * 1e3:7.1f} ms ({n} rows)")
        db.dispose()


if __name__ == "__main__":
    main()
