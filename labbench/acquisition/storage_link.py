"""Between a rig's reader and its database: the spooler and forwarder threads of one run.

* ``put()`` never blocks: the reader hands over raw reads, parsed batches and events and goes
  back to the port whatever the database is doing.
* the spooler thread cuts a :class:`CommitBatch` every ``COMMIT_INTERVAL_S`` and queues it in
  the run's :class:`Spool` (memory first, the journal file on disk when storage falls behind);
  it also notices when storage stalls and when it is back, and records both as run events;
* the forwarder thread owns the database connection: it writes queued batches oldest first,
  each batch in one transaction, and retries with backoff when the database is unavailable.
  A batch leaves the spool only after its commit returned.  When a commit fails with no answer
  (the server went away during COMMIT), the batch is looked up before it is written again, so
  every batch is stored exactly once.

Text the database would refuse is made safe here (``labbench.acquisition.storable``), and a
channel whose name does not fit the database is refused alone, with an event.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable

from labbench.acquisition.drawing import TURN
from labbench.acquisition.storable import StorableRows
from labbench.storage.engine import Database, DatabaseFault
from labbench.storage.journal import CommitBatch, JournalError, Spool, already_stored, journal_path
from labbench.storage.telemetry import TelemetryWriter

log = logging.getLogger(__name__)

# A crash (kill -9) loses at most what arrived in the last 250 ms (docs/architecture.md):
# reader batches are cut every 30 ms, a commit takes some tens of ms, so batches for the
# database are cut every 150 ms.
COMMIT_INTERVAL_S = 0.15
# Storage counts as stalled when the oldest batch has waited this long.
STALL_AFTER_S = 1.0
# Retrying an unavailable database backs off from 100 ms to 2 s.
RETRY_BACKOFF_S = (0.1, 2.0)
# Catching up after an outage: several batches per transaction, up to this many samples.
CATCH_UP_BATCHES = 40
CATCH_UP_SAMPLES = 400_000

StorageListener = Callable[[str, str], None]


class StorageLink:
    def __init__(
        self,
        db: Database,
        run_id: int,
        stats,
        *,
        units: dict[str, str],
        on_fatal: Callable[[str], None],
    ):
        self.db, self.run_id, self.stats, self.units = db, run_id, stats, units
        self._on_fatal = on_fatal
        self._listeners: list[StorageListener] = []
        self._inbox: queue.SimpleQueue[tuple] = queue.SimpleQueue()
        self.spool = Spool(journal_path(db, run_id))
        self._spooler: threading.Thread | None = None
        self._forwarder: threading.Thread | None = None
        self._give_up = threading.Event()
        self._failing: str | None = None  # why the last write failed, until one succeeds
        self._stalled_since: float | None = None
        self._number = 0
        self._malformed = self._console = 0
        self._storable = StorableRows(stats, units)
        self.last_stored_ns = 0
        # Seconds each commit took (the newest 100,000), for benchmarks and the status bar.
        self.commit_seconds: collections.deque[float] = collections.deque(maxlen=100_000)

    def add_listener(self, listener: StorageListener) -> None:
        """Called with ("storage_stall" | "storage_back", sentence) from the spooler thread."""
        self._listeners.append(listener)

    def start(self) -> None:
        self._spooler = threading.Thread(
            target=self._spool_loop, name=f"labbench-spooler-{self.run_id}", daemon=True
        )
        self._forwarder = threading.Thread(
            target=self._forward_loop, name=f"labbench-writer-{self.run_id}", daemon=True
        )
        self._spooler.start()
        self._forwarder.start()

    def put(self, item: tuple) -> None:
        self._inbox.put(item)

    def finish(
        self,
        give_up: threading.Event | None = None,
        on_wait: Callable[[int, str], None] | None = None,
    ) -> bool:
        """Cut the last batch and wait until everything is stored; True when it all was.

        ``give_up`` (a second Ctrl-C) stops waiting for a database that does not come back:
        what is not stored stays in the journal file and the reason is in ``stats.errors``."""
        self._inbox.put(("stop",))
        if self._spooler is not None:
            self._spooler.join()
        told = False
        while self._forwarder is not None and self._forwarder.is_alive():
            if give_up is not None and give_up.is_set():
                break
            if self.spool.wait_empty(0.1) and self.spool.closed:
                self._forwarder.join(0.5)
                continue
            if not told and self.spool.oldest_age_s() > STALL_AFTER_S and on_wait is not None:
                on_wait(self.spool.samples, str(self.spool.path))
                told = True
        self._give_up.set()
        if self._forwarder is not None:
            self._forwarder.join(1.0)
        left = self.spool.batches
        self._update_stats()
        if self._stalled_since is not None and not left:
            self._back_after_end()
        if left:
            try:
                self.spool.spill_memory()
            except JournalError as exc:
                self.stats.errors.append(str(exc))
            self.stats.errors.append(
                f"{self.spool.samples} samples in {left} batches were not stored because the "
                f"database was unavailable; they are kept in {self.spool.path}"
            )
        self.spool.discard()
        return not left

    # --- spooler thread -------------------------------------------------------------------

    def _spool_loop(self) -> None:
        next_cut = time.monotonic() + COMMIT_INTERVAL_S
        batch = self._new_batch()
        stopping = False
        try:
            while not stopping:
                try:
                    item = self._inbox.get(timeout=max(next_cut - time.monotonic(), 0.0))
                except queue.Empty:
                    item = None
                if item is not None:
                    TURN.wait()  # the GUI thread draws: the reader's hand-overs wait in the inbox
                    if item[0] == "stop":
                        stopping = True
                    else:
                        self._take(batch, item)
                if stopping or time.monotonic() >= next_cut:
                    self._watch_storage(batch)
                    if batch.items:
                        batch.counters = {
                            "malformed_count": self._malformed,
                            "console_count": self._console,
                        }
                        batch.cut_mono = time.monotonic()
                        self.spool.put(batch)
                        batch = self._new_batch()
                    next_cut = time.monotonic() + COMMIT_INTERVAL_S
                    self._update_stats()
        except JournalError as exc:
            self.stats.errors.append(str(exc))
            self._on_fatal(str(exc))
            self._drain_inbox()
        finally:
            self.spool.close_input()

    def _drain_inbox(self) -> None:
        """After the journal failed: nothing more can be kept, but the reader must not wait."""
        while self._inbox.get()[0] != "stop":
            pass

    def _new_batch(self) -> CommitBatch:
        self._number += 1
        return CommitBatch(self._number)

    def _take(self, batch: CommitBatch, item: tuple) -> None:
        kind = item[0]
        if kind == "raw":
            batch.items.append(item)
        elif kind == "event":
            batch.items.append(("event", item[1], item[2], self._storable.text(item[3])))
        elif kind == "batch":
            sample_batch = item[1]
            for row in self._storable.rows(sample_batch):
                batch.items.append(row)
                if row[0] == "samples":
                    batch.samples += len(row[3])
            for line in sample_batch.console:
                if line.kind == "malformed":
                    self._malformed += 1
                else:
                    self._console += 1

    def _watch_storage(self, batch: CommitBatch) -> None:
        """Record when storage stalls and when it is back (as events of the run)."""
        age = self.spool.oldest_age_s()
        now = time.monotonic()
        if self._stalled_since is None:
            if age > STALL_AFTER_S or (self._failing and self.spool.batches):
                self._stalled_since = now
                self.stats.storage = "stalled"
                self.stats.storage_stalls += 1
                why = self._failing or f"no commit for {age:.1f} s"
                sentence = (
                    f"the database is not taking data ({why}); buffering in {self.spool.path}"
                )
                batch.items.append(("event", time.time_ns(), "storage_stall", sentence))
                self._tell("storage_stall", sentence)
        elif not self._failing and self.spool.batches <= 1 and age < STALL_AFTER_S / 2:
            sentence = (
                f"the database is back after {now - self._stalled_since:.1f} s; "
                "the buffered data was stored"
            )
            self._stalled_since = None
            self.stats.storage = "ok"
            batch.items.append(("event", time.time_ns(), "storage_back", sentence))
            self._tell("storage_back", sentence)

    def _back_after_end(self) -> None:
        """Storage came back while the run was waiting for it at its end."""
        from labbench.storage import events as event_store

        waited = time.monotonic() - self._stalled_since
        sentence = f"the database is back after {waited:.1f} s; the buffered data was stored"
        self._stalled_since = None
        self.stats.storage = "ok"
        try:
            event_store.add_run_event(self.db, self.run_id, "storage_back", sentence)
        except DatabaseFault as exc:
            log.warning(
                "run %s: could not record that storage is back: %s", self.run_id, _reason(exc)
            )
        self._tell("storage_back", sentence)

    def _tell(self, kind: str, sentence: str) -> None:
        for listener in self._listeners:
            try:
                listener(kind, sentence)
            except Exception:
                log.exception("storage listener failed")

    def _update_stats(self) -> None:
        stats = self.stats
        stats.backlog = self.spool.samples
        stats.journal_batches = self.spool.batches
        stats.journal_bytes = self.spool.disk_bytes

    # --- forwarder thread -----------------------------------------------------------------

    def _forward_loop(self) -> None:
        writer: TelemetryWriter | None = None
        in_doubt = 0  # batches of a group whose commit got no answer
        delay = RETRY_BACKOFF_S[0]
        spool = self.spool
        while not self._give_up.is_set():
            if not spool.wait(0.25):
                if spool.closed:
                    break
                continue
            group: list[CommitBatch] = []
            TURN.wait()  # the GUI thread draws: the batches wait in the spool
            try:
                group = spool.peek(CATCH_UP_BATCHES, CATCH_UP_SAMPLES)
                if writer is None:
                    writer = TelemetryWriter(self.db, self.run_id)
                    if in_doubt:
                        if already_stored(self.db, self.run_id, group[0]):
                            log.info(
                                "run %s: the batch in doubt was committed; not writing it again",
                                self.run_id,
                            )
                            self._stored(group[:in_doubt])
                            spool.pop(in_doubt)
                            in_doubt = 0
                            writer.abandon()
                            writer = None
                            continue
                        in_doubt = 0
                writer.append_batches(
                    group
                )  # the group's samples grouped per channel, one row each
                in_doubt = len(group)
                began = time.perf_counter()
                writer.commit(**group[-1].counters)
                self.commit_seconds.append(time.perf_counter() - began)
                in_doubt = 0
            except JournalError as exc:
                self.stats.errors.append(str(exc))
                self._on_fatal(str(exc))
                return
            except (DatabaseFault, OSError) as exc:
                if writer is not None:
                    writer.abandon()
                    writer = None
                first = self._failing is None
                self._failing = _reason(exc)
                (log.warning if first else log.debug)(
                    "run %s: storage unavailable, retrying: %s", self.run_id, self._failing
                )
                self._give_up.wait(delay)
                delay = min(delay * 2, RETRY_BACKOFF_S[1])
                continue
            except BaseException as exc:
                log.exception("storage writer of run %s failed", self.run_id)
                self.stats.errors.append(f"the storage writer failed: {exc!r}")
                self._on_fatal(f"the storage writer failed: {exc!r}")
                return
            self._failing = None
            delay = RETRY_BACKOFF_S[0]
            self._stored(group)
            spool.pop(len(group))
        if writer is not None:
            writer.abandon()

    def _stored(self, group: list[CommitBatch]) -> None:
        self.stats.samples_stored += sum(b.samples for b in group)
        for batch in group:
            for item in batch.items:
                if item[0] in ("raw", "event"):
                    self.last_stored_ns = max(self.last_stored_ns, item[1])


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return (text[0] if text else type(orig).__name__).rstrip(".")
