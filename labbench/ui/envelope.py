"""A channel's min/max envelope, grown as samples arrive, for drawing long stretches fast.

A frame of the live view must not cost more as the run grows (docs/architecture.md §8).  Samples are
folded once, as they come, into blocks of ``BLOCK`` (first/last time, min, max), and blocks
four at a time into coarser levels; drawing picks the level that has about a block per
pixel, so a frame reads a few thousand numbers whether the run is a minute or a day old.
"""

from __future__ import annotations

import numpy as np

# 64 samples a block: a 10 s window at 1 kHz still gets a block every few pixels (256 drew it
# as 39 steps, a droop's shape lost), while the blocks of a day-long run stay a small
# fraction of what the samples would take.
BLOCK = 64
FANOUT = 4


class _Level:
    """Growable arrays of blocks: first time, last time, min, max."""

    def __init__(self):
        self.n = 0
        self.cap = 1024
        self.t0 = np.empty(self.cap)
        self.t1 = np.empty(self.cap)
        self.lo = np.empty(self.cap)
        self.hi = np.empty(self.cap)

    def append(self, t0, t1, lo, hi) -> None:
        need = self.n + len(t0)
        if need > self.cap:
            cap = max(need, 2 * self.cap)
            for name in ("t0", "t1", "lo", "hi"):
                old = getattr(self, name)
                new = np.empty(cap)
                new[: self.n] = old[: self.n]
                setattr(self, name, new)
            self.cap = cap
        a, b = self.n, need
        self.t0[a:b], self.t1[a:b], self.lo[a:b], self.hi[a:b] = t0, t1, lo, hi
        self.n = need

    def view(self, a: int = 0, b: int | None = None):
        b = self.n if b is None else b
        return self.t0[a:b], self.t1[a:b], self.lo[a:b], self.hi[a:b]


def _reduce(t0, t1, lo, hi, group: int):
    """Fold whole groups of ``group`` consecutive blocks into one each."""
    k = len(t0) // group
    n = k * group
    with np.errstate(invalid="ignore"):
        return (
            t0[:n:group].copy(),
            t1[group - 1 : n : group].copy(),
            np.fmin.reduce(lo[:n].reshape(k, group), axis=1),  # NaN only where all are NaN
            np.fmax.reduce(hi[:n].reshape(k, group), axis=1),
        )


class BlockEnvelope:
    def __init__(self, block: int = BLOCK):
        self.block = block
        self.levels = [_Level()]
        self._pt = np.empty(0)  # the unfinished block
        self._pv = np.empty(0)
        self.samples = 0

    @property
    def blocks(self) -> int:
        return self.levels[0].n

    @property
    def last_t(self) -> float:
        """The time of the newest sample folded in (NaN before any)."""
        if self._pt.size:
            return float(self._pt[-1])
        base = self.levels[0]
        return float(base.t1[base.n - 1]) if base.n else float("nan")

    def extend(self, t: np.ndarray, v: np.ndarray) -> None:
        if t.size == 0:
            return
        self.samples += t.size
        if self._pt.size:
            t = np.concatenate((self._pt, t))
            v = np.concatenate((self._pv, v))
        full = t.size // self.block
        if full:
            n = full * self.block
            self.levels[0].append(*_reduce(t[:n], t[:n], v[:n], v[:n], self.block))
            t, v = t[n:], v[n:]
            self._fold()
        self._pt, self._pv = t.copy(), v.copy()

    def _fold(self) -> None:
        level = 0
        while True:
            lower = self.levels[level]
            if level + 1 == len(self.levels):
                if lower.n < 2 * FANOUT:
                    return
                self.levels.append(_Level())
            upper = self.levels[level + 1]
            start = upper.n * FANOUT
            if lower.n - start >= FANOUT:
                upper.append(*_reduce(*lower.view(start), FANOUT))
            level += 1

    def count_since(self, x0: float) -> int:
        """About how many samples lie at or after x0."""
        base = self.levels[0]
        k = int(np.searchsorted(base.t1[: base.n], x0, side="left"))
        return (base.n - k) * self.block + self._pt.size

    def query(self, x0: float, x1: float, pixels: int) -> tuple[np.ndarray, np.ndarray]:
        """min/max pairs covering [x0, x1], at most about 2 per pixel, plus the newest tail."""
        pixels = max(pixels, 1)
        base = self.levels[0]
        a = max(int(np.searchsorted(base.t1[: base.n], x0, side="left")) - 1, 0)
        b = min(int(np.searchsorted(base.t0[: base.n], x1, side="right")) + 1, base.n)
        level = 0
        while level + 1 < len(self.levels) and (b - a) // (FANOUT**level) > pixels:
            level += 1
        parts = []
        covered = 0  # base blocks covered by the coarser levels taken so far
        for lv in range(level, -1, -1):
            blocks = self.levels[lv]
            scale = FANOUT**lv
            lo_i = max(a // scale, covered // scale)
            hi_i = min(-(-b // scale), blocks.n)
            if hi_i > lo_i:
                parts.append(blocks.view(lo_i, hi_i))
                covered = hi_i * scale
            if covered >= b:
                break
        if parts:
            t0, t1, lo, hi = (np.concatenate(cols) for cols in zip(*parts, strict=True))
        else:
            t0 = t1 = lo = hi = np.empty(0)
        group = -(-t0.size // pixels)
        if group > 1:
            pad = -t0.size % group
            if pad:
                t0 = np.concatenate((t0, np.full(pad, t0[-1])))
                t1 = np.concatenate((t1, np.full(pad, t1[-1])))
                lo = np.concatenate((lo, np.full(pad, np.nan)))
                hi = np.concatenate((hi, np.full(pad, np.nan)))
            t0, t1, lo, hi = _reduce(t0, t1, lo, hi, group)
        out_t = np.empty(2 * t0.size)
        out_v = np.empty(2 * t0.size)
        out_t[0::2], out_t[1::2] = t0, t1
        out_v[0::2], out_v[1::2] = lo, hi
        if self._pt.size and b == base.n:
            out_t = np.concatenate((out_t, self._pt))
            out_v = np.concatenate((out_v, self._pv))
        return out_t, out_v


def envelope(
    t: np.ndarray, v: np.ndarray, x0: float, x1: float, pixels: int, keep: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """The samples in [x0, x1] (plus one each side), reduced to min/max pairs per pixel column
    when there are more than ``keep`` a pixel."""
    a = max(int(np.searchsorted(t, x0, side="left")) - 1, 0)
    b = min(int(np.searchsorted(t, x1, side="right")) + 1, t.size)
    t, v = t[a:b], v[a:b]
    bins = max(pixels, 1)
    if t.size <= keep * bins:  # already about what the screen shows (a query of BlockEnvelope)
        return t, v
    per = t.size // bins
    n = per * bins
    tv = t[:n].reshape(bins, per)
    vv = v[:n].reshape(bins, per)
    out_t = np.repeat(tv[:, 0], 2)
    out_t[1::2] = tv[:, -1]
    out_v = np.empty(2 * bins)
    # fmin/fmax pass NaN (a gap) over unless a whole column is NaN
    out_v[0::2] = np.fmin.reduce(vv, axis=1)
    out_v[1::2] = np.fmax.reduce(vv, axis=1)
    if n < t.size:
        out_t = np.concatenate((out_t, t[n:]))
        out_v = np.concatenate((out_v, v[n:]))
    return out_t, out_v
