"""The records storage hands out: frozen dataclasses for DUTs, placements, stations, plan
versions, runs, channels, events, audit entries, step and criterion results, violations and
history rows, with the names of DUT kinds and run states.

They sit below every package that talks about stored things (storage, runs, export, ui), so
a verdict or a run can be passed around without importing storage. Storage alone builds them
from its ORM rows (docs/architecture.md §2); nothing here does I/O or knows SQLAlchemy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DUT_KINDS = ("sled", "chip")
RUN_STATUSES = (
    "running",
    "passed",
    "marginal",
    "failed",
    "error",
    "aborted",
    "interrupted",
    "recorded",
)


# --- inventory ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DutInfo:
    id: int
    kind: str
    serial: str
    part: str
    generation: str
    silicon_rev: str
    lot: str
    wafer: str
    wafer_x: int | None
    wafer_y: int | None
    slot_count: int | None
    notes: str
    created_at: dt.datetime


@dataclass(frozen=True)
class PlacementInfo:
    id: int
    chip_id: int
    sled_id: int
    slot: int
    placed_at: dt.datetime
    removed_at: dt.datetime | None


@dataclass(frozen=True)
class StationInfo:
    id: int
    name: str
    hostname: str
    created_at: dt.datetime


# --- plans and runs -----------------------------------------------------------------------


@dataclass(frozen=True)
class PlanVersion:
    id: int
    name: str
    version: str
    dut_kind: str
    text: str
    sha256: str
    created_at: dt.datetime


@dataclass(frozen=True)
class RunInfo:
    id: int
    dut_id: int
    plan_id: int | None
    station_id: int | None
    operator: str
    device: str
    profile: str
    software_version: str
    host: str
    pid: int | None
    started_at: dt.datetime
    t0_ns: int
    ended_at: dt.datetime | None
    status: str
    sample_count: int
    malformed_count: int
    console_count: int
    violation_count: int
    failed_items: int
    error_message: str


@dataclass(frozen=True)
class RunSlotInfo:
    """A chip a sled run ran with: its slot then, and its own verdict in the run (None until
    the run is judged per chip)."""

    id: int
    run_id: int
    slot: int
    chip_id: int
    chip_serial: str
    chip_verdict: str | None


@dataclass(frozen=True)
class ChannelInfo:
    id: int
    run_id: int
    name: str
    unit: str
    position: int


# --- events and audit ---------------------------------------------------------------------


@dataclass(frozen=True)
class RunEventInfo:
    id: int
    run_id: int
    at_ns: int
    kind: str
    detail: str


@dataclass(frozen=True)
class AuditInfo:
    id: int
    at: dt.datetime
    user: str
    entity: str
    entity_id: int
    action: str
    field: str
    old_value: str
    new_value: str
    reason: str


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ViolationRecord:
    channel: str
    start_s: float
    end_s: float
    extreme: float
    bound: str


@dataclass(frozen=True)
class CriterionRecord:
    kind: str
    name: str
    channel: str
    unit: str
    stat: str
    value: float | None
    text_value: str
    low: float | None
    high: float | None
    marginal_low: float | None
    marginal_high: float | None
    equals: str | None
    settle_s: float
    hold_s: float
    sample_count: int
    verdict: str
    violations: tuple[ViolationRecord, ...] = ()
    # A per-chip item of a sled run: the slot it judged and the serial of the chip placed
    # there when the run started; None and "" for sled-level items and chip runs.
    slot: int | None = None
    chip: str = ""

    @property
    def first_violation_s(self) -> float | None:
        return self.violations[0].start_s if self.violations else None


@dataclass(frozen=True)
class SweepCoordinates:
    """Where a point step of a sweep lies (docs/architecture.md §4, Sweeps): the sweep step it
    was expanded from, its axis names and values (``y_name``/``y`` None with one axis), and
    ``order``, its place in the sweep's execution order (0 first)."""

    sweep: str
    x_name: str
    x: float
    y_name: str | None
    y: float | None
    order: int


@dataclass(frozen=True)
class StepRecord:
    position: int
    name: str
    started_ns: int
    ended_ns: int | None
    verdict: str
    criteria: tuple[CriterionRecord, ...] = ()
    # A point of a sweep: its coordinates and execution order; None for a plain step.
    point: SweepCoordinates | None = None


