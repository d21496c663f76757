"""Repository functions: short sessions in, plain dataclasses out.

Nothing here hands an ORM object or a session to the caller, so results can cross threads
(the writer thread, the GUI thread) freely.  Results are append-only: there is no function
that edits a finished run's verdicts, values or limits; corrections are audit entries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from labbench.storage import models as m
from labbench.storage.engine import Database, StorageError, first_line

log = logging.getLogger(__name__)


class RecordError(Exception):
    """A request that the stored data refuses (duplicate serial, conflicting plan, ...)."""


def _write_session(db: Database) -> Session:
    """A session for reading then writing.  On SQLite it takes the write lock when it begins
    (waiting out the busy timeout) instead of failing with "database is locked" when a read
    transaction overlapping another process's commit tries to write."""
    return Session(db.engine.execution_options(sqlite_begin="IMMEDIATE"))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_epoch_ns(moment: dt.datetime) -> int:
    """Exact integer nanoseconds since the epoch (no float rounding)."""
    return (moment - _EPOCH) // dt.timedelta(microseconds=1) * 1000


def from_epoch_ns(ns: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=ns // 1000)


def _to_dataclass(cls, row):
    return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})


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
class ChannelInfo:
    id: int
    run_id: int
    name: str
    unit: str
    position: int


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


# --- DUTs and placements ------------------------------------------------------------------

DUT_FIELDS = (
    "part",
    "generation",
    "silicon_rev",
    "lot",
    "wafer",
    "wafer_x",
    "wafer_y",
    "slot_count",
    "notes",
)


def add_dut(db: Database, kind: str, serial: str, **fields) -> DutInfo:
    if kind not in m.DUT_KINDS:
        raise RecordError(f"DUT kind {kind!r} is not one of {', '.join(m.DUT_KINDS)}.")
    serial = serial.strip()
    if not serial:
        raise RecordError("A DUT needs a serial number.")
    unknown = set(fields) - set(DUT_FIELDS)
    if unknown:
        raise RecordError(f"Unknown DUT field(s): {', '.join(sorted(unknown))}.")
    with _write_session(db) as session:
        dut = m.Dut(kind=kind, serial=serial, created_at=utcnow(), **_dut_defaults(fields))
        session.add(dut)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise RecordError(f"A DUT with serial {serial!r} is already registered.") from None
        return _to_dataclass(DutInfo, dut)


def _dut_defaults(fields: dict) -> dict:
    out = dict.fromkeys(("part", "generation", "silicon_rev", "lot", "wafer", "notes"), "")
    out.update(fields)
    return out


def find_dut(db: Database, serial: str) -> DutInfo | None:
    with Session(db.engine) as session:
        dut = session.scalar(select(m.Dut).where(m.Dut.serial == serial.strip()))
        return _to_dataclass(DutInfo, dut) if dut else None


def get_dut(db: Database, dut_id: int) -> DutInfo:
    with Session(db.engine) as session:
        dut = session.get(m.Dut, dut_id)
        if dut is None:
            raise RecordError(f"There is no DUT with id {dut_id}.")
        return _to_dataclass(DutInfo, dut)


def list_duts(db: Database, kind: str | None = None) -> list[DutInfo]:
    with Session(db.engine) as session:
        query = select(m.Dut).order_by(m.Dut.serial)
        if kind:
            query = query.where(m.Dut.kind == kind)
        return [_to_dataclass(DutInfo, d) for d in session.scalars(query)]


def place_chip(
    db: Database, chip_id: int, sled_id: int, slot: int, *, at: dt.datetime | None = None
) -> PlacementInfo:
    """Put a chip in a sled slot, ending its previous placement (history is kept)."""
    at = at or utcnow()
    if chip_id is None or sled_id is None:
        raise RecordError("Choose both a chip and a sled.")
    with _write_session(db) as session, session.begin():
        chip, sled = session.get(m.Dut, chip_id), session.get(m.Dut, sled_id)
        if chip is None or chip.kind != "chip":
            raise RecordError(f"DUT {chip_id} is not a registered chip.")
        if sled is None or sled.kind != "sled":
            raise RecordError(f"DUT {sled_id} is not a registered sled.")
        if slot < 0 or (sled.slot_count is not None and slot >= sled.slot_count):
            raise RecordError(f"Sled {sled.serial} has no slot {slot}.")
        occupied = session.scalar(
            select(m.Placement).where(
                m.Placement.sled_id == sled_id,
                m.Placement.slot == slot,
                m.Placement.removed_at.is_(None),
            )
        )
        if occupied is not None and occupied.chip_id != chip_id:
            raise RecordError(f"Slot {slot} of sled {sled.serial} already holds another chip.")
        for current in session.scalars(
            select(m.Placement).where(
                m.Placement.chip_id == chip_id, m.Placement.removed_at.is_(None)
            )
        ):
            current.removed_at = at
        placement = m.Placement(chip_id=chip_id, sled_id=sled_id, slot=slot, placed_at=at)
        session.add(placement)
        session.flush()
        return _to_dataclass(PlacementInfo, placement)


