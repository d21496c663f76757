"""Acquisition throughput: parse + store from memory, and a real pty at the mock rig's top rate.

    python benchmarks/acquisition.py [--lines N] [--pty-seconds S] [--skip-pty]

1. From memory: N 8-channel key=value lines go through labbench's real pipeline (reader
   thread, framing, parsing, ring buffers, the storage link's spooler and forwarder threads,
   ``TelemetryWriter`` committing every 150 ms into SQLite, raw reads stored too), read in
   64 KiB pieces (the serial transport reads up to 1 MiB at a time).  Baseline, same
   run, same data: plain ``str.split`` + ``float`` parsing and raw ``sqlite3`` inserts of the
   resulting chunks.  Target: >= 250 k lines/s end to end.
2. Through a pty: the mock rig's nominal telemetry at its top rate for S seconds, recorded by
   ``labbench.record`` through pyserial.  "Lines sent" is the sender's own count of the lines
   it wrote to the pty (it starts once the recorder, or the serial pump that reads a local
   port for it, has the port open, since pyserial flushes what came before, and stops after
   S seconds while the recorder keeps reading); every seq 0..sent-1 must be stored exactly
   once (target: zero lost).  CPU per 1,000 lines (the recorder's and its pump's) is shown
   next to a bare pyserial read loop on the same sender.
"""

from __future__ import annotations

import argparse
import os
import select
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import tty
from pathlib import Path

import numpy as np

from labbench.acquisition.pipeline import Acquisition
from labbench.devices.simulation import MAX_RATE_HZ, RigParams, RigSimulation, encode_line
from labbench.protocols.profile import load_profile
from labbench.runs.recording import record
from labbench.storage import inventory as inventory_store
from labbench.storage import open_database
from labbench.storage import runs as run_store
from labbench.storage.telemetry import chunk_row
from labbench.storage.telemetry_read import read_channel

KEYS = ["vdd_core", "vdd_hbm", "vdd_io", "idd_core", "idd_hbm", "temp_die", "temp_hbm", "fan_rpm"]
READ_SIZE = 1 << 16


def make_data(n: int) -> bytes:
    rng = np.random.default_rng(1)
    cols = [
        rng.normal(loc, 0.01 * loc, n) for loc in (0.75, 1.1, 1.8, 12.0, 3.0, 45.0, 40.0, 2400.0)
    ]
    lines = [",".join(f"{k}={c[i]:.6g}" for k, c in zip(KEYS, cols, strict=True)) for i in range(n)]
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
    run = run_store.start_run(db, inventory_store.add_dut(db, "chip", "BENCH").id)
    rig = MemoryRig(data)
    acquisition = Acquisition(db, run.id, run.t0_ns, rig, load_profile("default"))
    begin = time.perf_counter()
    acquisition.start()
    rig.drained.wait()
    stats = acquisition.stop()
    elapsed = time.perf_counter() - begin
    stored = run_store.get_run(db, run.id).sample_count
    db.dispose()
    assert stats.lines == n_lines and stored == n_lines * len(KEYS), (stats.lines, stored)
    return elapsed


def bench_baseline(data: bytes, n_lines: int, path: Path) -> float:
    db = open_database(str(path))
    run = run_store.start_run(db, inventory_store.add_dut(db, "chip", "BENCH").id)
    db.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=FULL")
    ids = [
        conn.execute(
            "INSERT INTO channels (run_id, name, unit, position) VALUES (?, ?, '', ?)",
            (run.id, k, i),
        ).lastrowid
        for i, k in enumerate(KEYS)
    ]
    columns = (
        "run_id",
        "channel_id",
        "seq",
        "count",
        "t_first",
        "t_last",
        "v_min",
        "v_max",
        "t",
        "v",
    )
    marks = ", ".join("?" * len(columns))
    sql = f"INSERT INTO telemetry_chunks ({', '.join(columns)}) VALUES ({marks})"
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
    conn.executemany(
        sql,
        [
            tuple(chunk_row(run.id, ids[i], 0, t, np.array(values[k]))[c] for c in columns)
            for i, k in enumerate(KEYS)
        ],
    )
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - begin
    conn.close()
    return elapsed


