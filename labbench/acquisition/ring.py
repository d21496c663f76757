"""Bounded per-channel ring buffers for live views: the newest samples, fixed memory."""

from __future__ import annotations

import threading

import numpy as np


class ChannelRing:
    """The last ``capacity`` samples of one channel.  Writers and readers may be different
    threads; a snapshot is a copy, so a reader never sees a half-written block."""

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._t = np.empty(capacity, np.float64)
        self._v = np.empty(capacity, np.float64)
        self._end = 0  # total samples ever appended
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        return self._end

    def __len__(self) -> int:
        return min(self._end, self.capacity)

    def extend(self, t: np.ndarray, v: np.ndarray) -> None:
        n = len(t)
        if n == 0:
            return
        if n > self.capacity:
            t, v, skipped = t[-self.capacity :], v[-self.capacity :], n - self.capacity
        else:
            skipped = 0
        with self._lock:
            start = (self._end + skipped) % self.capacity
            first = min(len(t), self.capacity - start)
            self._t[start : start + first] = t[:first]
            self._v[start : start + first] = v[:first]
            if first < len(t):
                self._t[: len(t) - first] = t[first:]
                self._v[: len(t) - first] = v[first:]
            self._end += n

    def snapshot(self, since_total: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
        """Samples appended after the ``since_total``-th (as far as still held), in order,
        and the new total to pass next time."""
        with self._lock:
            end = self._end
            count = min(end - since_total, self.capacity, end)
            if count <= 0:
                return np.empty(0), np.empty(0), end
            start = (end - count) % self.capacity
            if start + count <= self.capacity:
                t = self._t[start : start + count].copy()
                v = self._v[start : start + count].copy()
            else:
                t = np.concatenate((self._t[start:], self._t[: start + count - self.capacity]))
                v = np.concatenate((self._v[start:], self._v[: start + count - self.capacity]))
            return t, v, end

    def _first_at_or_after(self, t_from: float, start: int, held: int) -> int:
        """The logical position (0 = oldest held) of the first sample with t >= t_from; the
        caller holds the lock.  Times are non-decreasing."""
        lo, hi = 0, held
        while lo < hi:
            mid = (lo + hi) // 2
            if self._t[(start + mid) % self.capacity] < t_from:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _copy(self, start: int, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Copies of logical positions [a, b); the caller holds the lock."""
        count = b - a
        if count <= 0:
            return np.empty(0), np.empty(0)
        first = (start + a) % self.capacity
        if first + count <= self.capacity:
            return self._t[first : first + count].copy(), self._v[first : first + count].copy()
        tail = first + count - self.capacity
        return (
            np.concatenate((self._t[first:], self._t[:tail])),
            np.concatenate((self._v[first:], self._v[:tail])),
        )

    def since_time(self, t_from: float) -> tuple[np.ndarray, np.ndarray]:
        """The held samples with t >= t_from, in order (times are non-decreasing)."""
        with self._lock:
            held = min(self._end, self.capacity)
            start = (self._end - held) % self.capacity
            return self._copy(start, self._first_at_or_after(t_from, start, held), held)

    def between(self, t_from: float, t_to: float) -> tuple[np.ndarray, np.ndarray]:
        """The held samples with t_from <= t <= t_to, in order; only those are copied."""
        with self._lock:
            held = min(self._end, self.capacity)
            start = (self._end - held) % self.capacity
            a = self._first_at_or_after(t_from, start, held)
            b = self._first_at_or_after(np.nextafter(t_to, np.inf), start, held)
            return self._copy(start, a, b)

    def value_at(self, t: float) -> float | None:
        """The value of the last held sample at or before t (None if there is none)."""
        with self._lock:
            held = min(self._end, self.capacity)
            start = (self._end - held) % self.capacity
            k = self._first_at_or_after(np.nextafter(t, np.inf), start, held) - 1
            return None if k < 0 else float(self._v[(start + k) % self.capacity])
