"""Telemetry storage throughput at the app's real commit sizes: the chunk writer vs raw sqlite3.

    python benchmarks/storage.py [--seconds 120] [--channels 16] [--rates 1000 20000]

For each rate the acquisition pipeline's cadence is replayed: a batch every
``BATCH_INTERVAL_S`` (30 ms) is appended per channel, and the writer commits every
``COMMIT_INTERVAL_S`` (250 ms of samples), so at 16 channels x 1 kHz each commit holds
250 samples per channel and at 20 kHz 5,000.  The timed region is the writer's whole work:
appending, encoding, overview rows, inserting, committing.

The baseline, in the same process and taking turns with the writer commit by commit, is the best a user could do with raw
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


class WriterSide:
    """labbench's TelemetryWriter, fed as the pipeline feeds it."""

    def __init__(self, path: Path, commits):
        self.db, run_id = new_run(path)
        self.writer = TelemetryWriter(self.db, run_id)
        self.commits = commits
        for name, _, _ in commits[0][0]:
            self.writer.ensure_channel(name, "V")
        self.writer.commit()

    def step(self, k: int) -> None:
        writer = self.writer
        for batch in self.commits[k]:
            for name, t, v in batch:
                writer.append(name, t, v, "V")
        writer.commit(malformed_count=0, console_count=0)  # as the pipeline calls it

    def close(self) -> None:
        self.writer.close()
        self.db.dispose()


class RawSide:
    """Raw sqlite3: the same chunk rows, built beforehand; only the inserts and commits timed."""

    def __init__(self, path: Path, commits):
        db, run_id = new_run(path)
        db.dispose()
        self.conn = conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        ids = {}
        for position, (name, _, _) in enumerate(commits[0][0]):
            ids[name] = conn.execute(
                "INSERT INTO channels (run_id, name, unit, position) VALUES (?, ?, 'V', ?)", (run_id, name, position)
            ).lastrowid
        self.sql = f"INSERT INTO telemetry_chunks ({', '.join(CHUNK_COLUMNS)}) VALUES ({', '.join('?' * len(CHUNK_COLUMNS))})"
        self.prepared = []
        for seq, batches in enumerate(commits):
            rows = []
            for c, (name, _, _) in enumerate(batches[0]):
                t = np.concatenate([batch[c][1] for batch in batches])
                v = np.concatenate([batch[c][2] for batch in batches])
                rows.append(chunk_values(run_id, ids[name], seq, t, v))
            self.prepared.append(rows)

    def step(self, k: int) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany(self.sql, self.prepared[k])
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def measure(tmp: Path, commits, repeat: int) -> tuple[float, float]:
    """Best total seconds of each side.  The two sides take turns commit by commit (in
    alternating order), each in its own file, so a stall of the shared disk or CPU hits
    both alike instead of one whole run."""
    writer_s, raw_s = [], []
    for i in range(repeat):
        sides = {"raw": RawSide(tmp / f"raw{i}.sqlite3", commits), "writer": WriterSide(tmp / f"writer{i}.sqlite3", commits)}
        spent = dict.fromkeys(sides, 0.0)
        order = list(sides)
        for k in range(len(commits)):
            for name in order if k % 2 else order[::-1]:
                begin = time.perf_counter()
                sides[name].step(k)
                spent[name] += time.perf_counter() - begin
        for side in sides.values():
            side.close()
        for leftover in tmp.glob(f"*{i}.sqlite3*"):
            leftover.unlink()
        writer_s.append(spent["writer"])
        raw_s.append(spent["raw"])
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
