"""One run on one rig, from opening the port to its one final state (docs/architecture.md,
"Run lifecycle").

:class:`RunSession` is the only code that opens a rig for a run, creates the run, starts
the acquisition and finishes the run.  Plan runs (``labbench run``, the GUI), plain
recordings (``labbench record``) and bench recordings all go through it, so they share:

* the port is released whenever the run cannot be created (the database refused it, or
  anything else went wrong before acquisition started);
* the run ends in exactly one final state whatever happens (passed, marginal, failed,
  aborted, error, recorded) and the port is always released; a process that dies leaves its
  run ``running`` and the next database open marks it ``interrupted``
  (``storage.runs.mark_interrupted_runs``);
* one stream of typed events (:mod:`labbench.runs.events`) that listeners subscribe to.

Control from any thread: :meth:`stop` (the run ends as aborted), :meth:`fail` (as error,
with the message), :meth:`answer_manual`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from labbench.acquisition.pipeline import (
    DEFAULT_RING_CAPACITY,
    Acquisition,
    AcquisitionStats,
    SampleBatch,
)
from labbench.acquisition.rigs import make_rig
from labbench.protocols.profile import Profile
from labbench.records import DutInfo, StepRecord
from labbench.runs.evaluation import LiveEvaluator
from labbench.runs.events import (
    BatchJudged,
    LinkChanged,
    ManualEntryRequested,
    RunEnded,
    RunEvent,
    RunNotStarted,
    RunStarted,
    StorageChanged,
)
from labbench.runs.plan import ManualSpec, Plan, Step
from labbench.storage import Database
from labbench.storage import inventory as inventory_store
from labbench.storage import runs as run_store

log = logging.getLogger(__name__)

Listener = Callable[[RunEvent], None]

LINK_GONE = "the rig was lost and did not come back within the reconnect window"


@dataclass
class Conclusion:
    """What the run's owner decided once acquisition stopped: the final status and the
    counts stored with it, and the summary handed out with :class:`RunEnded`."""

    status: str
    error: str = ""
    violation_count: int | None = None
    failed_items: int | None = None
    summary: object = None


@dataclass
class _Manual:
    ready: threading.Event = field(default_factory=threading.Event)
    value: str | None = None


class RunSession:
    """One run of ``dut`` on ``device``; with a ``plan`` its batches are judged live."""

    def __init__(
        self,
        db: Database,
        *,
        device: str,
        dut: DutInfo,
        profile: Profile,
        operator: str = "",
        station: str | None = None,
        plan: Plan | None = None,
        plan_id: int | None = None,
        stop: threading.Event | None = None,
        give_up: threading.Event | None = None,
    ):
        self.db, self.device, self.dut, self.profile = db, device, dut, profile
        self.operator, self.station = operator, station
        self.plan, self.plan_id = plan, plan_id
        # Set to stop waiting, at the end, for a database that is unavailable.
        self.give_up = give_up or threading.Event()
        self.run_id: int | None = None
        self.t0_ns = 0
        # A sled run's placement as stored at its start (slot → chip serial); empty otherwise.
        self.slots: dict[int, str] = {}
        self.evaluator: LiveEvaluator | None = None
        self._acquisition: Acquisition | None = None
        self._listeners: list[Listener] = []
        self._answerers = 0
        self._lock = threading.Lock()
        # Set (by :meth:`stop`, or by whoever handed it in: Ctrl-C) to end the run as aborted.
        self._stop = stop or threading.Event()
        self._failures: list[str] = []
        self._manual = _Manual()
        self._ended = False
        self._link_told_gone = False

    # --- the event stream -----------------------------------------------------------------

    def subscribe(self, listener: Listener, *, answers_manual: bool = False) -> Callable[[], None]:
        """Hear every event from now on; returns the call that unsubscribes.

        ``answers_manual``: this listener answers :class:`ManualEntryRequested` (a GUI), so
        the run waits for :meth:`answer_manual`; with no such listener a manual entry the
        request did not give stays empty."""
        with self._lock:
            self._listeners.append(listener)
            self._answerers += answers_manual

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)
                    self._answerers -= answers_manual

        return unsubscribe

    def publish(self, event: RunEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("run listener failed on %s", type(event).__name__)

    # --- control, from any thread ---------------------------------------------------------

    def stop(self) -> None:
        """End the run as aborted (unless :meth:`fail` was called); everything is kept."""
        self._stop.set()
        self._manual.ready.set()

    def fail(self, message: str) -> None:
        """End the run as error with ``message`` (the application hit a bug, say)."""
        with self._lock:
            self._failures.append(message)
        self.stop()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def failure(self) -> str:
        with self._lock:
            return "; ".join(self._failures)

    def answer_manual(self, value: str | None) -> None:
        self._manual.value = value
        self._manual.ready.set()

    # --- lifecycle ------------------------------------------------------------------------

    def open(self) -> int:
        """Open the rig, create the run and start reading; the run id.

        DeviceError / RecordError / a database fault come here with no run left behind and
        the port released."""
        try:
            rig = make_rig(self.device, self.profile)
            transport = rig.open()
        except BaseException as exc:
            self.publish(RunNotStarted(self.device, str(exc)))
            raise
        try:
            station_id = (
                inventory_store.ensure_station(self.db, self.station).id if self.station else None
            )
            run = run_store.start_run(
                self.db,
                self.dut.id,
                plan_id=self.plan_id,
                station_id=station_id,
                operator=self.operator,
                device=self.device,
                profile=self.profile.name,
                pid=os.getpid(),
            )
        except BaseException as exc:
            transport.close()  # the exclusively locked port is not left held
            self.publish(RunNotStarted(self.device, str(exc)))
            raise
        self.run_id, self.t0_ns = run.id, run.t0_ns
        self.slots = {s.slot: s.chip_serial for s in run_store.run_slots(self.db, run.id)}
        self.publish(
            RunStarted(
                run.id,
                run.t0_ns,
                self.device,
                self.dut.serial,
                self.plan.name if self.plan is not None else None,
                tuple(sorted(self.slots.items())),
            )
        )
        try:
            units = self.plan.channel_units if self.plan is not None else None
            acquisition = Acquisition(self.db, run.id, run.t0_ns, rig, self.profile, units=units)
            if self.plan is not None:
                self.evaluator = LiveEvaluator(self.plan, run.t0_ns, slots=self.slots)
                acquisition.add_listener(self.evaluator.on_batch)
                self.evaluator.add_listener(self.publish)
            acquisition.add_listener(self._on_batch)
            acquisition.add_storage_listener(self._on_storage)
            self._acquisition = acquisition
            acquisition.start(transport)
        except BaseException as exc:
            transport.close()  # idempotent: the reader may have closed it already
            self._conclude_now("error", f"{type(exc).__name__}: {exc}")
            raise
        return run.id

    def execute(
        self,
        body: Callable[[RunSession], tuple[str | None, str]],
        conclude: Callable[[AcquisitionStats, str | None, str], Conclusion] | None = None,
    ) -> object:
        """Open the run, run ``body`` and end the run in exactly one final state.

        ``body(session)`` drives the run and returns (status or None, error).  Then the
        acquisition stops (everything read is stored, unless :attr:`give_up`), and
        ``conclude(stats, status, error)`` decides the final state (a plan's verdicts); without
        it the status is ``body``'s, or ``recorded``.  Whatever raises, the run is finished
        (as error) before the exception goes on; the summary of the conclusion is returned."""
        self.open()
        status: str | None = None
        error = ""
        raised: BaseException | None = None
        try:
            status, error = body(self)
        except KeyboardInterrupt:
            status = "aborted"
        except BaseException as exc:
            status, error, raised = "error", f"{type(exc).__name__}: {exc}", exc
            log.exception("run %s failed", self.run_id)
        conclusion = Conclusion(status or "error", error)
        try:
            stats = self.stop_acquisition()
            if stats.errors and status != "aborted":
                status, error = "error", "; ".join(stats.errors)
            if conclude is not None:
                conclusion = conclude(stats, status, error)
            else:
                conclusion = Conclusion(status or "recorded", error)
        except BaseException as exc:
            log.exception("run %s could not be concluded", self.run_id)
            conclusion = Conclusion("error", f"{type(exc).__name__}: {exc}")
            raised = raised or exc
        self.finish(conclusion)
        if raised is not None:
            raise raised
        return conclusion.summary

    def stop_acquisition(self) -> AcquisitionStats:
        """End reading (the port is released) and wait until everything read is stored."""
        acquisition = self._acquisition
        assert acquisition is not None, "the run was never opened"
        return acquisition.stop(give_up=self.give_up, on_wait=self._on_storage_wait)

    def finish(self, conclusion: Conclusion) -> None:
        """Record the run's final state (once: later calls do nothing) and tell listeners."""
        with self._lock:
            if self._ended or self.run_id is None:
                return
            self._ended = True
        counters = {
            name: value
            for name, value in (
                ("violation_count", conclusion.violation_count),
                ("failed_items", conclusion.failed_items),
            )
            if value is not None
        }
        try:
            run_store.finish_run_when_possible(
                self.db,
                self.run_id,
                conclusion.status,
                error_message=conclusion.error,
                give_up=self.give_up,
                **counters,
            )
        finally:
            self.publish(
                RunEnded(self.run_id, conclusion.status, conclusion.error, conclusion.summary)
            )

    def _conclude_now(self, status: str, error: str) -> None:
        """The run broke while starting: stop what started and finish it as ``status``."""
        try:
            if self._acquisition is not None and self._acquisition.running:
                self.stop_acquisition()
        finally:
            self.finish(Conclusion(status, error))

    # --- what a run's driver does ---------------------------------------------------------

    def wait(self, seconds: float) -> str | None:
        """Let the run go on for ``seconds``; None, or why it must end early: "stopped"
        (:meth:`stop` / :meth:`fail`) or "link_gone" (the rig stayed away too long, or storage
        failed for good)."""
        deadline = time.monotonic() + seconds
        while True:
            if self._stop.is_set():
                return "stopped"
            if self.link_gone:
                return "link_gone"
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._stop.wait(min(left, 0.05))

    @property
    def link_gone(self) -> bool:
        gone = self._acquisition is not None and self._acquisition.link_gone.is_set()
        if gone and not self._link_told_gone:
            self._link_told_gone = True
            self.publish(LinkChanged("gone", time.time_ns()))
        return gone

    def ended_early(self) -> tuple[str, str] | None:
        """(status, error) when the run was stopped, failed or lost its rig; else None."""
        if self._stop.is_set():
            failure = self.failure
            return ("error", failure) if failure else ("aborted", "")
        if self.link_gone:
            return "error", LINK_GONE
        return None

    def send(self, line: str) -> None:
        """A command line for the rig (written by the reader thread, recorded as an event)."""
        self._require().send(line)

    def record_event(self, at_ns: int, kind: str, detail: str = "") -> None:
        self._require().record_event(at_ns, kind, detail)

    def request_batch(self, after_ns: int) -> None:
        """Have the acquisition hand out a batch as soon as a read returns after ``after_ns``
        (a step ended then)."""
        self._require().request_batch(after_ns)

    def ask_manual(self, position: int, step: Step, spec: ManualSpec) -> str | None:
        """The operator's value for a manual entry, asked through the event stream; None when
        nobody answers manual entries, the operator gave none, or the run was stopped."""
        with self._lock:
            answerers = self._answerers
        if not answerers:
            return None
        self._manual.ready.clear()
        self._manual.value = None
        self.publish(ManualEntryRequested(position, step, spec))
        while not self._manual.ready.wait(0.1):
            if self._stop.is_set():
                return None
        return None if self._stop.is_set() else self._manual.value

    # --- time -----------------------------------------------------------------------------

    def seconds(self, t_ns: int) -> float:
        """Seconds since the run's t0 of an epoch-ns time (the time base of plots and CSV)."""
        return (t_ns - self.t0_ns) / 1e9

    def now_s(self) -> float:
        return self.seconds(time.time_ns())

    # --- what displays read ---------------------------------------------------------------

    @property
    def stats(self) -> AcquisitionStats:
        """The acquisition's live counters (link, rate, backlog, storage state); all zero
        before the run started."""
        return self._acquisition.stats if self._acquisition is not None else AcquisitionStats()

    @property
    def ring_capacity(self) -> int:
        """How many samples of each channel the live rings hold."""
        acquisition = self._acquisition
        return acquisition.ring_capacity if acquisition is not None else DEFAULT_RING_CAPACITY

    @property
    def reading(self) -> bool:
        return self._acquisition is not None and self._acquisition.running

    def channels(self) -> list[tuple[str, str, int]]:
        """(name, unit, samples ever received) of every channel the rig has sent."""
        acquisition = self._acquisition
        if acquisition is None:
            return []
        units = acquisition.units
        return [
            (name, units.get(name, ""), ring.total)
            for name, ring in list(acquisition.rings.items())
        ]

    def samples_since(self, channel: str, since_total: int) -> tuple[np.ndarray, np.ndarray, int]:
        """A channel's samples received after its ``since_total``-th still in the live ring,
        and the total to pass next time (times in seconds since t0)."""
        ring = self._ring(channel)
        if ring is None:
            return np.empty(0), np.empty(0), since_total
        return ring.snapshot(since_total)

    def samples_between(self, channel: str, t0_s: float, t1_s: float):
        """What the live ring holds of a channel between t0_s and t1_s (seconds since t0)."""
        ring = self._ring(channel)
        if ring is None:
            return np.empty(0), np.empty(0)
        return ring.between(t0_s, t1_s)

    def value_at(self, channel: str, t_s: float) -> float | None:
        """The value of the channel's last sample at or before t_s still in the live ring."""
        ring = self._ring(channel)
        return None if ring is None else ring.value_at(t_s)

    def step_start_s(self, position: int) -> float | None:
        """Where the judgement of step ``position`` began (seconds since t0), once it has."""
        if self.evaluator is None:
            return None
        windows = self.evaluator.windows
        return windows[position].start_s if position < len(windows) else None

    def live_records(self) -> list[StepRecord]:
        """The live results of every step begun so far (empty for a recording)."""
        return [] if self.evaluator is None else self.evaluator.snapshot()

    # --- listeners of the acquisition ------------------------------------------------------

    def _ring(self, channel: str):
        return None if self._acquisition is None else self._acquisition.rings.get(channel)

    def _require(self) -> Acquisition:
        if self._acquisition is None:
            raise RuntimeError("the run session has not been opened")
        return self._acquisition

    def _on_batch(self, batch: SampleBatch) -> None:
        for at_ns, change in batch.link_changes:
            self.publish(LinkChanged("lost" if change == "disconnect" else "back", at_ns))
        samples = sum(t.size for t, _ in batch.samples.values())
        self.publish(BatchJudged(batch.emitted_ns, samples, tuple(batch.console)))

    def _on_storage(self, kind: str, sentence: str) -> None:
        state = {"storage_stall": "stall", "storage_back": "back"}.get(kind, kind)
        backlog = self._acquisition.stats.backlog if self._acquisition is not None else 0
        self.publish(StorageChanged(state, sentence, backlog))

    def _on_storage_wait(self, samples: int, path: str) -> None:
        self.publish(
            StorageChanged(
                "wait",
                f"waiting for the database to take {samples} buffered samples "
                f"(kept in {path} meanwhile)",
                samples,
            )
        )
