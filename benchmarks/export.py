"""Telemetry CSV export: samples/s next to a plain csv.writer loop, and memory vs run length.

    python benchmarks/export.py [--samples N] [--channels C]

The run is stored first (8 channels sampled together, like key=value lines).  labbench's
export streams it from the database chunk by chunk and merges channels by time; the baseline
writes the same arrays, already in memory, with a bare ``csv.writer`` loop (``repr`` per
value).  Memory: peak traced allocations while exporting a run of N and of 4N samples.
Target (docs/architecture.md §7): >= 1 M samples/s, memory flat as the run grows.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from labbench.export.csv_report import write_telemetry
from labbench.storage import inventory as inventory_store
from labbench.storage import open_database
from labbench.storage import runs as run_store
from labbench.storage.telemetry import TelemetryWriter


def make_run(path: Path, per_channel: int, channels: int):
    db = open_database(str(path))
    run = run_store.start_run(db, inventory_store.add_dut(db, "chip", "BENCH").id)
    writer = TelemetryWriter(db, run.id)
    rng = np.random.default_rng(3)
    t = np.arange(per_channel) / 1000.0
    data = {f"ch{c}": rng.normal(0.75 * (c + 1), 0.01, per_channel) for c in range(channels)}
    for start in range(0, per_channel, 100_000):
        for name, v in data.items():
            writer.append(name, t[start : start + 100_000], v[start : start + 100_000], unit="V")
        writer.commit()
    writer.close()
    return db, run.id, t, data


def baseline(path: Path, t: np.ndarray, data: dict) -> float:
    begin = time.perf_counter()
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["t_s"] + [f"{name} (V)" for name in data])
        writer.writerows(
            zip(map(repr, t.tolist()), *(map(repr, v.tolist()) for v in data.values()), strict=True)
        )
    return time.perf_counter() - begin


def peak_export_memory(tmp: Path, per_channel: int, channels: int) -> float:
    db, run_id, _, _ = make_run(tmp / f"mem{per_channel}.sqlite3", per_channel, channels)
    tracemalloc.start()
    write_telemetry(db, run_id, tmp / f"mem{per_channel}.csv", "wide")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    db.dispose()
    return peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=500_000, help="samples per channel")
    parser.add_argument("--channels", type=int, default=8)
    args = parser.parse_args()
    total = args.samples * args.channels
    with tempfile.TemporaryDirectory(prefix="labbench-bench-") as tmp_name:
        tmp = Path(tmp_name)
        db, run_id, t, data = make_run(tmp / "run.sqlite3", args.samples, args.channels)
        times = {}
        for layout in ("wide", "long"):
            begin = time.perf_counter()
            written = write_telemetry(db, run_id, tmp / f"{layout}.csv", layout)
            times[layout] = time.perf_counter() - begin
            assert written == total
        base = baseline(tmp / "baseline.csv", t, data)
        db.dispose()
        print(f"telemetry export, {total:,} samples ({args.channels} channels x {args.samples:,}):")
        print(f"  labbench wide : {total / times['wide'] / 1e6:6.2f} M samples/s  (target >= 1 M)")
        print(f"  labbench long : {total / times['long'] / 1e6:6.2f} M samples/s")
        print(
            f"  plain csv.writer loop over in-memory arrays (wide) : {total / base / 1e6:6.2f} M "
            f"samples/s"
        )
        print(f"  ratio labbench wide / baseline : {base / times['wide']:.2f}")
        small, large = args.samples // 4, args.samples
        m_small = peak_export_memory(tmp, small, args.channels)
        m_large = peak_export_memory(tmp, large, args.channels)
        print(
            f"  peak traced memory exporting {small * args.channels:,} samples: {m_small:.1f} MB; "
            f"{large * args.channels:,} samples: {m_large:.1f} MB  (flat: ratio "
            f"{m_large / m_small:.2f})"
        )


if __name__ == "__main__":
    main()
