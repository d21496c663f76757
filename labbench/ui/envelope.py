"""A channel's min/max envelope, grown as samples arrive, for drawing long stretches fast.

A frame of the live view must not cost more as the run grows (DESIGN.md §8): samples are
folded into blocks of ``BLOCK`` (first/last time, min, max) as they come, once each, so
drawing the whole run reads blocks, not samples.
"""

from __future__ import annotations

import numpy as np

BLOCK = 256


class BlockEnvelope:
    def __init__(self, block: int = BLOCK):
        self.block = block
        self._cap = 1024
        self._t0 = np.empty(self._cap)
        self._t1 = np.empty(self._cap)
        self._lo = np.empty(self._cap)
        self._hi = np.empty(self._cap)
        self.blocks = 0
        self._pt = np.empty(0)  # the unfinished block
        self._pv = np.empty(0)
        self.samples = 0

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
            tb = t[:n].reshape(full, self.block)
            vb = v[:n].reshape(full, self.block)
            self._grow(self.blocks + full)
            a, b = self.blocks, self.blocks + full
            self._t0[a:b] = tb[:, 0]
            self._t1[a:b] = tb[:, -1]
            with np.errstate(invalid="ignore"):
                self._lo[a:b] = np.fmin.reduce(vb, axis=1)  # NaN only where a block is all NaN
                self._hi[a:b] = np.fmax.reduce(vb, axis=1)
            self.blocks = b
            t, v = t[n:], v[n:]
        self._pt, self._pv = t.copy(), v.copy()

    def _grow(self, need: int) -> None:
        if need <= self._cap:
            return
        cap = max(need, 2 * self._cap)
        for name in ("_t0", "_t1", "_lo", "_hi"):
            old = getattr(self, name)
            new = np.empty(cap)
            new[: self.blocks] = old[: self.blocks]
            setattr(self, name, new)
        self._cap = cap

    def count_since(self, x0: float) -> int:
        """About how many samples lie at or after x0."""
        k = int(np.searchsorted(self._t1[: self.blocks], x0, side="left"))
        return (self.blocks - k) * self.block + self._pt.size

    def query(self, x0: float, x1: float, pixels: int) -> tuple[np.ndarray, np.ndarray]:
        """min/max pairs covering [x0, x1], at most about 2 per pixel, plus the raw tail."""
        t0, t1 = self._t0[: self.blocks], self._t1[: self.blocks]
        a = max(int(np.searchsorted(t1, x0, side="left")) - 1, 0)
        b = min(int(np.searchsorted(t0, x1, side="right")) + 1, self.blocks)
        t0, t1, lo, hi = t0[a:b], t1[a:b], self._lo[a:b], self._hi[a:b]
        group = max(int(np.ceil(t0.size / max(pixels, 1))), 1)
        if group > 1:
            # Pad to whole groups (the last one partly empty) so the count stays <= pixels.
            groups = -(-t0.size // group)
            pad = groups * group - t0.size

            def grouped(a: np.ndarray, fill: float) -> np.ndarray:
                return np.concatenate((a, np.full(pad, fill))).reshape(groups, group)

            with np.errstate(invalid="ignore"):
                lo = np.fmin.reduce(grouped(lo, np.nan), axis=1)
                hi = np.fmax.reduce(grouped(hi, np.nan), axis=1)
            last = np.arange(groups) * group + group - 1
            t0 = t0[np.arange(groups) * group]
            t1 = t1[np.minimum(last, t1.size - 1)]
        out_t = np.empty(2 * t0.size)
        out_v = np.empty(2 * t0.size)
        out_t[0::2], out_t[1::2] = t0, t1
        out_v[0::2], out_v[1::2] = lo, hi
        if self._pt.size and (self.blocks == 0 or b == self.blocks):
            out_t = np.concatenate((out_t, self._pt))
            out_v = np.concatenate((out_v, self._pv))
        return out_t, out_v
