"""Telemetry storage throughput at the app's real commit sizes: the chunk writer vs raw sqlite3.

    python benchmarks/storage.py [--seconds 120] [--channels 16] [--rates 1000 20000]

For each rate the acquisition pipeline's cadence is replayed: a batch every
``BATCH_INTERVAL_S`` (30 ms) is appended per channel, and the writer commits every
``COMMIT_INTERVAL_S`` (250 ms of samples), so at 16 channels x 1 kHz each commit holds
250 samples per channel and at 20 kHz 5,000.  The timed region is the writer's whole work:
appending, encoding, merging small chunks, inserting, committing.

The baseline, in the same process and interleaved, is the best a user could do with raw
``sqlite3``: the same chunk rows (one per channel per commit) with their blobs and min/max
computed outside the timed region, one ``executemany`` per commit, ``BEGIN IMMEDIATE`` /
``COMMIT``, in a labbench database file with the app's settings (same schema and indexes,
WAL, ``synchronous=FULL``, ``foreign_keys=ON``).  It writes neither the overview rows nor the
run's counters, which the writer adds to each commit.
Target: >= 5 M samples/s and >= 50 % of the raw figure at both rates.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from labbench.acquisition.pipeline import BATCH_INTERVAL_S, COMMIT_INTERVAL_S
from labbench.storage import open_database
from labbench.storage import repository as repo
from labbench.storage.chunks import CHUNK_COLUMNS, chunk_values
from labbench.storage.telemetry import TelemetryWriter


def make_commits(seconds: float, channels: int, rate: float) -> list[list[list[tuple]]]:
    """commits -> batches (30 ms each) -> per channel (name, t, v), times as the rig makes them."""
    rng = np.random.default_rng(7)
    per_commit = int(round(rate * COMMIT_INTERVAL_S))
    batches_per_commit = int(np.ceil(COMMIT_INTERVAL_S / BATCH_INTERVAL_S))
    commits = []
    for i in range(int(seconds / COMMIT_INTERVAL_S)):
        t_commit = (i * per_commit + np.arange(per_commit)) / rate
        batches = []
        for t in np.array_split(t_commit, batches_per_commit):
            batches.append([(f"ch{c}", t, 0.75 + 0.01 * rng.standard_normal(t.size)) for c in range(channels)])
        commits.append(batches)
    return commits


def new_run(path: Path):
    db = open_database(str(path))
    run_id = repo.start_run(db, repo.add_dut(db, "chip", "BENCH").id).id
    return db, run_id


def bench_writer(path: Path, commits) -> float:
    db, run_id = new_run(path)
    writer = TelemetryWriter(db, run_id)
    for name, _, _ in commits[0][0]:
        writer.ensure_channel(name, "V")
    writer.commit()
    begin = time.perf_counter()
    for batches in commits:
        for batch in batches:
            for name, t, v in batch:
                writer.append(name, t, v, "V")
        writer.commit(malformed_count=0, console_count=0)  # as the pipeline calls it
    elapsed = time.perf_counter() - begin
    writer.close()
    db.dispose()
    return elapsed


def bench_raw(path: Path, commits) -> float:
    db, run_id = new_run(path)
    db.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    ids = {}
    for position, (name, _, _) in enumerate(commits[0][0]):
        ids[name] = conn.execute(
            "INSERT INTO channels (run_id, name, unit, position) VALUES (?, ?, 'V', ?)", (run_id, name, position)
        ).lastrowid
    sql = f"INSERT INTO telemetry_chunks ({', '.join(CHUNK_COLUMNS)}) VALUES ({', '.join('?' * len(CHUNK_COLUMNS))})"
    prepared = []
    for seq, batches in enumerate(commits):
        rows = []
        for c, (name, _, _) in enumerate(batches[0]):
            t = np.concatenate([batch[c][1] for batch in batches])
            v = np.concatenate([batch[c][2] for batch in batches])
            rows.append(chunk_values(run_id, ids[name], seq, t, v))
        prepared.append(rows)
    begin = time.perf_counter()
    for rows in prepared:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - begin
    conn.close()
    return elapsed


def measure(tmp: Path, commits, repeat: int) -> tuple[float, float]:
    writer_s, raw_s = [], []
    for i in range(repeat):  # interleaved, so machine noise hits both sides alike
        for side, bench, times in (("raw", bench_raw, raw_s), ("writer", bench_writer, writer_s)):
            path = tmp / f"{side}{i}.sqlite3"
            times.append(bench(path, commits))
            for leftover in tmp.glob(f"{side}{i}.sqlite3*"):
                leftover.unlink()
    return min(writer_s), min(raw_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="recorded seconds replayed per rate")
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--rates", type=float, nargs="+", default=[1000.0, 20000.0], help="samples/s per channel")
    parser.add_argument("--repeat", type=int, default=5, help="best of N for each side")
    args = parser.parse_args()
    print(f"{args.channels} channels, {args.seconds:g} s of recording per rate, a batch every "
          f"{BATCH_INTERVAL_S * 1e3:g} ms, a commit every {COMMIT_INTERVAL_S * 1e3:g} ms; best of {args.repeat}")
    with tempfile.TemporaryDirectory(prefix="labbench-bench-") as tmp:
        for rate in args.rates:
            commits = make_commits(args.seconds, args.channels, rate)
            total = sum(t.size for batches in commits for batch in batches for _, t, _ in batch)
            per_commit = total // len(commits) // args.channels
            writer_s, raw_s = measure(Path(tmp), commits, args.repeat)
            writer_rate, raw_rate = total / writer_s, total / raw_s
            print(f"{rate:,.0f} Hz: {total:,} samples, {len(commits):,} commits of {per_commit:,} samples/channel")
            print(f"  labbench chunk writer : {writer_rate / 1e6:8.2f} M samples/s  (target >= 5 M)")
            print(f"  raw sqlite3 baseline  : {raw_rate / 1e6:8.2f} M samples/s")
            print(f"  ratio writer/raw      : {writer_rate / raw_rate:8.1%}  (target >= 50 %)")


if __name__ == "__main__":
    main()