class PtySender:
    """The rig's end of a pseudo-terminal: nominal telemetry at ``rate`` for ``seconds``,
    counting every line it writes.  It runs in its own process (``--serve-pty``), as a rig
    would, and starts once the client process has the port open."""

    def __init__(self, rate: float, seconds: float, client_pid: int):
        self.rate, self.seconds, self.client_pid = rate, seconds, client_pid
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.sent = 0

    def _client_has_port(self) -> bool:
        """Whether the client or a child of it (the serial pump that reads a local port for
        it) has the port open."""
        # The sender is a child of the client too, and holds the pty's other end open.
        children = [pid for pid in _children(self.client_pid) if pid != os.getpid()]
        for pid in (self.client_pid, *children):
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == self.path:
                        return True
                except OSError:
                    pass
        return False

    def prepare(self) -> None:
        """Make every line first, so that sending costs nothing but writes."""
        sim = RigSimulation(RigParams(rate=self.rate))
        lines: list[bytes] = []
        while sim.seq < int(self.seconds * self.rate):
            lines.extend(encode_line(line) for line in sim.next_lines())
        self.data = b"".join(lines)
        self.ends = np.cumsum([len(line) for line in lines])
        self.full_waits = 0

    def serve(self) -> float:
        """Send each line when it is due; returns the seconds spent sending."""
        while not self._client_has_port():
            time.sleep(0.005)
        time.sleep(0.3)  # pyserial flushes the port's input right after opening it
        view = memoryview(self.data)
        begin = time.monotonic()
        pos = 0
        give_up = begin + self.seconds + 2.5  # the client stops reading 3.5 s after the start
        while self.sent < self.ends.size and time.monotonic() < give_up:
            due = min(int((time.monotonic() - begin) * self.rate), self.ends.size)
            if due > self.sent:
                end = int(self.ends[due - 1])
                while pos < end and time.monotonic() < give_up:  # the pty is full: wait, never drop
                    try:
                        pos += os.write(self.master, view[pos:end])
                    except BlockingIOError:
                        self.full_waits += 1
                        select.select([], [self.master], [], 0.05)
                # Whole lines written; a line cut short by giving up does not count.
                self.sent = int(np.searchsorted(self.ends, pos, side="right"))
            time.sleep(0.001)
        return time.monotonic() - begin


def _cpu_with_children() -> float:
    user, system, children_user, children_system, _ = os.times()
    return user + system + children_user + children_system


def _children(pid: int) -> list[int]:
    """The child processes of ``pid`` (/proc/PID/task/TID/children: Linux 3.5+ with
    CONFIG_PROC_CHILDREN, as Debian's and Ubuntu's kernels have it)."""
    children = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                children += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return children


def serve_pty(rate: float, seconds: float) -> None:
    """``--serve-pty``: print the pty's path, send, then print what was sent; stays until
    stdin closes so the pty outlives the client's last read."""
    sender = PtySender(rate, seconds, os.getppid())
    sender.prepare()
    print(sender.path, flush=True)
    sending_s = sender.serve()
    print(f"sent {sender.sent} {sending_s:.3f} {sender.full_waits}", flush=True)
    sys.stdin.read()


class SenderProcess:
    def __init__(self, rate: float, seconds: float):
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-pty", str(rate), str(seconds)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.path = self.process.stdout.readline().strip()

    def result(self) -> tuple[int, float, int]:
        """(lines sent, seconds sending, waits for a full pty), once the sender has finished."""
        _, sent, seconds, waits = self.process.stdout.readline().split()
        return int(sent), float(seconds), int(waits)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