def chip_history(db: Database, chip_id: int) -> list[PlacementInfo]:
    with Session(db.engine) as session:
        rows = session.scalars(
            select(m.Placement)
            .where(m.Placement.chip_id == chip_id)
            .order_by(m.Placement.placed_at, m.Placement.id)
        )
        return [_to_dataclass(PlacementInfo, p) for p in rows]


def sled_slots(db: Database, sled_id: int) -> dict[int, DutInfo]:
    """The chips in a sled now, by slot."""
    with Session(db.engine) as session:
        rows = session.execute(
            select(m.Placement.slot, m.Dut)
            .join(m.Dut, m.Dut.id == m.Placement.chip_id)
            .where(m.Placement.sled_id == sled_id, m.Placement.removed_at.is_(None))
        )
        return {slot: _to_dataclass(DutInfo, dut) for slot, dut in rows}


# --- stations and plans -------------------------------------------------------------------


def ensure_station(db: Database, name: str, hostname: str | None = None) -> StationInfo:
    hostname = socket.gethostname() if hostname is None else hostname
    with _write_session(db) as session:
        station = session.scalar(select(m.Station).where(m.Station.name == name))
        if station is None:
            station = m.Station(name=name, hostname=hostname, created_at=utcnow())
            session.add(station)
            try:
                session.commit()
            except IntegrityError:  # another workstation registered it at the same moment
                session.rollback()
                station = session.scalar(select(m.Station).where(m.Station.name == name))
        return _to_dataclass(StationInfo, station)


def plan_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def store_plan_version(
    db: Database, name: str, version: str, dut_kind: str, text: str
) -> PlanVersion:
    """Store a plan version on first use; the same name+version must have the same text."""
    digest = plan_hash(text)
    with _write_session(db) as session:
        for attempt in range(2):
            existing = session.scalar(
                select(m.Plan).where(m.Plan.name == name, m.Plan.version == version)
            )
            if existing is not None:
                if existing.sha256 != digest:
                    raise RecordError(
                        f"Plan {name!r} version {version!r} is already stored with different content; "
                        "bump the plan's version."
                    )
                return _to_dataclass(PlanVersion, existing)
            session.add(
                m.Plan(
                    name=name,
                    version=version,
                    dut_kind=dut_kind,
                    text=text,
                    sha256=digest,
                    created_at=utcnow(),
                )
            )
            try:
                session.commit()
            except IntegrityError:  # stored by another station meanwhile: compare with theirs
                session.rollback()
        raise RecordError(f"Could not store plan {name!r} version {version!r}.")


def get_plan_version(db: Database, plan_id: int) -> PlanVersion:
    with Session(db.engine) as session:
        plan = session.get(m.Plan, plan_id)
        if plan is None:
            raise RecordError(f"There is no stored plan with id {plan_id}.")
        return _to_dataclass(PlanVersion, plan)


# --- runs ---------------------------------------------------------------------------------


def start_run(
    db: Database,
    dut_id: int,
    *,
    plan_id: int | None = None,
    station_id: int | None = None,
    operator: str = "",
    device: str = "",
    profile: str = "",
    pid: int | None = None,
    started_at: dt.datetime | None = None,
) -> RunInfo:
    from labbench import __version__

    started_at = started_at or utcnow()
    t0_ns = to_epoch_ns(started_at)
    with _write_session(db) as session:
        run = m.Run(
            dut_id=dut_id,
            plan_id=plan_id,
            station_id=station_id,
            operator=operator,
            device=device,
            profile=profile,
            software_version=__version__,
            host=socket.gethostname(),
            pid=pid,
            started_at=started_at,
            t0_ns=t0_ns,
            status="running",
            sample_count=0,
            malformed_count=0,
            console_count=0,
            violation_count=0,
            failed_items=0,
            error_message="",
        )
        session.add(run)
        session.commit()
        return _to_dataclass(RunInfo, run)


