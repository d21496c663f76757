"""Screenshots of the shmoo grid for the README, made offscreen as docs/make_screenshots.py
makes the others:

    python docs/make_shmoo_screenshots.py [--out docs]

A realistic 21 x 8 shmoo of one chip (vdd_mv 650 … 850 in 10 mV steps, freq_mhz 1000 … 2400;
Vmin rising with frequency, one marginal point at the edge, one hole, the points above 2200 MHz
aborted, never run) with a second chip's Vmin overlaid, drawn with
:func:`labbench.ui.shmoo_view.render_shmoo_png` at 1280x720 and 1600x1000 in the light theme
(shmoo-1280.png, shmoo-1600.png) and at 1600x1000 in the dark one (shmoo-1600-dark.png).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from labbench.criteria.shmoo import Shmoo, SweepPoint, build_shmoo
from labbench.ui.shmoo_view import render_shmoo_png
from labbench.ui.theme import THEMES

XS = tuple(range(650, 851, 10))  # 21 core voltages, mV
YS = tuple(range(1000, 2401, 200))  # 8 clocks, MHz
SHOTS = (("shmoo-1280.png", 1280, 720, "light"), ("shmoo-1600.png", 1600, 1000, "light"))
SHOTS += (("shmoo-1600-dark.png", 1600, 1000, "dark"),)


def _chip(vmin_at_1000: float, slope: float, hole=None, marginal=None, stop_after=None) -> Shmoo:
    """A chip whose Vmin rises ``slope`` mV per MHz; points run x fastest, low y first."""
    points = []
    order = 0
    for y in YS:
        vmin = vmin_at_1000 + slope * (y - 1000)
        for x in XS:
            ran = stop_after is None or order < stop_after
            verdict = ("passed" if x >= vmin else "failed") if ran else None
            if (x, y) == hole or (ran and (x, y) == marginal):
                verdict = "failed" if (x, y) == hole else "marginal"
            points.append(SweepPoint(x, y, order if ran else None, verdict))
            order += 1
    return build_shmoo("vdd_mv", "freq_mhz", points)


def demo_shmoo() -> tuple[Shmoo, Shmoo]:
    """Chip A (a hole at 760 mV, 1800 MHz; aborted in its last row) and chip B."""
    a = _chip(676, 0.062, hole=(760, 1800), marginal=(740, 1400), stop_after=7 * len(XS) + 9)
    b = _chip(668, 0.055)
    return a, b


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    a, b = demo_shmoo()
    for name, width, height, theme in SHOTS:
        png = render_shmoo_png(a, width, height, ("chip B Vmin", b), THEMES[theme])
        (out / name).write_bytes(png)
        print(out / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