def bench_pty(seconds: float, rate: float, tmp: Path) -> None:
    sender = SenderProcess(rate, seconds)
    try:
        db = open_database(str(tmp / "pty.sqlite3"))
        dut = inventory_store.add_dut(db, "chip", "BENCH-PTY")
        # CPU of this process and of the children it reaped: the serial pump reading the port
        cpu0, wall0 = _cpu_with_children(), time.perf_counter()
        # The recorder keeps reading 3 s after the sender's last line, so every line can arrive.
        summary = record(
            db,
            device=sender.path,
            dut=dut,
            duration_s=seconds + 3.5,
            profile=load_profile("default"),
        )
        cpu, wall = _cpu_with_children() - cpu0, time.perf_counter() - wall0
        sent, sending_s, full_waits = sender.result()
        _, seq = read_channel(db, summary.run_id, "seq")
        db.dispose()
    finally:
        sender.close()
    stored = np.unique(seq)
    lost = sent - int(np.isin(np.arange(sent), stored).sum())
    duplicates = seq.size - stored.size
    unexpected = int(((stored < 0) | (stored >= sent)).sum())

    import serial

    base = SenderProcess(rate, min(seconds, 10.0))
    try:
        port = serial.Serial(base.path, timeout=0.05, exclusive=True)
        base_lines, cpu1 = 0, time.process_time()
        end = time.perf_counter() + min(seconds, 10.0) + 1.5
        while time.perf_counter() < end:
            base_lines += port.read(max(port.in_waiting, 1)).count(b"\n")
        base_cpu = time.process_time() - cpu1
        port.close()
        base_sent, _, _ = base.result()
    finally:
        base.close()
    print(
        f"pty, mock rig (nominal) at {rate:,.0f} lines/s for {seconds:g} s "
        f"(recorded {wall:.1f} s wall):"
    )
    print(
        f"  lines sent (the sender's count) : {sent:,} in {sending_s:.1f} s "
        f"({sent / max(sending_s, 1e-9):,.0f} lines/s; it waited {full_waits} times for a full pty)"
    )
    print(
        f"  lines stored                    : {seq.size:,}  lost {lost}, duplicated {duplicates}, "
        f"unexpected {unexpected}  (target 0 lost)"
    )
    print(
        f"  labbench CPU                    : {cpu / max(seq.size, 1) * 1e6:.1f} ms per 1,000 "
        f"lines ({cpu / wall:.0%} of one core)"
    )
    print(
        f"  bare pyserial read loop CPU     : {base_cpu / max(base_lines, 1) * 1e6:.1f} ms per "
        f"1,000 lines (reading only; {base_lines:,} of {base_sent:,} lines sent)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=400_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for each side")
    parser.add_argument("--pty-seconds", type=float, default=30.0)
    parser.add_argument(
        "--rate", type=float, default=MAX_RATE_HZ, help="mock rig line rate for the pty part"
    )
    parser.add_argument("--skip-pty", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--serve-pty", nargs=2, type=float, metavar=("RATE", "SECONDS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve_pty:
        serve_pty(*args.serve_pty)
        return
    with tempfile.TemporaryDirectory(prefix="labbench-bench-") as tmp:
        if not args.skip_memory:
            bench_memory(args.lines, args.repeat, Path(tmp))
        if not args.skip_pty:
            bench_pty(args.pty_seconds, args.rate, Path(tmp))


def bench_memory(n: int, repeat: int, tmp: Path) -> None:
    data = make_data(n)
    ours, base = [], []
    for i in range(repeat):
        base.append(bench_baseline(data, n, tmp / f"base{i}.sqlite3"))
        ours.append(bench_labbench(data, n, tmp / f"ours{i}.sqlite3"))
        for leftover in tmp.glob("*.sqlite3*"):
            os.unlink(leftover)
    load = os.getloadavg()
    print(
        f"parse + store, {n:,} lines of 8-channel key=value from memory "
        f"({len(data) / n:.0f} bytes/line, {READ_SIZE >> 10} KiB reads; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}):"
    )
    print(f"  each run, k lines/s: labbench {', '.join(f'{n / s / 1e3:.0f}' for s in ours)}")
    print(f"                       baseline {', '.join(f'{n / s / 1e3:.0f}' for s in base)}")
    print(
        f"  labbench pipeline (best)     : {n / min(ours) / 1e3:6.0f} k lines/s "
        f"{n * 8 / min(ours) / 1e6:6.2f} M samples/s  (target >= 250 k lines/s)"
    )
    print(
        f"  split+float+sqlite3 baseline : {n / min(base) / 1e3:6.0f} k lines/s "
        f"{n * 8 / min(base) / 1e6:6.2f} M samples/s"
    )
    print(f"  ratio labbench/baseline : {min(base) / min(ours):.2f}x")


if __name__ == "__main__":
    main()
