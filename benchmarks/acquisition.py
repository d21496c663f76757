"""Acquisition throughput: parse + store from memory, and a real pty at the mock rig's top rate.

    python benchmarks/acquisition.py [--lines N] [--pty-seconds S] [--skip-pty]

1. From memory: N 8-channel key=value lines go through labbench's real pipeline (reader
   thread, framing, parsing, ring buffers, writer thread, SQLite chunks).  Baseline, same
   run, same data: plain ``str.split`` + ``float`` parsing and raw ``sqlite3`` inserts of the
   resulting chunks.  Target (DESIGN.md §7): >= 250 k lines/s end to end.
2. Through a pty: the mock rig's nominal telemetry at its top rate for S seconds, recorded by
   ``labbench.record`` through pyserial.  "Lines sent" is the sender's own count of the lines
   it wrote to the pty (it starts once the recorder has the port open, since pyserial
   flushes what came before, and stops after S seconds while the recorder keeps reading);
   every seq 0..sent-1 must be stored exactly once (target: zero lost).  CPU per 1,000 lines
   is shown next to a bare pyserial read loop on the same sender.
"""

from __future__ import annotations

import argparse
import os
import select
import sqlite3
import tempfile
import threading
import time
import tty
from pathlib import Path

import numpy as np

from labbench.acquisition.pipeline import Acquisition
from labbench.acquisition.record import record
from labbench.devices.simulation import MAX_RATE_HZ, RigParams, RigSimulation, encode_line
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


class PtySender:
    """The rig's end of a pseudo-terminal: nominal telemetry at ``rate`` for ``seconds``,
    counting every line it writes.  It waits for a client to open the port first."""

    def __init__(self, rate: float, seconds: float):
        self.rate, self.seconds = rate, seconds
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.sent = 0
        self.sending_s = 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="pty-sender", daemon=True)
        self.thread.start()

    def _client_has_port(self) -> bool:
        # The client runs in this process: another descriptor on the pty's slave is its port.
        fds = 0
        for fd in os.listdir("/proc/self/fd"):
            try:
                fds += os.readlink(f"/proc/self/fd/{fd}") == self.path
            except OSError:
                pass
        return fds > 1

    def _run(self) -> None:
        while not self._client_has_port():
            if self.stop.wait(0.005):
                return
        self.stop.wait(0.3)  # pyserial flushes the port's input right after opening it
        sim = RigSimulation(RigParams(rate=self.rate))
        begin = time.monotonic()
        while not self.stop.is_set():
            now = time.monotonic() - begin
            if now >= self.seconds:
                break
            due = min(int(now * self.rate), int(self.seconds * self.rate))
            out = bytearray()
            while sim.seq < due and len(out) < 1 << 16:
                for line in sim.next_lines():
                    out += encode_line(line)
                    self.sent += 1
            view = memoryview(bytes(out))
            while view and not self.stop.is_set():  # the pty is full: wait, never drop
                try:
                    view = view[os.write(self.master, view):]
                except BlockingIOError:
                    select.select([], [self.master], [], 0.05)
            self.stop.wait(0.001)
        self.sending_s = time.monotonic() - begin

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        os.close(self.master)
        os.close(self.slave)


def bench_pty(seconds: float, rate: float, tmp: Path) -> None:
    sender = PtySender(rate, seconds)
    try:
        db = open_database(str(tmp / "pty.sqlite3"))
        dut = repo.add_dut(db, "chip", "BENCH-PTY")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        # The recorder keeps reading 3 s after the sender stops, so every line can arrive.
        summary = record(db, device=sender.path, dut=dut, duration_s=seconds + 3.0, profile=load_profile("default"))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        sender.thread.join()
        sent = sender.sent
        _, seq = read_channel(db, summary.run_id, "seq")
        db.dispose()
    finally:
        sender.close()
    stored = np.unique(seq)
    lost = sent - int(np.isin(np.arange(sent), stored).sum())
    duplicates = seq.size - stored.size
    unexpected = int(((stored < 0) | (stored >= sent)).sum())

    import serial

    base = PtySender(rate, min(seconds, 10.0))
    try:
        port = serial.Serial(base.path, timeout=0.05, exclusive=True)
        base_lines, cpu1 = 0, time.process_time()
        while base.thread.is_alive() or port.in_waiting:
            base_lines += port.read(max(port.in_waiting, 1)).count(b"\n")
        base_cpu = time.process_time() - cpu1
        port.close()
    finally:
        base.close()
    print(f"pty, mock rig (nominal) at {rate:,.0f} lines/s for {seconds:g} s (recorded {wall:.1f} s wall):")
    print(f"  lines sent (the sender's count) : {sent:,} in {sender.sending_s:.1f} s ({sent / max(sender.sending_s, 1e-9):,.0f} lines/s)")
    print(f"  lines stored                    : {seq.size:,}  lost {lost}, duplicated {duplicates}, unexpected {unexpected}  (target 0 lost)")
    print(f"  labbench CPU                    : {cpu / max(seq.size, 1) * 1000 * 1000:.1f} ms per 1,000 lines ({cpu / wall:.0%} of one core)")
    print(f"  bare pyserial read loop CPU     : {base_cpu / max(base_lines, 1) * 1000 * 1000:.1f} ms per 1,000 lines "
          f"(reading only; {base_lines:,} of {base.sent:,} lines sent)")


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
