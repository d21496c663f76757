"""Acquisition throughput: parse + store from memory, and a real pty at the mock rig's top rate.

    python benchmarks/acquisition.py [--lines N] [--pty-seconds S] [--skip-pty]

1. From memory: N 8-channel key=value lines go through labbench's real pipeline (reader
   thread, framing, parsing, ring buffers, writer thread, SQLite chunks).  Baseline, same
   run, same data: plain ``str.split`` + ``float`` parsing and raw ``sqlite3`` inserts of the
   resulting chunks.  Target (DESIGN.md §7): >= 250 k lines/s end to end.
2. Through a pty: ``labbench mock-rig`` at its top rate, recorded by ``labbench.record``
   through pyserial for S seconds: lines sent vs stored (by ``seq``; target zero lost) and
   CPU seconds per 1,000 lines, next to a bare pyserial read loop on the same rig.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from labbench.acquisition.pipeline import Acquisition
from labbench.acquisition.record import record
from labbench.devices.simulation import MAX_RATE_HZ
from labbench.protocols.profile import load_profile
from labbench.storage import open_database
from labbench.storage import repository as repo
from labbench.storage.telemetry import chunk_row, read_channel

KEYS = ["vdd_core", "vdd_hbm", "vdd_io", "idd_core", "idd_hbm", "temp_die", "temp_hbm", "fan_rpm"]
READ_SIZE = 1 << 16


def make_data(n: int) -> bytes:
    rng = np.random.default_rng(1)
    cols = [rng.normal(loc, 0.01 * loc, n) for loc in (0.75, 1.1, 1.8, 12.0, 3.0, 45.0, 40.0, 2400.0)]
    lines = [",".join(f"{k}={c[i]:.6g}" for k, c in zip(KEYS, cols)) for i in range(n)]
    return ("\r\n".join(lines) + "\r\n").encode()


class MemoryRig:
    """A rig whose bytes come from memory, in serial-sized reads."""

    device = "memory://bench"

    def __init__(self, data: bytes):
        self.data = data
        self.drained = threading.Event()

    def open(self):
        rig = self

        class _Transport:
            pos = 0

            def read(self) -> bytes:
                if self.pos >= len(rig.data):
                    rig.drained.set()
                    time.sleep(0.005)
                    return b""
                chunk = rig.data[self.pos : self.pos + READ_SIZE]
                self.pos += READ_SIZE
                return chunk

            def write(self, data: bytes) -> None:
                pass

            def close(self) -> None:
                pass

        return _Transport()


def bench_labbench(data: bytes, n_lines: int, path: Path) -> float:
    db = open_database(str(path))
    run = repo.start_run(db, repo.add_dut(db, "chip", "BENCH").id)
    rig = MemoryRig(data)
    acquisition = Acquisition(db, run.id, run.t0_ns, rig, load_profile("default"))
    begin = time.perf_counter()
    acquisition.start()
    rig.drained.wait()
    stats = acquisition.stop()
    elapsed = time.perf_counter() - begin
    stored = repo.get_run(db, run.id).sample_count
    db.dispose()
    assert stats.lines == n_lines and stored == n_lines * len(KEYS), (stats.lines, stored)
    return elapsed


def bench_baseline(data: bytes, n_lines: int, path: Path) -> float:
    db = open_database(str(path))
    run = repo.start_run(db, repo.add_dut(db, "chip", "BENCH").id)
    db.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=FULL")
    ids = [conn.execute("INSERT INTO channels (run_id, name, unit, position) VALUES (?, ?, '', ?)", (run.id, k, i)).lastrowid for i, k in enumerate(KEYS)]
    columns = ("run_id", "channel_id", "seq", "count", "t_first", "t_last", "v_min", "v_max", "t", "v")
    sql = f"INSERT INTO telemetry_chunks ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    begin = time.perf_counter()
    text = data.decode()
    values: dict[str, list[float]] = {k: [] for k in KEYS}
    for line in text.split("\r\n"):
        if not line:
            continue
        for part in line.split(","):
            key, _, value = part.partition("=")
            values[key].append(float(value))
    t = np.arange(n_lines, dtype=np.float64)
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(sql, [tuple(chunk_row(run.id, ids[i], 0, t, np.array(values[k]))[c] for c in columns) for i, k in enumerate(KEYS)])
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - begin
    conn.close()
    return elapsed


def bench_pty(seconds: float, rate: float, tmp: Path) -> None:
    link = tmp / "rig"
    rig = subprocess.Popen(
        [sys.executable, "-m", "labbench", "mock-rig", "--rate", str(rate), "--link", str(link)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        path = rig.stdout.readline().strip()
        db = open_database(str(tmp / "pty.sqlite3"))
        dut = repo.add_dut(db, "chip", "BENCH-PTY")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        summary = record(db, device=path, dut=dut, duration_s=seconds, profile=load_profile("default"))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        _, seq = read_channel(db, summary.run_id, "seq")
        expected = int(seq[-1] - seq[0] + 1)
        lost = expected - seq.size
        duplicates = seq.size - np.unique(seq).size
        db.dispose()

        import serial

        port = serial.Serial(path, timeout=0.05, exclusive=True)
        base_lines, cpu1 = 0, time.process_time()
        end = time.perf_counter() + min(seconds, 10.0)
        while time.perf_counter() < end:
            base_lines += port.read(max(port.in_waiting, 1)).count(b"\n")
        base_cpu = time.process_time() - cpu1
        port.close()
    finally:
        rig.terminate()
        rig.wait(timeout=10)
    print(f"pty, mock rig at {rate:,.0f} lines/s for {seconds:g} s (recorded {wall:.1f} s wall):")
    print(f"  lines sent (seq {int(seq[0])}..{int(seq[-1])}) : {expected:,}")
    print(f"  lines stored                    : {seq.size:,}  lost {lost}, duplicated {duplicates}  (target 0 lost)")
    print(f"  labbench CPU                    : {cpu / seq.size * 1000 * 1000:.1f} ms per 1,000 lines ({cpu / wall:.0%} of one core)")
    print(f"  bare pyserial read loop CPU     : {base_cpu / max(base_lines, 1) * 1000 * 1000:.1f} ms per 1,000 lines (reading only)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=400_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for each side")
    parser.add_argument("--pty-seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=MAX_RATE_HZ, help="mock rig line rate for the pty part")
    parser.add_argument("--skip-pty", action="store_true")
    args = parser.parse_args()
    data = make_data(args.lines)
    with tempfile.TemporaryDirectory(prefix="labbench-bench-") as tmp:
        ours, base = [], []
        for i in range(args.repeat):
            base.append(bench_baseline(data, args.lines, Path(tmp) / f"base{i}.sqlite3"))
            ours.append(bench_labbench(data, args.lines, Path(tmp) / f"ours{i}.sqlite3"))
            for leftover in Path(tmp).glob("*.sqlite3*"):
                os.unlink(leftover)
        n = args.lines
        print(f"parse + store, {n:,} lines of 8-channel key=value from memory ({len(data) / n:.0f} bytes/line):")
        print(f"  labbench pipeline : {n / min(ours) / 1e3:8.0f} k lines/s  {n * 8 / min(ours) / 1e6:6.2f} M samples/s  (target >= 250 k lines/s)")
        print(f"  split+float+sqlite3 baseline : {n / min(base) / 1e3:8.0f} k lines/s  {n * 8 / min(base) / 1e6:6.2f} M samples/s")
        print(f"  ratio labbench/baseline : {min(base) / min(ours):.2f}x")
        if not args.skip_pty:
            bench_pty(args.pty_seconds, args.rate, Path(tmp))


if __name__ == "__main__":
    main()
