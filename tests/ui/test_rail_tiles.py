"""Rail tiles on a sled: a per-slot channel's chips feed their plan channel's tile, which shows
the chip nearest a limit and the worst chip's verdict."""

from __future__ import annotations

import numpy as np

from labbench.criteria.limits import Band
from labbench.ui.rail_tiles import RailTiles
from labbench.ui.theme import LIGHT


def test_a_sleds_chips_feed_their_channels_tile(qapp):
    tiles = RailTiles(LIGHT)
    tiles.set_channels({"vdd_core": "V", "fan_rpm": "rpm"})
    tiles.begin_step({"vdd_core": Band(low=0.72, high=0.78)}, {"vdd_core": 0.0})
    t = np.linspace(0.1, 0.2, 5)
    for slot, level in ((0, 0.75), (1, 0.749), (2, 0.70), (3, 0.751)):
        tiles.feed(f"vdd_core[{slot}]", t, np.full(5, level))
    tiles.feed("vdd_hbm[2]", t, np.full(5, 1.1))  # no tile: ignored
    tiles.feed("fan_rpm", t, np.full(5, 2400.0))
    tile = tiles.tiles["vdd_core"]
    assert tile.value_slot == 2 and tile.value == 0.70  # beyond the low limit: shown
    assert (tile.step_min, tile.step_max) == (0.70, 0.751)
    assert tiles.tiles["fan_rpm"].value == 2400.0 and tiles.tiles["fan_rpm"].value_slot is None
    tiles.set_verdicts({"vdd_core[0]": "passed", "vdd_core[2]": "failed", "fan_rpm": "passed"})
    assert tile.verdict == "failed" and tiles.tiles["fan_rpm"].verdict == "passed"
    tiles.refresh()
    assert "(slot 2)" in tile.text.text() and "FAILED" in tile.text.text()
