"""Many stations, one PostgreSQL server, restarted mid-run: nothing lost, nothing twice.

    python benchmarks/stations.py [--stations 8] [--duration 600] [--baseline-duration S]

A private PostgreSQL server is started for the benchmark (initdb into a temporary folder, as
the ``postgres`` user; see ``tests/pg_server.py``).  Each station is its own process doing what
a lab station does: a sender writes 16-channel ``key=value`` lines (``seq`` + 15 channels) at
1 kHz into a pseudo-terminal, and labbench's acquisition pipeline reads that port through
pyserial and stores into the server (store and forward, as ``labbench record`` does).  Half
way through, the server is restarted (``pg_ctl stop -m fast`` + start).

Checked per station against the sender's own count of lines: the stored ``seq`` channel is
exactly 0 .. sent-1 (nothing lost, nothing stored twice) and the run holds sent x 16 samples.
Reported: per-commit latency p50/p99 over all stations, the server's CPU seconds per station
and minute, and the same for one station under the same load and restart (the ratio).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import tty
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHANNELS = 16
RATE_HZ = 1000


def _line(seq: int) -> bytes:
    values = ",".join(f"ch{i:02d}={(seq % 1000) * 0.001 + i:.4f}" for i in range(1, CHANNELS))
    return f"seq={seq},{values}\n".encode()


def _send(master: int, duration_s: float) -> int:
    """Write duration_s x RATE_HZ lines, paced at RATE_HZ (catching up when late)."""
    began = time.monotonic()
    sent = 0
    total = int(duration_s * RATE_HZ)
    tick = threading.Event()
    while sent < total:
        due = min(int((time.monotonic() - began) * RATE_HZ) + 1, total)
        if due > sent:
            os.write(master, b"".join(_line(n) for n in range(sent, due)))
            sent = due
        tick.wait(0.01)
    return sent


def station(url: str, index: int, duration_s: float, out_path: str) -> None:
    """One station process: sender + labbench pipeline into the server."""
    from labbench.acquisition.pipeline import Acquisition
    from labbench.acquisition.rigs import make_rig
    from labbench.protocols.profile import load_profile
    from labbench.storage import inventory as inventory_store
    from labbench.storage import open_database
    from labbench.storage import runs as run_store

    db = open_database(url, migrate=False)
    dut = inventory_store.find_dut(db, f"BENCH-{index}")
    master, slave = os.openpty()
    tty.setraw(slave)
    device = os.ttyname(slave)
    profile = load_profile("default")
    run = run_store.start_run(db, dut.id, device=device, profile=profile.name, pid=os.getpid())
    acquisition = Acquisition(db, run.id, run.t0_ns, make_rig(device, profile), profile)
    acquisition.start()
    sent = _send(master, duration_s)
    deadline = time.monotonic() + 60
    wait = threading.Event()
    while acquisition.stats.lines < sent and time.monotonic() < deadline:
        wait.wait(0.05)
    stats = acquisition.stop()
    run_store.finish_run(
        db,
        run.id,
        "recorded" if not stats.errors else "error",
        error_message="; ".join(stats.errors),
    )
    os.close(master)
    os.close(slave)
    db.dispose()
    Path(out_path).write_text(
        json.dumps(
            {
                "run_id": run.id,
                "sent": sent,
                "lines": stats.lines,
                "stalls": stats.storage_stalls,
                "errors": stats.errors,
                "commit_s": list(acquisition.storage.commit_seconds),
            }
        )
    )


def _phase(server, stations: int, duration_s: float, first_index: int) -> dict:
    """Run ``stations`` station processes with one server restart half way; their results."""
    from labbench.storage import inventory as inventory_store
    from labbench.storage import open_database

    db = open_database(server.url)
    for i in range(first_index, first_index + stations):
        inventory_store.add_dut(db, "chip", f"BENCH-{i}")
    db.dispose()
    outs = [tempfile.mktemp(suffix=".json") for _ in range(stations)]
    cpu_before = server.cpu_seconds()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--station-child",
                server.url,
                str(first_index + i),
                str(duration_s),
                outs[i],
            ],
            cwd=ROOT,
        )
        for i in range(stations)
    ]
    began = time.monotonic()
    wait = threading.Event()
    wait.wait(duration_s / 2)
    cpu = server.cpu_seconds() - cpu_before
    restart_began = time.monotonic()
    server.stop()
    server.start()
    print(
        f"  server restarted at {restart_began - began:.1f} s (down "
        f"{time.monotonic() - restart_began:.1f} s)",
        flush=True,
    )
    cpu_before = server.cpu_seconds()
    for proc in procs:
        if proc.wait(timeout=duration_s + 600) != 0:
            raise SystemExit(f"a station process failed (exit {proc.returncode})")
    elapsed = time.monotonic() - began
    cpu += server.cpu_seconds() - cpu_before
    results = [json.loads(Path(p).read_text()) for p in outs]
    for p in outs:
        os.unlink(p)
    _check(server.url, results)
    latencies = np.array([s for r in results for s in r["commit_s"]])
    return {
        "stations": stations,
        "elapsed_s": elapsed,
        "sent_lines": sum(r["sent"] for r in results),
        "stalls": sum(r["stalls"] for r in results),
        "commits": latencies.size,
        "p50_ms": float(np.percentile(latencies, 50) * 1e3),
        "p99_ms": float(np.percentile(latencies, 99) * 1e3),
        "server_cpu_s": cpu,
        "cpu_per_station_min": cpu / stations / (elapsed / 60),
    }


def _check(url: str, results: list[dict]) -> None:
    """Every station's stored seq is exactly what its sender sent, once."""
    from labbench.storage import open_database
    from labbench.storage import runs as run_store
    from labbench.storage.telemetry_read import read_channel

    db = open_database(url)
    try:
        for r in results:
            if r["errors"]:
                raise SystemExit(f"run {r['run_id']} had errors: {r['errors']}")
            _, seq = read_channel(db, r["run_id"], "seq")
            expected = np.arange(r["sent"], dtype=float)
            if seq.size != expected.size or not np.array_equal(seq, expected):
                lost = np.setdiff1d(expected, seq).size
                twice = seq.size - np.unique(seq).size
                raise SystemExit(
                    f"run {r['run_id']}: sent {r['sent']}, stored {seq.size} ({lost} lost, "
                    f"{twice} twice)"
                )
            run = run_store.get_run(db, r["run_id"])
            if run.sample_count != r["sent"] * CHANNELS or run.status != "recorded":
                raise SystemExit(f"run {r['run_id']}: {run.sample_count} samples, {run.status}")
    finally:
        db.dispose()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--station-child":
        url, index, duration, out = sys.argv[2:6]
        station(url, int(index), float(duration), out)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=8)
    parser.add_argument(
        "--duration", type=float, default=600.0, help="seconds each station records (default 600)"
    )
    parser.add_argument(
        "--baseline-duration",
        type=float,
        help="seconds of the one-station run (default: min(duration, 120))",
    )
    args = parser.parse_args()
    baseline_s = args.baseline_duration or min(args.duration, 120.0)

    from tests.pg_server import PrivatePostgres

    server = PrivatePostgres()
    try:
        server.start()
        print(
            f"{args.stations} stations x {CHANNELS} ch x {RATE_HZ} Hz for {args.duration:g} s, "
            f"server restarted half way"
        )
        many = _phase(server, args.stations, args.duration, 0)
        print(f"  {many['sent_lines']:,} lines sent, all stored once; {many['commits']:,} commits")
        print(f"1 station, same load, {baseline_s:g} s, server restarted half way")
        one = _phase(server, 1, baseline_s, args.stations)
        print(f"  {one['sent_lines']:,} lines sent, all stored once; {one['commits']:,} commits")
    finally:
        server.destroy()
    print()
    print(f"{'':28}{'1 station':>12}{f'{args.stations} stations':>14}{'ratio':>9}")
    for key, label in (
        ("p50_ms", "commit latency p50 (ms)"),
        ("p99_ms", "commit latency p99 (ms)"),
        ("cpu_per_station_min", "server CPU s/station/min"),
    ):
        ratio = many[key] / one[key] if one[key] else float("nan")
        print(f"{label:28}{one[key]:12.2f}{many[key]:14.2f}{ratio:9.2f}")
    print(f"{'server CPU s (total)':28}{one['server_cpu_s']:12.2f}{many['server_cpu_s']:14.2f}")
    print("nothing lost, nothing duplicated (stored seq == 0..sent-1 for every station)")


if __name__ == "__main__":
    main()
