"""The store-and-forward queue between a rig's reader and its database.

Every commit interval the acquisition cuts a :class:`CommitBatch` (raw reads, parsed samples,
events) and puts it here; the forwarder thread writes batches to the database oldest first,
one transaction each, and removes a batch only once its transaction committed.  While the
database keeps up, batches never leave memory.  When it stalls or goes away, the batches that
do not fit in :data:`MEMORY_BATCHES` spill to a journal file in the user data directory, so the
reader never waits for storage.  Order holds because nothing goes to memory while the file
still holds batches.

Only this process reads its journal file; when every batch in it has been forwarded the file
is emptied, and it is removed when the run ends.  A process killed during an outage leaves its
file behind, named after the run, with the batches it had not forwarded.
"""

from __future__ import annotations

import collections
import logging
import os
import pickle
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from labbench import paths

log = logging.getLogger(__name__)

# Batches kept in memory before spilling to disk: 2 s at the 250 ms commit interval.
MEMORY_BATCHES = 8
# The journal of one run may grow to this size (about 100 min at 16 channels x 1 kHz).
# LABBENCH_JOURNAL_MAX_MB overrides it.
DEFAULT_MAX_BYTES = 4 << 30
_HEADER = struct.Struct("<QI")  # payload length, crc32


class JournalError(Exception):
    """The journal could not be written (disk full, size limit); one sentence for the user."""


@dataclass
class CommitBatch:
    """What one commit of a run writes: items in arrival order and the run's counters then."""

    number: int
    items: list = field(default_factory=list)
    samples: int = 0
    counters: dict = field(default_factory=dict)
    cut_mono: float = 0.0


def journal_dir() -> Path:
    path = paths.user_data_dir() / "journal"
    path.mkdir(parents=True, exist_ok=True)
    return path


def max_journal_bytes() -> int:
    value = os.environ.get("LABBENCH_JOURNAL_MAX_MB")
    return int(float(value) * (1 << 20)) if value else DEFAULT_MAX_BYTES


class Spool:
    """A FIFO of commit batches: the oldest in memory, the rest in a journal file."""

    def __init__(self, path: Path, *, memory_batches: int = MEMORY_BATCHES, max_bytes: Optional[int] = None):
        self.path = path
        self._memory_batches = memory_batches
        self._max_bytes = max_journal_bytes() if max_bytes is None else max_bytes
        self._memory: collections.deque[CommitBatch] = collections.deque()
        # (offset, length, samples, cut_mono) of every batch in the file not yet forwarded
        self._on_disk: collections.deque[tuple[int, int, int, float]] = collections.deque()
        self._fd: Optional[int] = None
        self._end = 0
        self._cond = threading.Condition()
        self.closed = False  # no more batches will come
        self.samples = 0
        self.spilled_batches = 0

    # --- producer side --------------------------------------------------------------------

    def put(self, batch: CommitBatch) -> None:
        """Queue a batch; raises JournalError when it must go to disk and cannot."""
        with self._cond:
            if not self._on_disk and len(self._memory) < self._memory_batches:
                self._memory.append(batch)
            else:
                self._write(batch)
            self.samples += batch.samples
            self._cond.notify_all()

    def _write(self, batch: CommitBatch) -> None:
        payload = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
        record = _HEADER.pack(len(payload), zlib.crc32(payload)) + payload
        if self._end + len(record) > self._max_bytes:
            raise JournalError(
                f"the storage journal {self.path} reached its limit of {self._max_bytes >> 20} MiB "
                "while the database was unavailable"
            )
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            written = os.pwrite(self._fd, record, self._end)
            if written != len(record):
                raise OSError(28, "No space left on device")
        except OSError as exc:
            raise JournalError(f"the storage journal {self.path} could not be written ({exc.strerror or exc})") from None
        self._on_disk.append((self._end, len(record), batch.samples, batch.cut_mono))
        self._end += len(record)
        self.spilled_batches += 1

    def close_input(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    # --- consumer side --------------------------------------------------------------------

    def wait(self, timeout: float) -> bool:
        """Wait until a batch is queued or the input closed; True if a batch is there."""
        with self._cond:
            if not self._memory and not self._on_disk and not self.closed:
                self._cond.wait(timeout)
            return bool(self._memory or self._on_disk)

    def peek(self, max_batches: int, max_samples: int) -> list[CommitBatch]:
        """The oldest batches (at least one if any), without removing them."""
        with self._cond:
            out = list(self._memory)[:max_batches]
            disk = list(self._on_disk)[: max(max_batches - len(out), 0)]
        samples = sum(b.samples for b in out)
        if len(out) > 1 and samples > max_samples:
            return out[:1]
        for offset, length, n, _ in disk:
            if out and samples + n > max_samples:
                break
            out.append(self._read(offset, length))
            samples += n
        return out

    def _read(self, offset: int, length: int) -> CommitBatch:
        assert self._fd is not None
        record = os.pread(self._fd, length, offset)
        size, crc = _HEADER.unpack_from(record)
        payload = record[_HEADER.size:]
        if len(payload) != size or zlib.crc32(payload) != crc:
            raise JournalError(f"the storage journal {self.path} is damaged at byte {offset}")
        return pickle.loads(payload)

    def pop(self, count: int) -> None:
        """Remove the oldest ``count`` batches (after their transaction committed)."""
        with self._cond:
            for _ in range(count):
                if self._memory:
                    self.samples -= self._memory.popleft().samples
                else:
                    self.samples -= self._on_disk.popleft()[2]
            if not self._on_disk and self._end:
                self._end = 0
                if self._fd is not None:
                    os.ftruncate(self._fd, 0)
            self._cond.notify_all()

    # --- state ----------------------------------------------------------------------------

    @property
    def batches(self) -> int:
        with self._cond:
            return len(self._memory) + len(self._on_disk)

    @property
    def disk_bytes(self) -> int:
        return self._end

    def oldest_age_s(self) -> float:
        """How long the oldest queued batch has waited (0 when empty)."""
        with self._cond:
            if self._memory:
                cut = self._memory[0].cut_mono
            elif self._on_disk:
                cut = self._on_disk[0][3]
            else:
                return 0.0
        return time.monotonic() - cut

    def wait_empty(self, timeout: float) -> bool:
        with self._cond:
            if self._memory or self._on_disk:
                self._cond.wait(timeout)
            return not (self._memory or self._on_disk)

    def discard(self) -> None:
        """Close the file; remove it when everything in it was forwarded."""
        with self._cond:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if not self._on_disk:
                try:
                    self.path.unlink()
                except FileNotFoundError:
                    pass