def get_run(db: Database, run_id: int) -> RunInfo:
    with Session(db.engine) as session:
        run = session.get(m.Run, run_id)
        if run is None:
            raise RecordError(f"There is no run with id {run_id}.")
        return _to_dataclass(RunInfo, run)


def list_runs(
    db: Database, *, status: str | None = None, limit: int | None = None
) -> list[RunInfo]:
    with Session(db.engine) as session:
        query = select(m.Run).order_by(m.Run.id)
        if status:
            query = query.where(m.Run.status == status)
        if limit:
            query = query.limit(limit)
        return [_to_dataclass(RunInfo, r) for r in session.scalars(query)]


def finish_run(
    db: Database,
    run_id: int,
    status: str,
    *,
    ended_at: dt.datetime | None = None,
    error_message: str = "",
    **counters: int,
) -> RunInfo:
    """Record a run's one final state; a run that already ended is refused."""
    if status not in m.RUN_STATUSES or status == "running":
        raise RecordError(f"{status!r} is not a final run status.")
    allowed = {
        "sample_count",
        "malformed_count",
        "console_count",
        "violation_count",
        "failed_items",
    }
    if set(counters) - allowed:
        raise RecordError(f"Unknown run counter(s): {', '.join(sorted(set(counters) - allowed))}.")
    with _write_session(db) as session, session.begin():
        run = session.get(m.Run, run_id)
        if run is None:
            raise RecordError(f"There is no run with id {run_id}.")
        if run.status != "running":
            raise RecordError(f"Run {run_id} already ended as {run.status}.")
        run.status = status
        run.ended_at = ended_at or utcnow()
        run.error_message = error_message
        for name, value in counters.items():
            setattr(run, name, value)
        session.flush()
        return _to_dataclass(RunInfo, run)


def finish_run_when_possible(
    db: Database,
    run_id: int,
    status: str,
    *,
    give_up: threading.Event,
    error_message: str = "",
    **counters: int,
) -> RunInfo:
    """:func:`finish_run`, retried with backoff while the database is unavailable.

    ``give_up`` (a second Ctrl-C) ends the retries with :class:`StorageError`: the run stays
    ``running`` in the database and is marked interrupted when labbench next opens it."""
    from labbench.storage.engine import probe_writable

    delay = 0.1
    while True:
        why = probe_writable(db) if give_up.is_set() else None
        if why is not None:
            raise StorageError(
                f"Run {run_id} could not be closed as {status} because the database is unavailable "
                f"({why}); labbench marks it interrupted the next time it opens the database."
            )
        try:
            return finish_run(db, run_id, status, error_message=error_message, **counters)
        except (OperationalError, InterfaceError) as exc:
            if give_up.is_set():
                raise StorageError(
                    f"Run {run_id} could not be closed as {status} because the database is unavailable "
                    f"({first_line(exc)}); labbench marks it interrupted the next time it opens the database."
                ) from None
            log.warning(
                "closing run %s: the database is unavailable, retrying (%s)",
                run_id,
                first_line(exc),
            )
            give_up.wait(delay)
            delay = min(delay * 2, 2.0)


def add_run_event(
    db: Database, run_id: int, kind: str, detail: str = "", *, at_ns: int | None = None
) -> RunEventInfo:
    import time

    with _write_session(db) as session:
        event = m.RunEvent(
            run_id=run_id,
            at_ns=at_ns if at_ns is not None else time.time_ns(),
            kind=kind,
            detail=detail,
        )
        session.add(event)
        session.commit()
        return _to_dataclass(RunEventInfo, event)


def run_events(db: Database, run_id: int) -> list[RunEventInfo]:
    with Session(db.engine) as session:
        rows = session.scalars(
            select(m.RunEvent)
            .where(m.RunEvent.run_id == run_id)
            .order_by(m.RunEvent.at_ns, m.RunEvent.id)
        )
        return [_to_dataclass(RunEventInfo, e) for e in rows]


def run_channels(db: Database, run_id: int) -> list[ChannelInfo]:
    with Session(db.engine) as session:
        rows = session.scalars(
            select(m.Channel).where(m.Channel.run_id == run_id).order_by(m.Channel.position)
        )
        return [_to_dataclass(ChannelInfo, c) for c in rows]


