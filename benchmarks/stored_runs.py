"""Stored runs at scale: a 100 M-sample run's overview, and the history with 100 k runs.

    python benchmarks/stored_runs.py [--samples 100000000] [--runs 100000]

1. A run of N samples (8 channels) is written with the chunk writer; then the GUI's run
   detail opens it offscreen and the time to its first painted overview is measured (chunk
   min/max columns, no blob read).  Baseline, same run: reading every sample of one channel.
   Target (DESIGN.md §7): overview drawn in <= 1 s.
2. R runs are inserted; the history's first page, a filtered page and a sorted page are timed
   (what the lazy model asks for), next to counting all runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from labbench.storage import models as m  # noqa: E402
from labbench.storage import open_database  # noqa: E402
from labbench.storage import repository as repo  # noqa: E402
from labbench.storage.telemetry import TelemetryWriter, read_channel  # noqa: E402


def write_big_run(db, samples: int, channels: int = 8) -> int:
    run = repo.start_run(db, repo.add_dut(db, "chip", "BIG-RUN").id)
    writer = TelemetryWriter(db, run.id)
    per_channel = samples // channels
    step = 1 << 20
    rng = np.random.default_rng(5)
    for start in range(0, per_channel, step):
        n = min(step, per_channel - start)
        t = (start + np.arange(n)) / 10_000.0
        for c in range(channels):
            writer.append(f"ch{c}", t, 0.75 + 0.01 * rng.standard_normal(n), unit="V")
        writer.commit()
    writer.close()
    repo.finish_run(db, run.id, "recorded")
    return run.id


def time_overview(db, run_id: int) -> float:
    from PySide6.QtWidgets import QApplication

    from labbench.ui.app import make_application
    from labbench.ui.history import Loader, RunDetail

    app = make_application()
    loader = Loader()
    detail = RunDetail(db, loader)
    detail.resize(1400, 800)
    detail.show()
    app.processEvents()
    done = []
    begin = time.perf_counter()
    detail.open_run(run_id, on_loaded=lambda: (detail.plots.layout_widget.viewport().repaint(), done.append(time.perf_counter())))
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
    chip = repo.add_dut(db, "chip", "HIST-0")
    sled = repo.add_dut(db, "sled", "HIST-S")
    plan = repo.store_plan_version(db, "bench-plan", "1", "chip", "x")
    station = repo.ensure_station(db, "bench-st")
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    statuses = ["passed", "passed", "passed", "marginal", "failed", "error", "aborted"]
    rows = []
    for i in range(count):
        moment = start + dt.timedelta(minutes=i)
        rows.append(dict(
            dut_id=chip.id if i % 3 else sled.id, plan_id=plan.id, station_id=station.id, operator=f"op{i % 7}",
            device="mock://nominal", profile="default", software_version="bench", host="bench", pid=None,
            started_at=moment, t0_ns=repo.to_epoch_ns(moment), ended_at=moment + dt.timedelta(seconds=30),
            status=statuses[i % len(statuses)], sample_count=i, malformed_count=0, console_count=0,
            violation_count=0, failed_items=0, error_message="",
        ))
    with db.engine.begin() as conn:
        for a in range(0, count, 10_000):
            conn.execute(insert(m.Run.__table__), rows[a : a + 10_000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000_000)
    parser.add_argument("--runs", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="labbench-bench-") as tmp:
        db = open_database(str(Path(tmp) / "big.sqlite3"))
        begin = time.perf_counter()
        run_id = write_big_run(db, args.samples)
        print(f"stored run of {args.samples:,} samples (8 channels) written in {time.perf_counter() - begin:.1f} s")
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
            ("sorted by DUT, page 100", {"sort": "dut_serial", "descending": False, "offset": 20_000}),
        ):
            begin = time.perf_counter()
            rows = repo.query_runs(db, limit=200, **kwargs)
            timings[name] = (time.perf_counter() - begin, len(rows))
        begin = time.perf_counter()
        total = repo.counts(db, ("runs",))["runs"]
        count_time = time.perf_counter() - begin
        print(f"history with {total:,} runs (baseline: counting them all takes {count_time * 1e3:.1f} ms):")
        for name, (seconds, n) in timings.items():
            print(f"  {name:28s}: {seconds * 1e3:7.1f} ms ({n} rows)")
        db.dispose()


if __name__ == "__main__":
    main()
