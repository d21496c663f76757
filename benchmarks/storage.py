"""Telemetry storage throughput: labbench's chunk writer vs raw sqlite3, same chunks, same run.

    python benchmarks/storage.py [--samples N] [--channels C] [--batch B]

Both sides write into a fresh labbench database file (same schema, WAL, synchronous=FULL)
and commit once per batch (B samples per channel, the size of one 250 ms commit at a high
rate).  The raw baseline gets its blobs and min/max pre-computed outside the timed region;
the writer does that work inside it, so the ratio is, if anything, pessimistic.
Target (DESIGN.md §7): >= 5 M samples/s and >= 50 % of the raw figure.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from labbench.storage import open_database
from labbench.storage import repository as repo
from labbench.storage.telemetry import TelemetryWriter, chunk_row


def make_batches(samples_per_channel: int, channels: int, batch: int):
    rng = np.random.default_rng(7)
    for start in range(0, samples_per_channel, batch):
        n = min(batch, samples_per_channel - start)
        t = (start + np.arange(n)) / 10_000.0
        yield [(f"ch{c}", t, 0.75 + 0.01 * rng.standard_normal(n)) for c in range(channels)]


def bench_writer(path: Path, batches) -> float:
    db = open_database(str(path))
    run_id = repo.start_run(db, repo.add_dut(db, "chip", "BENCH").id).id
    writer = TelemetryWriter(db, run_id)
    for name, _, _ in batches[0]:
        writer.ensure_channel(name)
    writer.commit()
    begin = time.perf_counter()
    for batch in batches:
        for name, t, v in batch:
            writer.append(name, t, v)
        writer.commit()
    elapsed = time.perf_counter() - begin
    writer.close()
    db.dispose()
    return elapsed


def bench_raw(path: Path, batches) -> float:
    db = open_database(str(path))
    run_id = repo.start_run(db, repo.add_dut(db, "chip", "BENCH").id).id
    db.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=FULL")
    ids = {}
    for position, (name, _, _) in enumerate(batches[0]):
        ids[name] = conn.execute(
            "INSERT INTO channels (run_id, name, unit, position) VALUES (?, ?, '', ?)", (run_id, name, position)
        ).lastrowid
    columns = ("run_id", "channel_id", "seq", "count", "t_first", "t_last", "v_min", "v_max", "t", "v")
    sql = f"INSERT INTO telemetry_chunks ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    prepared = [
        [tuple(chunk_row(run_id, ids[name], seq, t, v)[c] for c in columns) for name, t, v in batch]
        for seq, batch in enumerate(batches)
    ]
    begin = time.perf_counter()
    for rows in prepared:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - begin
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2_000_000, help="samples per channel")
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--batch", type=int, default=65_536, help="samples per channel per commit")
    parser.add_argument("--repeat", type=int, default=5, help="best of N for each side")
    args = parser.parse_args()
    batches = list(make_batches(args.samples, args.channels, args.batch))
    total = args.samples * args.channels
    with tempfile.TemporaryDirectory(prefix="labbench-bench-") as tmp:
        writer_s, raw_s = [], []
        for i in range(args.repeat):  # interleaved, so machine noise hits both sides alike
            for side, bench, times in (("raw", bench_raw, raw_s), ("writer", bench_writer, writer_s)):
                path = Path(tmp) / f"{side}{i}.sqlite3"
                times.append(bench(path, batches))
                for leftover in Path(tmp).glob(f"{side}{i}.sqlite3*"):
                    leftover.unlink()
    writer_rate = total / min(writer_s)
    raw_rate = total / min(raw_s)
    print(f"samples: {total:,} ({args.channels} channels x {args.samples:,}), commit every {args.batch:,} samples/channel")
    print(f"labbench chunk writer : {writer_rate / 1e6:8.2f} M samples/s  (target >= 5 M)")
    print(f"raw sqlite3 baseline  : {raw_rate / 1e6:8.2f} M samples/s")
    print(f"ratio writer/raw      : {writer_rate / raw_rate:8.1%}  (target >= 50 %)")


if __name__ == "__main__":
    main()
