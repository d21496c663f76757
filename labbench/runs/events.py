"""The one stream of events a run publishes (docs/architecture.md, "Run lifecycle").

A :class:`~labbench.runs.session.RunSession` hands every listener these frozen objects, in
the order they happened, on the thread where they happened (the run's own thread for steps,
the reader thread for batches and verdicts, the storage forwarder for stalls).  Listeners
must be quick and must not block; the GUI queues them to its own thread in one place
(``labbench/ui/session_bridge.py``), the CLI prints them.

Every session publishes either :class:`RunNotStarted` (no run was created) or
:class:`RunStarted` first and exactly one :class:`RunEnded` last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labbench.criteria.limits import Excursion
    from labbench.protocols.parser import ConsoleLine
    from labbench.records import CriterionRecord, SweepCoordinates
    from labbench.runs.plan import ManualSpec, Step

__all__ = [
    "BatchJudged",
    "ItemVerdictChanged",
    "LinkChanged",
    "ManualEntryRequested",
    "RunEnded",
    "RunEvent",
    "RunNotStarted",
    "RunStarted",
    "StepStarted",
    "StorageChanged",
    "ViolationFound",
]


@dataclass(frozen=True)
class RunNotStarted:
    """The rig could not be opened or the database refused the run: no run exists."""

    device: str
    reason: str


@dataclass(frozen=True)
class RunStarted:
    run_id: int
    t0_ns: int  # epoch ns of the run's time zero (``RunSession.seconds`` converts to it)
    device: str
    dut_serial: str
    plan_name: str | None  # None for a recording without a plan
    # A sled run's placement as stored at its start: (slot, chip serial) in slot order;
    # empty for a chip run or an empty sled.
    slots: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class StepStarted:
    position: int  # the step's position in the plan
    name: str
    started_ns: int
    start_s: float  # seconds since the run's t0
    # A point of a sweep: its sweep, coordinates and order (plan.steps[position].point).
    point: SweepCoordinates | None = None


@dataclass(frozen=True)
class BatchJudged:
    """A batch of the rig's data was taken in (and judged, when the run has a plan): every
    sample that arrived before ``emitted_ns`` is in the rings and the judgement now."""

    emitted_ns: int
    samples: int
    console: tuple[ConsoleLine, ...]


@dataclass(frozen=True)
class ItemVerdictChanged:
    """An item of a step got its first verdict (``previous`` None) or a different one."""

    position: int  # the step's position in the plan
    step: str
    item: CriterionRecord
    previous: str | None
    step_verdict: str
    # The step is a point of a sweep: its sweep, coordinates and order; None otherwise.  A
    # live shmoo colours the cell (point.x, point.y) of point.sweep by step_verdict.
    point: SweepCoordinates | None = None


@dataclass(frozen=True)
class ViolationFound:
    """An excursion of a limit lasted its hold time: the limit has failed."""

    position: int
    step: str
    channel: str
    excursion: Excursion


@dataclass(frozen=True)
class LinkChanged:
    """The rig went away ("lost"), came back ("back"), or stayed away longer than its
    reconnect window ("gone": the run ends as error)."""

    state: str
    at_ns: int


@dataclass(frozen=True)
class StorageChanged:
    """The database stalled ("stall"), took the backlog again ("back"), or the run's end
    waits for it ("wait"); ``detail`` is one sentence for the operator."""

    state: str
    detail: str
    backlog: int  # samples read but not yet stored


@dataclass(frozen=True)
class ManualEntryRequested:
    """The step needs a value the operator types: answer with ``RunSession.answer_manual``."""

    position: int
    step: Step
    spec: ManualSpec


@dataclass(frozen=True)
class RunEnded:
    """The run's one final state: passed, marginal, failed, aborted, error or recorded.

    ``summary`` is what the run's owner reports (a plan's ``RunOutcome``, a recording's
    ``RecordSummary``); None when the run broke before it could be summed up."""

    run_id: int
    status: str
    error: str
    summary: Any = None


RunEvent = (
    RunNotStarted
    | RunStarted
    | StepStarted
    | BatchJudged
    | ItemVerdictChanged
    | ViolationFound
    | LinkChanged
    | StorageChanged
    | ManualEntryRequested
    | RunEnded
)
