"""The chips of a simulated sled: per-slot channels, each chip's own seeded spread.

A simulated rig with ``slots=N`` is a sled of N chips in slots 0 … N-1.  Each chip has its own
rails, currents, temperatures and clock, reported as ``name[slot]`` (``vdd_core[2]``, the
per-slot naming of docs/architecture.md §3); the inlet temperature and the fan belong to the
sled.  Every chip differs a little from its siblings, as real silicon does: its regulator trim,
its leakage and its thermal contact come from the rig's seed and the slot alone, so chip 2 of
seed 7 is the same chip whatever the size of its sled.  The spread keeps every chip inside the
example plans' limits; a fault aimed at one slot (``slot=2``) is what makes one chip fail.

The simulator names channels itself (devices do not import the line parsers): ``name[slot]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MAX_SLOTS = 64
# A sled's channels go out in lines of this many chips, so that no line comes near the
# 4096-byte line cap (a 64-chip sled in one line would be ~14 kB): 16 chips of key=value or
# plotter pairs are ~2.9 kB (3.4 kB with every number at its longest), 16 chips of JSON
# would be ~3.8 kB, so JSON takes 8.  A 16-chip key=value sled thus sends one line per
# reading, which the parser's fast path takes whole.
SLOTS_PER_LINE = {"kv": 16, "plotter": 16}
DEFAULT_SLOTS_PER_LINE = 8
# A CSV row cannot be split: its header names every column.  32 chips x 8 channels is the
# most whose header and worst-case rows stay below the 4096-byte line cap.
CSV_MAX_SLOTS = 32

PER_SLOT_CHANNELS = (
    "vdd_core", "vdd_hbm", "vdd_io", "idd_core", "idd_hbm", "temp_die", "temp_hbm", "clk_core_mhz",
)  # fmt: skip
SLED_CHANNELS = ("temp_inlet", "fan_rpm")

# Spread between chips (uniform ± these): the example plans' tightest limit is the 0.745 …
# 0.755 V mean of vdd_core, so its trim stays within ± 3 mV.
RAIL_TRIM_V = {"vdd_core": 0.003, "vdd_hbm": 0.01, "vdd_io": 0.01}
LEAKAGE_SPREAD = 0.08  # currents scale by 1 ± this
THERMAL_SPREAD_C = 3.0  # die and HBM temperatures sit ± this above or below their siblings


def slot_channel(name: str, slot: int) -> str:
    return f"{name}[{slot}]"


def sled_channels(slots: int, rails: tuple[str, ...] = ()) -> list[str]:
    """The channels a sled of ``slots`` chips reports, besides ``seq`` (only ``rails`` per
    chip when given, as a ``channels=`` rig does)."""
    per_chip = rails or PER_SLOT_CHANNELS
    sled = [] if rails else list(SLED_CHANNELS)
    return sled + [slot_channel(name, k) for k in range(slots) for name in per_chip]


@dataclass(frozen=True)
class ChipSpread:
    """How one chip differs from a nominal chip (all zero for a rig that is not a sled)."""

    rail_v: dict[str, float] = field(default_factory=lambda: dict.fromkeys(RAIL_TRIM_V, 0.0))
    leakage: float = 1.0
    die_c: float = 0.0
    hbm_c: float = 0.0

    @classmethod
    def seeded(cls, seed: int, slot: int) -> ChipSpread:
        """Chip ``slot`` of a sled simulated with ``seed``: the same chip for any sled size."""
        rng = np.random.default_rng([seed, slot])
        trims = rng.uniform(-1.0, 1.0, len(RAIL_TRIM_V) + 3)
        return cls(
            rail_v={
                name: float(t) * RAIL_TRIM_V[name]
                for name, t in zip(RAIL_TRIM_V, trims[: len(RAIL_TRIM_V)], strict=True)
            },
            leakage=1.0 + float(trims[-3]) * LEAKAGE_SPREAD,
            die_c=float(trims[-2]) * THERMAL_SPREAD_C,
            hbm_c=float(trims[-1]) * THERMAL_SPREAD_C,
        )


@dataclass
class Chip:
    """One chip's state as the rig's firmware tracks it."""

    spread: ChipSpread
    rails: dict[str, float] = field(default_factory=lambda: dict.fromkeys(RAIL_TRIM_V, 0.0))
    temp_die: float = 25.0
    temp_hbm: float = 25.0


def chips_of(seed: int, slots: int) -> list[Chip]:
    """The chips of a sled (one unnamed, nominal chip for a rig that is not a sled)."""
    if not slots:
        return [Chip(ChipSpread())]
    return [Chip(ChipSpread.seeded(seed, k)) for k in range(slots)]


def slots_per_line(fmt: str) -> int:
    return SLOTS_PER_LINE.get(fmt, DEFAULT_SLOTS_PER_LINE)


def line_groups(
    seq_and_sled: dict[str, float], chips: list[dict[str, float]], per_line: int
) -> list[dict[str, float]]:
    """One sled reading as the values of each line: the first line carries the sled's own
    channels and the first ``per_line`` chips; every further line the next chips."""
    groups = []
    for first in range(0, len(chips), per_line):
        group = dict(seq_and_sled) if first == 0 else {}
        for k in range(first, min(first + per_line, len(chips))):
            group.update({slot_channel(name, k): v for name, v in chips[k].items()})
        groups.append(group)
    return groups or [dict(seq_and_sled)]