# --- audit trail --------------------------------------------------------------------------


def add_audit_entry(
    db: Database,
    *,
    user: str,
    entity: str,
    entity_id: int,
    action: str,
    reason: str = "",
    field: str = "",
    old_value: str = "",
    new_value: str = "",
) -> AuditInfo:
    if not user.strip():
        raise RecordError("An audit entry needs the name of who made it.")
    with _write_session(db) as session:
        entry = m.AuditEntry(
            at=utcnow(),
            user=user,
            entity=entity,
            entity_id=entity_id,
            action=action,
            field=field,
            old_value=old_value,
            new_value=new_value,
            reason=reason,
        )
        session.add(entry)
        session.commit()
        return _to_dataclass(AuditInfo, entry)


def audit_trail(db: Database, entity: str, entity_id: int) -> list[AuditInfo]:
    with Session(db.engine) as session:
        rows = session.scalars(
            select(m.AuditEntry)
            .where(m.AuditEntry.entity == entity, m.AuditEntry.entity_id == entity_id)
            .order_by(m.AuditEntry.at, m.AuditEntry.id)
        )
        return [_to_dataclass(AuditInfo, a) for a in rows]


def counts(
    db: Database, tables: Sequence[str] = ("duts", "runs", "telemetry_chunks")
) -> dict[str, int]:
    from sqlalchemy import func

    with Session(db.engine) as session:
        out = {}
        for name in tables:
            table = m.Base.metadata.tables[name]
            out[name] = session.scalar(select(func.count()).select_from(table))
        return out


# --- results (append-only) ----------------------------------------------------------------


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

    @property
    def first_violation_s(self) -> float | None:
        return self.violations[0].start_s if self.violations else None


@dataclass(frozen=True)
class StepRecord:
    position: int
    name: str
    started_ns: int
    ended_ns: int | None
    verdict: str
    criteria: tuple[CriterionRecord, ...] = ()


def store_results(db: Database, run_id: int, steps: Sequence[StepRecord]) -> None:
    """Write a run's step and criterion results and violations, once, in one transaction."""
    with _write_session(db) as session, session.begin():
        if (
            session.scalar(select(m.StepResult.id).where(m.StepResult.run_id == run_id).limit(1))
            is not None
        ):
            raise RecordError(f"Run {run_id} already has results; results are never rewritten.")
        for step in steps:
            row = m.StepResult(
                run_id=run_id,
                position=step.position,
                name=step.name,
                started_ns=step.started_ns,
                ended_ns=step.ended_ns,
                verdict=step.verdict,
            )
            session.add(row)
            session.flush()
            for c in step.criteria:
                crit = m.CriterionResult(
                    run_id=run_id,
                    step_result_id=row.id,
                    kind=c.kind,
                    name=c.name,
                    channel=c.channel,
                    unit=c.unit,
                    stat=c.stat,
                    value=c.value,
                    text_value=c.text_value,
                    low=c.low,
                    high=c.high,
                    marginal_low=c.marginal_low,
                    marginal_high=c.marginal_high,
                    equals=c.equals,
                    settle_s=c.settle_s,
                    hold_s=c.hold_s,
                    sample_count=c.sample_count,
                    verdict=c.verdict,
                    violation_count=len(c.violations),
                    first_violation_s=c.first_violation_s,
                )
                session.add(crit)
                session.flush()
                session.add_all(
                    m.Violation(
                        run_id=run_id,
                        criterion_result_id=crit.id,
                        step_position=step.position,
                        channel=v.channel,
                        start_s=v.start_s,
                        end_s=v.end_s,
                        extreme=v.extreme,
                        bound=v.bound,
                    )
                    for v in c.violations
                )


