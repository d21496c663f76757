"""What per-slot channel names cost the parser, next to the same lines with plain names.

    python benchmarks/slot_names.py [--slots N] [--readings R] [--repeat K]

A simulated sled (``slots=N``) writes R readings in each format.  The same bytes are parsed
three ways, interleaved in one process (best of K each): with bracketed names as the rig sent
them (``vdd_core[2]``), with the brackets rewritten to plain names (``vdd_core_s2``: no slot),
and rewritten to ``chip2_vdd_core`` parsed through a profile's ``slot_pattern``.  Printed:
lines/s of each and the ratios against plain names, which is the price of slots.
"""

from __future__ import annotations

import argparse
import re
import time

from labbench.devices.simulation import RigParams, RigSimulation, encode_line
from labbench.protocols.parser import TelemetryParser
from labbench.protocols.profile import Profile, parse_profile

FORMATS = ("kv", "plotter", "teleplot", "json", "csv")
_SLOTTED = re.compile(rb"([A-Za-z_][A-Za-z0-9_.]*)\[([0-9]+)\]")
CHIP_PATTERN = parse_profile(
    "[line]\nmax_channels = 1024\nslot_pattern = '^chip(?P<slot>[0-9]+)_(?P<name>.+)$'\n"
)
PLAIN = Profile(max_channels=1024)


def sled_lines(fmt: str, slots: int, readings: int) -> bytes:
    sim = RigSimulation(RigParams.from_device(f"mock://nominal?slots={slots}&format={fmt}"))
    return b"".join(encode_line(line) for _ in range(readings) for line in sim.next_lines())


def parse_rate(data: bytes, profile: Profile, repeat: int) -> tuple[float, int]:
    best, lines = float("inf"), 0
    for _ in range(repeat):
        parser = TelemetryParser(profile)
        start = time.perf_counter()
        for offset in range(0, len(data), 65536):
            parser.feed(data[offset : offset + 65536], offset + 1, offset)
        parser.take()
        best = min(best, time.perf_counter() - start)
        lines = parser.lines
        assert parser.malformed == 0
    return lines / best, lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--slots", type=int, default=16)
    ap.add_argument("--readings", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"{args.slots} slots x 8 channels, {args.readings} readings, best of {args.repeat}")
    for fmt in FORMATS:
        bracketed = sled_lines(fmt, args.slots, args.readings)
        plain = _SLOTTED.sub(rb"\1_s\2", bracketed)
        chips = _SLOTTED.sub(rb"chip\2_\1", bracketed)
        rates = {"plain": [], "brackets": [], "slot_pattern": []}
        for _ in range(3):  # interleaved, so a noisy machine slows all three alike
            rates["plain"].append(parse_rate(plain, PLAIN, args.repeat)[0])
            rates["brackets"].append(parse_rate(bracketed, PLAIN, args.repeat)[0])
            rates["slot_pattern"].append(parse_rate(chips, CHIP_PATTERN, args.repeat)[0])
        best = {name: max(values) for name, values in rates.items()}
        print(
            f"{fmt:9s} plain {best['plain'] / 1e3:8.1f} k lines/s   "
            f"brackets {best['brackets'] / best['plain']:.3f}x   "
            f"slot_pattern {best['slot_pattern'] / best['plain']:.3f}x"
        )


if __name__ == "__main__":
    main()
