"""Telemetry storage throughput at the app's real commit sizes: the forwarder's writes vs raw sqlite3.

    python benchmarks/storage.py [--seconds 60] [--channels 16] [--rates 1000 20000] [--tmpfs]

For each rate the acquisition's cadence is replayed through the product code: the reader's
``SampleBatch`` every ``BATCH_INTERVAL_S`` (30 ms) goes through the storage link's spooler
(``StorageLink._take``), which cuts a ``CommitBatch`` every ``COMMIT_INTERVAL_S`` (150 ms), so
at 16 channels x 1 kHz each commit holds 150 samples per channel and at 20 kHz 3,000.  The
batches are built beforehand; the timed region is what the forwarder thread does for one
batch: ``TelemetryWriter.append_batches([batch])`` then ``commit(**batch.counters)`` (grouping,
encoding, overview rows, inserting, the run's counters, committing).

The baseline, in the same process and taking turns with the writer commit by commit, is the
best a user could do with raw ``sqlite3``: the same chunk rows (one per channel per commit)
with their blobs and min/max computed outside the timed region, one ``executemany`` per
commit, ``BEGIN IMMEDIATE`` / ``COMMIT``, in a labbench database file with the app's settings
(same schema and indexes, WAL, ``synchronous=FULL``, ``foreign_keys=ON``).  It writes neither
the overview rows nor the run's counters, which the writer adds to each commit.
The database files go to ``TMPDIR`` (``--tmpfs``: ``/dev/shm``); on a disk every commit waits
for an fsync, which bounds both sides alike.
Target: >= 5 M samples/s and >= 50 % of the raw figure at both rates.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from labbench.acquisition.pipeline import BATCH_INTERVAL_S, COMMIT_INTERVAL_S, AcquisitionStats, SampleBatch
from labbench.acquisition.storage_link import StorageLink
from labbench.storage import open_database
from labbench.storage import repository as repo
from labbench.storage.chunks import CHUNK_COLUMNS, chunk_values
from labbench.storage.journal import CommitBatch
from labbench.storage.telemetry import TelemetryWriter


def new_run(path: Path):
    db = open_database(str(path))
    run_id = repo.start_run(db, repo.add_dut(db, "chip", "BENCH").id).id
    return db, run_id


def make_commits(db, run_id: int, seconds: float, channels: int, rate: float) -> list[CommitBatch]:
    """The commit batches the storage link cuts from the reader's batches (times as the rig
    makes them, in order, every channel sampled at every line)."""
    rng = np.random.default_rng(7)
    link = StorageLink(db, run_id, AcquisitionStats(), units={f"ch{c}": "V" for c in range(channels)}, on_fatal=print)
    per_commit = int(round(rate * COMMIT_INTERVAL_S))
    batches_per_commit = int(round(COMMIT_INTERVAL_S / BATCH_INTERVAL_S))
    commits = []
    for i in range(int(seconds / COMMIT_INTERVAL_S)):
        t_commit = (i * per_commit + np.arange(per_commit)) / rate
        commit = CommitBatch(i + 1)
        for t in np.array_split(t_commit, batches_per_commit):
            samples = {f"ch{c}": (t, 0.75 + 0.01 * rng.standard_normal(t.size)) for c in range(channels)}
            link._take(commit, ("batch", SampleBatch(samples, {}, [], [], t.size, 0)))
        commit.counters = {"malformed_count": 0, "console_count": 0}  # as the spooler sets them
        commits.append(commit)
    return commits


class WriterSide:
    """labbench's TelemetryWriter, called as the storage link's forwarder calls it."""

    def __init__(self, db, run_id: int, commits: list[CommitBatch]):
        self.db, self.commits = db, commits
        self.writer = TelemetryWriter(db, run_id)

    def step(self, k: int) -> None:
        batch = self.commits[k]
        self.writer.append_batches([batch])
        self.writer.commit(**batch.counters)

    def close(self) -> None:
        self.writer.close()
        self.db.dispose()


class RawSide:
    """Raw sqlite3: the same chunk rows, built beforehand; only the inserts and commits timed."""

    def __init__(self, path: Path, commits: list[CommitBatch]):
        db, run_id = new_run(path)
        db.dispose()
        self.conn = conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        ids = {}
        self.sql = f"INSERT INTO telemetry_chunks ({', '.join(CHUNK_COLUMNS)}) VALUES ({', '.join('?' * len(CHUNK_COLUMNS))})"
        self.prepared = []
        for seq, batch in enumerate(commits):
            parts: dict[str, list] = {}
            for _, name, unit, t, v in batch.items:
                parts.setdefault(name, []).append((t, v))
            rows = []
            for name, pieces in parts.items():
                if name not in ids:
                    ids[name] = conn.execute(
                        "INSERT INTO channels (run_id, name, unit, position) VALUES (?, ?, 'V', ?)", (run_id, name, len(ids))
                    ).lastrowid
                t = np.concatenate([p[0] for p in pieces])
                v = np.concatenate([p[1] for p in pieces])
                rows.append(chunk_values(run_id, ids[name], seq, t, v))
            self.prepared.append(rows)

    def step(self, k: int) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany(self.sql, self.prepared[k])
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def measure(tmp: Path, seconds: float, channels: int, rate: float, repeat: int) -> tuple[int, int, float, float]:
    """(samples, commits, best writer seconds, best raw seconds).  The two sides take turns
    commit by commit (in alternating order), each in its own file, so a stall of the shared
    disk or CPU hits both alike instead of one whole run."""
    writer_s, raw_s = [], []
    for i in range(repeat):
        db, run_id = new_run(tmp / f"writer{i}.sqlite3")
        commits = make_commits(db, run_id, seconds, channels, rate)
        sides = {"raw": RawSide(tmp / f"raw{i}.sqlite3", commits), "writer": WriterSide(db, run_id, commits)}
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
    total = sum(batch.samples for batch in commits)
    return total, len(commits), min(writer_s), min(raw_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="recorded seconds replayed per rate")
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--rates", type=float, nargs="+", default=[1000.0, 20000.0], help="samples/s per channel")
    parser.add_argument("--repeat", type=int, default=5, help="best of N for each side")
    parser.add_argument("--tmpfs", action="store_true", help="put the database files in /dev/shm")
    args = parser.parse_args()
    where = "/dev/shm" if args.tmpfs else None
    with tempfile.TemporaryDirectory(prefix="labbench-bench-", dir=where) as tmp:
        os.environ["XDG_DATA_HOME"] = tmp  # the storage link's journal directory, never the user's
        print(f"{args.channels} channels, {args.seconds:g} s of recording per rate, a reader batch every "
              f"{BATCH_INTERVAL_S * 1e3:g} ms, a commit every {COMMIT_INTERVAL_S * 1e3:g} ms, "
              f"databases in {Path(tmp).parent}; best of {args.repeat}")
        for rate in args.rates:
            total, commits, writer_s, raw_s = measure(Path(tmp), args.seconds, args.channels, rate, args.repeat)
            writer_rate, raw_rate = total / writer_s, total / raw_s
            print(f"{rate:,.0f} Hz: {total:,} samples, {commits:,} commits of {total // commits // args.channels:,} samples/channel")
            print(f"  labbench forwarder    : {writer_rate / 1e6:8.2f} M samples/s  (target >= 5 M)")
            print(f"  raw sqlite3 baseline  : {raw_rate / 1e6:8.2f} M samples/s")
            print(f"  ratio labbench/raw    : {writer_rate / raw_rate:8.1%}  (target >= 50 %)")


if __name__ == "__main__":
    main()