def run_results(db: Database, run_id: int) -> list[StepRecord]:
    """The stored results of a run, as written."""
    with Session(db.engine) as session:
        steps = session.scalars(
            select(m.StepResult)
            .where(m.StepResult.run_id == run_id)
            .order_by(m.StepResult.position)
        ).all()
        out = []
        for step in steps:
            crits = session.scalars(
                select(m.CriterionResult)
                .where(m.CriterionResult.step_result_id == step.id)
                .order_by(m.CriterionResult.id)
            ).all()
            records = []
            for c in crits:
                violations = session.scalars(
                    select(m.Violation)
                    .where(m.Violation.criterion_result_id == c.id)
                    .order_by(m.Violation.start_s, m.Violation.id)
                ).all()
                records.append(
                    CriterionRecord(
                        kind=c.kind,
                        name=c.name,
                        channel=c.channel,
                        unit=c.unit,
                        stat=c.stat,
                        value=c.value,
                        text_value=c.text_value,
                        low=c.low,
                        high=c.high,
                        marginal_low=c.marginal_low,
                        marginal_high=c.marginal_high,
                        equals=c.equals,
                        settle_s=c.settle_s,
                        hold_s=c.hold_s,
                        sample_count=c.sample_count,
                        verdict=c.verdict,
                        violations=tuple(
                            ViolationRecord(v.channel, v.start_s, v.end_s, v.extreme, v.bound)
                            for v in violations
                        ),
                    )
                )
            out.append(
                StepRecord(
                    step.position,
                    step.name,
                    step.started_ns,
                    step.ended_ns,
                    step.verdict,
                    tuple(records),
                )
            )
        return out


def mark_interrupted_runs(db: Database, *, host: str | None = None, is_alive=None) -> list[int]:
    """Runs left ``running`` on this host by a process that no longer exists become
    ``interrupted`` (their data is kept).  Returns their ids."""
    import os

    host = socket.gethostname() if host is None else host

    def _alive(pid: int | None) -> bool:
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    is_alive = is_alive or _alive
    with Session(db.engine) as session:
        candidates = session.execute(
            select(m.Run.id, m.Run.pid).where(m.Run.status == "running", m.Run.host == host)
        ).all()
    dead = [run_id for run_id, pid in candidates if not is_alive(pid)]
    if not dead:
        return []  # nothing written: a read-only database serves read-only commands
    from labbench.storage.journal import recover

    for run_id in dead:
        forwarded = recover(db, run_id)  # what the process had not stored when it died
        if forwarded:
            log.warning(
                "run %s: %d samples its process left in the storage journal were stored",
                run_id,
                forwarded,
            )
    marked = []
    with _write_session(db) as session, session.begin():
        for run_id in dead:
            run = session.get(m.Run, run_id)
            if run is None or run.status != "running":
                continue
            run.status = "interrupted"
            run.ended_at = _last_data_at(session, run) or utcnow()
            run.error_message = (
                f"the labbench process (pid {run.pid}) ended without closing the run"
            )
            marked.append(run.id)
    return marked


def _last_data_at(session: Session, run: m.Run) -> dt.datetime | None:
    """When a run's newest stored data arrived: its end when its process died unnoticed."""
    raw_ns = session.scalar(
        select(func.max(m.RawChunk.received_ns)).where(m.RawChunk.run_id == run.id)
    )
    event_ns = session.scalar(select(func.max(m.RunEvent.at_ns)).where(m.RunEvent.run_id == run.id))
    t_last = session.scalar(
        select(func.max(m.TelemetryChunk.t_last)).where(m.TelemetryChunk.run_id == run.id)
    )
    candidates = [ns for ns in (raw_ns, event_ns) if ns is not None]
    if t_last is not None:
        candidates.append(run.t0_ns + int(t_last * 1e9))
    return from_epoch_ns(max(candidates)) if candidates else None


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


HISTORY_SORT = (
    "id",
    "started_at",
    "dut_serial",
    "dut_kind",
    "plan",
    "status",
    "station",
    "operator",
    "sample_count",
)


def query_runs(
    db: Database,
    *,
    text: str = "",
    dut: str = "",
    plan: str = "",
    status: str = "",
    station: str = "",
    since: dt.datetime | None = None,
    sort: str = "id",
    descending: bool = True,
    offset: int = 0,
    limit: int = 200,
) -> list[RunRow]:
    """One page of the run history, filtered and sorted in the database (fast at 100 k runs)."""
    from sqlalchemy import or_

    columns = {
        "id": m.Run.id,
        "started_at": m.Run.started_at,
        "dut_serial": m.Dut.serial,
        "dut_kind": m.Dut.kind,
        "plan": m.Plan.name,
        "status": m.Run.status,
        "station": m.Station.name,
        "operator": m.Run.operator,
        "sample_count": m.Run.sample_count,
    }
    query = _run_rows_select()
    if text.strip():
        like = f"%{text.strip()}%"
        query = query.where(
            or_(
                m.Dut.serial.ilike(like),
                m.Plan.name.ilike(like),
                m.Run.operator.ilike(like),
                m.Run.device.ilike(like),
            )
        )
    if dut.strip():
        query = query.where(m.Dut.serial.ilike(f"%{dut.strip()}%"))
    if plan.strip():
        query = query.where(m.Plan.name.ilike(f"%{plan.strip()}%"))
    if status:
        query = query.where(m.Run.status == status)
    if station:
        query = query.where(m.Station.name == station)
    if since is not None:
        query = query.where(m.Run.started_at >= since)
    key = columns.get(sort, m.Run.id)
    query = (
        query.order_by(key.desc() if descending else key.asc(), m.Run.id.desc())
        .offset(offset)
        .limit(limit)
    )
    with Session(db.engine) as session:
        return [_run_row(r) for r in session.execute(query)]


