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
file behind, named after the database and the run: :func:`recover` forwards it when the run is
found interrupted.
"""

from __future__ import annotations

import collections
import hashlib
import logging
import os
import pickle
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from labbench import paths
from labbench.storage import models as m
from labbench.storage.engine import Database
from labbench.storage.telemetry import TelemetryWriter

log = logging.getLogger(__name__)

# Batches kept in memory before spilling to disk: the one being committed.  Anything that
# waits longer is on disk, so a kill during an outage loses no more than a normal kill.
MEMORY_BATCHES = 1
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


def journal_path(db: Database, run_id: int) -> Path:
    key = hashlib.sha1(db.describe().encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return journal_dir() / f"{key}-run{run_id}.journal"


def write_batches(writer: TelemetryWriter, batches: list[CommitBatch]) -> None:
    """Queue the batches' items on ``writer`` (the caller commits them as one transaction)."""
    writer.append_batches(batches)


def already_stored(db: Database, run_id: int, batch: CommitBatch) -> bool:
    """Whether a batch whose commit got no answer is in the database.  A batch commits all or
    nothing, so its first item decides."""
    raw, events = m.RawChunk.__table__, m.RunEvent.__table__
    chunks, channels = m.TelemetryChunk.__table__, m.Channel.__table__
    if not batch.items:
        return False
    item = batch.items[0]
    if item[0] == "raw":
        query = select(raw.c.id).where(raw.c.run_id == run_id, raw.c.received_ns == item[1])
    elif item[0] == "event":
        query = select(events.c.id).where(
            events.c.run_id == run_id, events.c.at_ns == item[1], events.c.kind == item[2]
        )
    else:
        query = (
            select(chunks.c.id)
            .join(channels, channels.c.id == chunks.c.channel_id)
            .where(
                channels.c.run_id == run_id,
                channels.c.name == item[1],
                chunks.c.t_first == float(item[3][0]),
            )
        )
    with db.engine.connect() as conn:
        return conn.execute(query.limit(1)).first() is not None


def recover(db: Database, run_id: int) -> int:
    """Forward what a killed process left in the run's journal; the samples forwarded.

    Each batch is looked up first (the process may have died after its commit), a torn
    record at the end (killed while writing it) is left out, and the file is removed."""
    path = journal_path(db, run_id)
    if not path.exists():
        return 0
    data = path.read_bytes()
    offset = forwarded = 0
    batches: list[CommitBatch] = []
    while offset + _HEADER.size <= len(data):
        size, crc = _HEADER.unpack_from(data, offset)
        payload = data[offset + _HEADER.size : offset + _HEADER.size + size]
        if len(payload) != size or zlib.crc32(payload) != crc:
            log.warning("journal %s: torn record at byte %d left out", path, offset)
            break
        offset += _HEADER.size + size
        batches.append(pickle.loads(payload))
    for batch in sorted(batches, key=lambda b: b.number):
        if already_stored(db, run_id, batch):
            continue
        writer = TelemetryWriter(db, run_id)
        try:
            write_batches(writer, [batch])
            writer.commit()
        except BaseException:
            writer.abandon()
            raise
        writer.close()
        forwarded += batch.samples
    path.unlink()
    return forwarded


def max_journal_bytes() -> int:
    value = os.environ.get("LABBENCH_JOURNAL_MAX_MB")
    return int(float(value) * (1 << 20)) if value else DEFAULT_MAX_BYTES


class Spool:
    """A FIFO of commit batches: the oldest in memory, the rest in a journal file."""

    def __init__(
        self, path: Path, *, memory_batches: int = MEMORY_BATCHES, max_bytes: int | None = None
    ):
        self.path = path
        self._memory_batches = memory_batches
        self._max_bytes = max_journal_bytes() if max_bytes is None else max_bytes
        self._memory: collections.deque[CommitBatch] = collections.deque()
        # (offset, length, samples, cut_mono) of every batch in the file not yet forwarded
        self._on_disk: collections.deque[tuple[int, int, int, float]] = collections.deque()
        self._fd: int | None = None
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
            raise JournalError(
                f"the storage journal {self.path} could not be written ({exc.strerror or exc})"
            ) from None
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
        payload = record[_HEADER.size :]
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

    def spill_memory(self) -> None:
        """Write the batches held in memory to the file too (giving up on the database: the
        file then holds everything not stored; :func:`recover` puts it back in order)."""
        with self._cond:
            while self._memory:
                batch = self._memory.popleft()
                self._write(batch)

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
