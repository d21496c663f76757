"""The simulated chip's margins: whether its built-in self test passes at a core voltage and
clock (docs/architecture.md §11), so that sweeps and shmoo plots can be tried without hardware.

* Vmin rises with frequency: ``VMIN_MV_AT_1GHZ`` at 1000 MHz plus ``VMIN_MV_PER_MHZ`` per MHz
  above it, shifted by the chip's own offset (uniform ± ``VMIN_SPREAD_MV``), seeded by the
  rig's seed and the chip's slot alone: the same seed gives the same chip, and so the same
  answers.
* Above Vmin the test passes, except at an occasional deterministic hole: a point whose hash
  (seed, slot, voltage, clock) falls below ``hole_rate`` fails as marginal silicon does.  The
  rig's nominal operating point is never a hole (a chip that passes BIST at power-on stays a
  passing chip for the plans that never sweep).
"""

from __future__ import annotations

import hashlib

import numpy as np

VMIN_MV_AT_1GHZ = 600.0
VMIN_MV_PER_MHZ = 0.15  # 30 mV per 200 MHz
VMIN_SPREAD_MV = 15.0
NOMINAL_VDD_MV = 750.0
NOMINAL_FREQ_MHZ = 1500.0
HOLE_RATE = 0.02


def vmin_offset_mv(seed: int, slot: int) -> float:
    """The chip's own Vmin shift; its own random stream, so other spreads stay as they were."""
    return float(np.random.default_rng([seed, slot, 14]).uniform(-1.0, 1.0)) * VMIN_SPREAD_MV


def vmin_mv(seed: int, slot: int, freq_mhz: float) -> float:
    """The lowest core voltage (mV) at which the chip passes BIST at ``freq_mhz``."""
    return VMIN_MV_AT_1GHZ + VMIN_MV_PER_MHZ * (freq_mhz - 1000.0) + vmin_offset_mv(seed, slot)


def is_hole(seed: int, slot: int, vdd_mv: float, freq_mhz: float, rate: float = HOLE_RATE) -> bool:
    """Whether this point is one of the chip's rare failures above Vmin."""
    if (vdd_mv, freq_mhz) == (NOMINAL_VDD_MV, NOMINAL_FREQ_MHZ) or rate <= 0:
        return False
    digest = hashlib.blake2b(
        f"{seed}:{slot}:{vdd_mv!r}:{freq_mhz!r}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big") / 2.0**64 < rate


def bist_passes(
    seed: int, slot: int, vdd_mv: float, freq_mhz: float, hole_rate: float = HOLE_RATE
) -> bool:
    """The chip's BIST at this core voltage and clock."""
    return vdd_mv >= vmin_mv(seed, slot, freq_mhz) and not is_hole(
        seed, slot, vdd_mv, freq_mhz, hole_rate
    )