def _run_rows_select():
    return (
        select(
            m.Run.id,
            m.Run.started_at,
            m.Run.ended_at,
            m.Dut.serial,
            m.Dut.kind,
            m.Plan.name,
            m.Plan.version,
            m.Station.name,
            m.Run.operator,
            m.Run.status,
            m.Run.sample_count,
            m.Run.violation_count,
        )
        .join(m.Dut, m.Dut.id == m.Run.dut_id)
        .outerjoin(m.Plan, m.Plan.id == m.Run.plan_id)
        .outerjoin(m.Station, m.Station.id == m.Run.station_id)
    )


def _run_row(r) -> RunRow:
    return RunRow(
        r[0],
        _aware(r[1]),
        _aware(r[2]),
        r[3],
        r[4],
        r[5] or "",
        r[6] or "",
        r[7] or "",
        r[8],
        r[9],
        r[10],
        r[11],
    )


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def update_dut(db: Database, dut_id: int, *, user: str, reason: str = "", **changes) -> DutInfo:
    """Edit a DUT's descriptive fields; every changed field is recorded in the audit trail."""
    unknown = set(changes) - set(DUT_FIELDS)
    if unknown:
        raise RecordError(f"Unknown DUT field(s): {', '.join(sorted(unknown))}.")
    if not user.strip():
        raise RecordError("An edit needs the name of who made it.")
    for name in ("wafer_x", "wafer_y", "slot_count"):
        value = changes.get(name)
        if value is not None and not isinstance(value, int):
            raise RecordError(f"{name} must be a whole number, not {value!r}.")
    if changes.get("slot_count") is not None and changes["slot_count"] < 1:
        raise RecordError("A sled needs at least one slot.")
    with _write_session(db) as session, session.begin():
        dut = session.get(m.Dut, dut_id)
        if dut is None:
            raise RecordError(f"There is no DUT with id {dut_id}.")
        if changes.get("slot_count") is not None and dut.kind == "sled":
            highest = session.scalar(
                select(func.max(m.Placement.slot)).where(
                    m.Placement.sled_id == dut_id, m.Placement.removed_at.is_(None)
                )
            )
            if highest is not None and highest >= changes["slot_count"]:
                raise RecordError(
                    f"Sled {dut.serial} has a chip in slot {highest}; it needs more than {changes['slot_count']} slots."
                )
        now = utcnow()
        for name, value in changes.items():
            old = getattr(dut, name)
            if old == value:
                continue
            setattr(dut, name, value)
            session.add(
                m.AuditEntry(
                    at=now,
                    user=user,
                    entity="dut",
                    entity_id=dut_id,
                    action="edit",
                    field=name,
                    old_value="" if old is None else str(old),
                    new_value="" if value is None else str(value),
                    reason=reason,
                )
            )
        session.flush()
        return _to_dataclass(DutInfo, dut)


def unplaced_chips(db: Database) -> list[DutInfo]:
    """Chips not sitting in any sled now."""
    with Session(db.engine) as session:
        placed = select(m.Placement.chip_id).where(m.Placement.removed_at.is_(None))
        rows = session.scalars(
            select(m.Dut)
            .where(m.Dut.kind == "chip", m.Dut.id.not_in(placed))
            .order_by(m.Dut.serial)
        )
        return [_to_dataclass(DutInfo, d) for d in rows]


def dut_runs(db: Database, dut_id: int) -> list[RunRow]:
    """The runs of one DUT, newest first."""
    query = _run_rows_select().where(m.Run.dut_id == dut_id).order_by(m.Run.id.desc())
    with Session(db.engine) as session:
        return [_run_row(r) for r in session.execute(query)]