# --- history ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRow:
    """A row of the run history (joined with its DUT, plan and station)."""

    id: int
    started_at: dt.datetime
    ended_at: dt.datetime | None
    dut_serial: str
    dut_kind: str
    plan: str
    plan_version: str
    station: str
    operator: str
    status: str
    sample_count: int
    violation_count: int
    # Set when the row is a sled run listed in one of its chips' histories.
    slot: int | None = None
    chip_verdict: str | None = None


@dataclass(frozen=True)
class RunListRow:
    """A row of the exported run list (runs.csv)."""

    run_id: int
    dut: str
    dut_kind: str
    plan: str
    plan_version: str
    station: str
    operator: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    status: str
    failed_items: int
    # Set when the list is one chip's and the row is a sled run the chip took part in.
    slot: int | None = None
    chip_verdict: str | None = None


# --- analytics ----------------------------------------------------------------------------

# What lab analytics can group by (docs/architecture.md §10); day and week are UTC.
ANALYTICS_GROUPS = (
    "day",
    "week",
    "station",
    "operator",
    "plan_version",
    "lot",
    "wafer",
    "slot",
)
# A yield unit: a chip, or a sled (a sled run's chips are units of their own by their
# per-chip verdicts).
YIELD_UNITS = ("chip", "sled")


@dataclass(frozen=True)
class AnalyticsQuery:
    """Which runs of which plan an analytics table covers, and how it is grouped.

    ``since`` is inclusive, ``until`` exclusive (aware UTC times).  ``unit`` None means the
    plan's own DUT kind.  The other filters compare equal; None means any."""

    plan: str
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    by: str | None = None
    unit: str | None = None
    station: str | None = None
    operator: str | None = None
    plan_version: str | None = None
    lot: str | None = None
    wafer: str | None = None
    slot: int | None = None


@dataclass(frozen=True)
class YieldRow:
    """Yield of one group: ``units`` whose first attempt lies in the period, how many of them
    passed their first and their last attempt, their attempts, and the station losses
    (error, aborted, interrupted) counted apart.  fpy and lpy are fractions (None for no
    units)."""

    group: str | int | None
    units: int
    first_passed: int
    last_passed: int
    attempts: int
    station_losses: int

    @property
    def fpy(self) -> float | None:
        return self.first_passed / self.units if self.units else None

    @property
    def lpy(self) -> float | None:
        return self.last_passed / self.units if self.units else None


@dataclass(frozen=True)
class ItemYieldRow:
    """Passed (or marginal) judgements of one item out of all its judgements."""

    step: str
    name: str
    judged: int
    passed: int

    @property
    def item_yield(self) -> float | None:
        return self.passed / self.judged if self.judged else None


@dataclass(frozen=True)
class CapabilityRow:
    """Capability of one numeric item against its spec limits (not the guard band).

    ``sigma_within`` is the mean moving range / 1.128 in run start order, ``sigma_overall``
    the sample standard deviation (n - 1).  A figure is None when it cannot be had: n < 2,
    a σ of 0, or the limit it needs missing."""

    group: str | int | None
    step: str
    name: str
    channel: str
    unit: str
    n: int
    mean: float | None
    sigma_within: float | None
    sigma_overall: float | None
    low: float | None
    high: float | None
    cp: float | None
    cpk: float | None
    pp: float | None
    ppk: float | None

    @property
    def flagged(self) -> bool:
        """Cpk below 1.33: not capable enough."""
        return self.cpk is not None and self.cpk < 1.33


@dataclass(frozen=True)
class ParetoRow:
    """How many failed runs (or failed chips of sled runs) failed first on this item."""

    step: str
    name: str
    count: int
    cumulative_pct: float


@dataclass(frozen=True)
class ControlPoint:
    run_id: int
    started_at: dt.datetime
    value: float
    moving_range: float | None
    # Western Electric rules this point completes: 1 beyond 3σ, 2 two of three beyond 2σ,
    # 3 four of five beyond 1σ, 4 eight in a row, each on one side of the centre.
    rules: tuple[int, ...] = ()


@dataclass(frozen=True)
class ControlChart:
    """An individuals and moving-range chart of one item: centre μ, limits μ ± 3σ with
    σ = MR̄ / 1.128, moving-range upper limit 3.267 MR̄ (None with fewer than 2 points)."""

    step: str
    name: str
    points: tuple[ControlPoint, ...]
    centre: float | None
    sigma: float | None
    lower_limit: float | None
    upper_limit: float | None
    mr_mean: float | None
    mr_upper_limit: float | None
