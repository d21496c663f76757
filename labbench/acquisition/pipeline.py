"""The acquisition pipeline of one rig: reader thread -> rings, storage writer, live hooks.

Threads and what each owns (docs/architecture.md):

* the reader thread owns the rig's transport: it reads with a bounded timeout, sends
  queued commands, frames and parses, and every ``BATCH_INTERVAL_S`` hands a batch to the
  ring buffers, the live listeners and the storage link;
* the storage link's forwarder thread owns its database connection: it writes batches, raw
  bytes and events and commits every ``COMMIT_INTERVAL_S``.

The reader never waits for storage: it hands everything to the run's
:class:`~labbench.acquisition.storage_link.StorageLink`, whose spooler and forwarder threads
commit every 150 ms and, when the database stalls or goes away, keep the batches in a journal
on disk until it is back (store and forward).  The backlog is ``stats.backlog`` (samples) and
``stats.journal_batches``; ``stats.storage`` says whether storage keeps up.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from labbench.acquisition.drawing import TURN
from labbench.acquisition.ring import ChannelRing
from labbench.acquisition.storage_link import COMMIT_INTERVAL_S, StorageLink, StorageListener
from labbench.devices.transport import DeviceError, LinkLost, Rig, Transport
from labbench.protocols.parser import ConsoleLine, Note, TelemetryParser
from labbench.protocols.profile import Profile
from labbench.storage import Database

log = logging.getLogger(__name__)

__all__ = [
    "BATCH_INTERVAL_S",
    "COMMIT_INTERVAL_S",
    "Acquisition",
    "AcquisitionStats",
    "SampleBatch",
]

# Batches every 30 ms: smooth live plots, and few enough hand-overs that fan-out costs
# nothing at 10 kHz (never one hand-over per sample).
BATCH_INTERVAL_S = 0.03
# Samples each channel's ring keeps for live views (1 h at 1 kHz is a GUI-level concern).
DEFAULT_RING_CAPACITY = 1 << 18
# Reconnect attempts back off from 50 ms to 1 s.
RECONNECT_BACKOFF_S = (0.05, 1.0)


@dataclass
class SampleBatch:
    """What one rig produced in one batch interval; times in seconds since the run's t0."""

    samples: dict[str, tuple[np.ndarray, np.ndarray]]
    units: dict[str, str]
    console: list[ConsoleLine]
    results: list[tuple[int, str, str]]
    lines: int
    malformed: int
    # Every sample timed before this is in this batch or an earlier one (so a step that
    # ended before it has all its data): the return of the batch's last read, since the
    # next read's lines are spread over the time after it, or the cut when the link ended.
    emitted_ns: int = 0
    # (epoch ns, "disconnect" | "reconnect") in order: when the rig went away and came back.
    link_changes: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class AcquisitionStats:
    link: str = "closed"  # connected, reconnecting, lost, closed
    lines: int = 0
    samples: int = 0
    malformed: int = 0
    console: int = 0
    dropped_samples: int = 0
    capped_lines: int = 0
    disconnects: int = 0
    reconnects: int = 0
    backlog: int = 0  # samples read but not yet stored
    samples_stored: int = 0
    storage: str = "ok"  # ok, stalled
    storage_stalls: int = 0
    journal_batches: int = 0  # batches waiting for the database
    journal_bytes: int = 0  # of them, bytes spilled to the journal file
    text_escaped: int = 0  # characters the database refuses, escaped
    refused_channels: list[str] = field(default_factory=list)
    refused_samples: int = 0
    sample_rate: float = 0.0
    errors: list[str] = field(default_factory=list)


