"""Parse + store rate of each line format, next to key=value measured in the same run.

    python benchmarks/formats.py [--seqs N] [--copies K] [--repeat R]

Each format's lines come from the simulated rig (``format=…``; Serial Studio frames are the
same values in ``/*…*/``): N rig samples, the block repeated K times, fed through labbench's
real pipeline (reader thread, framing, parsing, rings, writer thread, SQLite) from memory in
64 KiB reads, as ``benchmarks/acquisition.py`` does for key=value.  Printed: lines/s and
samples/s per format (best of R), and each format's lines/s as a ratio of key=value's.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from acquisition import MemoryRig

from labbench.acquisition.pipeline import Acquisition
from labbench.devices.simulation import RigParams, RigSimulation, encode_line
from labbench.protocols.profile import Profile, load_profile
from labbench.storage import inventory as inventory_store
from labbench.storage import open_database
from labbench.storage import runs as run_store

FORMATS = (
    "kv",
    "plotter",
    "teleplot",
    "teleplot-full",
    "json",
    "json-nested",
    "csv",
    "serial-studio",
)


def make_lines(fmt: str, seqs: int, copies: int) -> tuple[bytes, int]:
    rig_format = "kv" if fmt == "serial-studio" else fmt
    sim = RigSimulation(RigParams.from_device(f"mock://nominal?rate=1000&format={rig_format}"))
    out = bytearray()
    for _ in range(seqs):
        for line in sim.next_lines():
            if fmt == "serial-studio":
                line = (
                    "/*rig," + ",".join(part.partition("=")[2] for part in line.split(",")) + "*/"
                )
            out += encode_line(line)
    block = bytes(out).replace(b"\r\n", b"\n")
    lines = block.count(b"\n")
    if fmt == "csv":  # the header once, then only rows
        header, _, rows = block.partition(b"\n")
        return header + b"\n" + rows * copies, 1 + (lines - 1) * copies
    return block * copies, lines * copies


def bench(data: bytes, lines: int, profile: Profile, path: Path) -> tuple[float, int]:
    db = open_database(str(path))
    run = run_store.start_run(db, inventory_store.add_dut(db, "chip", "BENCH").id)
    rig = MemoryRig(data)
    acquisition = Acquisition(db, run.id, run.t0_ns, rig, profile)
    begin = time.perf_counter()
    acquisition.start()
    rig.drained.wait()
    stats = acquisition.stop()
    elapsed = time.perf_counter() - begin
    stored = run_store.get_run(db, run.id).sample_count
    db.dispose()
    assert stats.lines == lines and stats.malformed == 0, (stats.lines, lines, stats.malformed)
    return elapsed, stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seqs", type=int, default=10_000, help="rig samples in the block")
    parser.add_argument("--copies", type=int, default=10, help="times the block is repeated")
    parser.add_argument("--repeat", type=int, default=3, help="best of N")
    args = parser.parse_args()
    profile = load_profile("default")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in FORMATS:
            data, lines = make_lines(fmt, args.seqs, args.copies)
            best, samples = min(
                bench(data, lines, profile, Path(tmp) / f"{fmt}-{i}.sqlite3")
                for i in range(args.repeat)
            )
            results[fmt] = (lines / best, samples / best, lines, samples)
    kv_rate = results["kv"][0]
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    head = ("format", "lines", "samples", "k lines/s", "M samples/s", "vs kv")
    print(f"{head[0]:<15} {head[1]:>9} {head[2]:>10} {head[3]:>10} {head[4]:>12} {head[5]:>7}")
    for fmt, (line_rate, sample_rate, lines, samples) in results.items():
        print(
            f"{fmt:<15} {lines:>9} {samples:>10} {line_rate / 1e3:>10.0f} "
            f"{sample_rate / 1e6:>12.2f} {line_rate / kv_rate:>7.2f}"
        )


if __name__ == "__main__":
    main()