class Acquisition:
    """Reads one rig into one run.  ``start()`` opens the rig (raising DeviceError), ``stop()``
    ends both threads, commits everything, and returns the final stats."""

    def __init__(
        self,
        db: Database,
        run_id: int,
        t0_ns: int,
        rig: Rig,
        profile: Profile,
        *,
        ring_capacity: int = DEFAULT_RING_CAPACITY,
        reconnect_window_s: float | None = None,
        units: dict[str, str] | None = None,
    ):
        self.db = db
        self.run_id = run_id
        self.t0_ns = t0_ns
        self.rig = rig
        self.profile = profile
        self.parser = TelemetryParser(profile)
        self.ring_capacity = ring_capacity
        self.reconnect_window_s = (
            profile.reconnect_window_s if reconnect_window_s is None else reconnect_window_s
        )
        self.rings: dict[str, ChannelRing] = {}
        # Known units (a plan's [[channel]] table); units from the rig's profile win.
        self.units: dict[str, str] = dict(units or {})
        self.stats = AcquisitionStats()
        self.link_gone = threading.Event()  # the rig stayed away longer than the window
        self._listeners: list[Callable[[SampleBatch], None]] = []
        self._commands: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._stop = threading.Event()
        # A batch is wanted as soon as a read returns after this time (epoch ns; None: none).
        self._batch_after_ns: int | None = None
        self._batch_lock = threading.Lock()
        self._transport: Transport | None = None
        self._reader: threading.Thread | None = None
        self.storage = StorageLink(
            db, run_id, self.stats, units=self.units, on_fatal=self._storage_failed
        )
        self._rate_window: list[tuple[float, int]] = []
        self._link_changes: list[tuple[int, str]] = []

    # --- control --------------------------------------------------------------------------

    def add_listener(self, listener: Callable[[SampleBatch], None]) -> None:
        """Called on the reader thread with every batch; must be quick and must not block."""
        self._listeners.append(listener)

    def start(self, transport: Transport | None = None) -> None:
        """Start reading; opens the rig unless given its open ``transport``.

        DeviceError goes to the caller with nothing started."""
        self._transport = transport if transport is not None else self.rig.open()
        self.stats.link = "connected"
        self._reader = threading.Thread(
            target=self._read_loop, name=f"labbench-reader-{self.run_id}", daemon=True
        )
        self._event(time.time_ns(), "connect", self.rig.device)
        self.storage.start()
        self._reader.start()

    def send(self, line: str) -> None:
        """Queue a command line for the rig (written by the reader thread, recorded as an event);
        a read waiting for a slow rig's next line is woken so that it goes out now, not up to
        a read timeout (50 ms) later: after a short sweep point had already ended."""
        self._commands.put(line)
        wake = getattr(self._transport, "wake", None)
        if wake is not None:
            wake()

    def request_batch(self, after_ns: int) -> None:
        """Hand out a batch as soon as a read returns after ``after_ns`` instead of at the
        next batch interval: a step ended then and its owner waits for the proof that its
        samples were judged (a sweep's points would otherwise each wait up to a whole
        interval)."""
        with self._batch_lock:
            if self._batch_after_ns is None or after_ns > self._batch_after_ns:
                self._batch_after_ns = after_ns

    def _batch_due(self, read_ns: int) -> bool:
        """Whether a batch was asked for that a read returned at ``read_ns`` can give."""
        with self._batch_lock:
            if self._batch_after_ns is None or read_ns <= self._batch_after_ns:
                return False
            self._batch_after_ns = None
            return True

    def record_event(self, at_ns: int, kind: str, detail: str = "") -> None:
        """A run event (step start, manual entry, ...) stored in order with the telemetry:
        it never waits for the database, so a stall does not hold up the run."""
        self._event(at_ns, kind, detail)

    def add_storage_listener(self, listener: StorageListener) -> None:
        """Told ("storage_stall" | "storage_back", sentence) when storage stalls and is back."""
        self.storage.add_listener(listener)

    def stop(
        self,
        timeout: float = 30.0,
        *,
        give_up: threading.Event | None = None,
        on_wait: Callable[[int, str], None] | None = None,
    ) -> AcquisitionStats:
        """End reading and wait until everything read is stored.

        While the database is unavailable this waits for it; ``give_up`` ends the wait, and
        what was not stored stays in the journal file (``on_wait(samples, path)`` is told once
        when the wait begins)."""
        self._stop.set()
        if self._reader is not None:
            self._reader.join(timeout)
        self.storage.finish(give_up, on_wait)
        return self.stats

    @property
    def last_stored_ns(self) -> int:
        """Arrival time of the newest raw read or event known to be committed."""
        return self.storage.last_stored_ns

    def _storage_failed(self, why: str) -> None:
        self.link_gone.set()  # ends the run as error, with ``why`` in stats.errors

    @property
    def running(self) -> bool:
        return self._reader is not None and self._reader.is_alive()

    # --- reader thread --------------------------------------------------------------------

    def _read_loop(self) -> None:
        last_emit = time.monotonic()
        # The parser spreads a read's lines over the time since the previous read returned.
        # Reads that brought nothing are not stored, so before a read's bytes the time of
        # the read before it is stored as an empty raw row: reparse replays the same times.
        previous_read_ns = time.time_ns()
        last_stored_ns: int | None = None
        try:
            while not self._stop.is_set():
                transport = self._transport
                if transport is None:
                    if not self._reconnect():
                        break
                    previous_read_ns = time.time_ns()
                    continue
                try:
                    written_ns = self._send_commands(transport, previous_read_ns)
                    TURN.wait()  # the GUI thread draws: the port's bytes wait in its buffer
                    chunk = transport.read()
                except LinkLost as exc:
                    self._on_link_lost(str(exc))
                    continue
                received_ns = time.time_ns()
                TURN.wait()  # a frame began while the read waited (its time is taken already)
                if written_ns is not None and received_ns <= written_ns:
                    # Strictly after its commands (a clock of coarse ticks, or stepped back),
                    # as reparse pairs the stored times: a command before this read's time.
                    received_ns = written_ns + 1
                if written_ns is not None:
                    # The rig's reply (RESULT bist PASS) came after the command: the parser
                    # never times a result before it, so a short step's reply is never
                    # handed to the step before (a sweep point of 20 ms).
                    self.parser.replies_after_ns = written_ns
                if chunk:
                    if previous_read_ns != last_stored_ns:
                        self._writer_put(("raw", previous_read_ns, b""))
                    self._writer_put(("raw", received_ns, chunk))
                    last_stored_ns = received_ns
                    self.parser.feed(chunk, received_ns, previous_read_ns)
                previous_read_ns = received_ns
                now = time.monotonic()
                if self._batch_due(previous_read_ns) or now - last_emit >= BATCH_INTERVAL_S:
                    # The next read's lines are spread after this read's return, not after
                    # the emit: a step that ended in between may still get samples.
                    self._emit(previous_read_ns)
                    last_emit = now
        except Exception as exc:  # a bug must not leave a run silently dead
            log.exception("reader thread of %s failed", self.rig.device)
            self.stats.errors.append(f"reader: {exc!r}")
            self.link_gone.set()
        finally:
            self.parser.end_of_stream(time.time_ns())
            self._emit()
            if self._transport is not None:
                self._transport.close()
                self._transport = None
            if self.stats.link != "lost":
                self.stats.link = "closed"

    def _send_commands(self, transport: Transport, after_ns: int) -> int | None:
        """Write the queued command lines; when the last one was written (None: none). Each
        is timed strictly after ``after_ns`` (the previous read's return) and the one before
        it, whatever the clock does, so that reparse pairs commands and reads as live did."""
        written_ns = None
        while True:
            try:
                line = self._commands.get_nowait()
            except queue.Empty:
                return written_ns
            transport.write(
                line.encode(self.profile.encoding)
                + self.profile.command_ending.encode(self.profile.encoding)
            )
            floor = after_ns if written_ns is None else written_ns
            written_ns = max(time.time_ns(), floor + 1)
            self._event(written_ns, "command", line)

    def _on_link_lost(self, why: str) -> None:
        now_ns = time.time_ns()
        self.stats.disconnects += 1
        self.stats.link = "reconnecting"
        self.parser.end_of_stream(now_ns)
        self._emit()
        self._event(now_ns, "disconnect", why)
        self._link_changes.append((now_ns, "disconnect"))
        if self._transport is not None:
            self._transport.close()
        self._transport = None
        self._lost_at = (time.monotonic(), now_ns)

    def _reconnect(self) -> bool:
        """Try to get the rig back within the window; False when it is gone for good."""
        lost_mono, lost_ns = self._lost_at
        delay = RECONNECT_BACKOFF_S[0]
        while not self._stop.is_set():
            try:
                self._transport = self.rig.open()
            except DeviceError as exc:
                if time.monotonic() - lost_mono >= self.reconnect_window_s:
                    self.stats.link = "lost"
                    self._event(
                        time.time_ns(),
                        "link_lost",
                        f"no rig within {self.reconnect_window_s:g} s: {exc}",
                    )
                    self.link_gone.set()
                    return False
                self._stop.wait(delay)
                delay = min(delay * 2, RECONNECT_BACKOFF_S[1])
                continue
            now_ns = time.time_ns()
            self.stats.reconnects += 1
            self.stats.link = "connected"
            self._event(
                now_ns,
                "reconnect",
                f"{self.rig.device} back after a {(now_ns - lost_ns) / 1e9:.3f} s gap",
            )
            self._link_changes.append((now_ns, "reconnect"))
            return True
        return False

    def _emit(self, complete_ns: int | None = None) -> None:
        """Hand out what was parsed; ``complete_ns``: every sample timed before it is in this
        batch or an earlier one (now, when nothing more is coming from this connection)."""
        emitted_ns = time.time_ns() if complete_ns is None else complete_ns
        parsed = self.parser.take()
        t0 = self.t0_ns
        samples = {name: ((t_ns - t0) / 1e9, v) for name, (t_ns, v) in parsed.samples.items()}
        batch = SampleBatch(
            samples,
            parsed.units,
            parsed.console,
            parsed.results,
            parsed.lines,
            parsed.malformed,
            emitted_ns,
            self._link_changes,
        )
        self._link_changes = []
        for note in parsed.notes:
            self._note(note)
        stats = self.stats
        n = sum(t.size for t, _ in samples.values())
        stats.lines += parsed.lines
        stats.samples += n
        stats.malformed += parsed.malformed
        stats.console += sum(1 for c in parsed.console if c.kind != "malformed")
        stats.dropped_samples = self.parser.dropped_samples
        stats.capped_lines = self.parser.framer.capped_lines
        self._update_rate(n)
        if samples or parsed.console or parsed.units:
            self.units.update(parsed.units)
            for name, (t, v) in samples.items():
                ring = self.rings.get(name)
                if ring is None:
                    ring = self.rings[name] = ChannelRing(self.ring_capacity)
                ring.extend(t, v)
            self._writer_put(("batch", batch))
        # Listeners hear every batch, empty ones too: time going by is news to a step.
        for listener in self._listeners:
            TURN.wait()  # judging a sled's batch takes milliseconds: not while a frame draws
            try:
                listener(batch)
            except Exception:
                log.exception("live listener failed")

    def _update_rate(self, n: int) -> None:
        now = time.monotonic()
        window = self._rate_window
        window.append((now, n))
        while window and now - window[0][0] > 1.0:
            window.pop(0)
        span = now - window[0][0] if len(window) > 1 else 0.0
        self.stats.sample_rate = sum(c for _, c in window[1:]) / span if span > 0 else 0.0

    def _note(self, note: Note) -> None:
        self._event(note.received_ns, note.kind, note.detail)

    def _event(self, at_ns: int, kind: str, detail: str) -> None:
        self._writer_put(("event", at_ns, kind, detail))

    def _writer_put(self, item: tuple) -> None:
        self.storage.put(item)  # never blocks: the port is read whatever storage does
