"""Runs: a run's lifecycle in the database. Starting it (with its ``t0_ns``, host and pid),
reading it and its channels, its one final state (refused for a run that already ended,
retried while the database is unavailable), and the recovery of runs whose process died:
their journal is stored and they become ``interrupted`` at the time of their last data.

Wall-clock run times are integer nanoseconds since the epoch (:func:`to_epoch_ns`), exact.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading

from sqlalchemy import func, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from labbench.records import RUN_STATUSES, ChannelInfo, RunInfo, RunSlotInfo
from labbench.storage import models as m
from labbench.storage.engine import Database, StorageError, first_line
from labbench.storage.session import RecordError, to_record, utcnow, write_session

log = logging.getLogger(__name__)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_epoch_ns(moment: dt.datetime) -> int:
    """Exact integer nanoseconds since the epoch (no float rounding)."""
    return (moment - _EPOCH) // dt.timedelta(microseconds=1) * 1000


def from_epoch_ns(ns: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=ns // 1000)


# --- starting and reading runs ------------------------------------------------------------


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
    with write_session(db) as session:
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
        session.flush()
        _snapshot_slots(session, run)
        session.commit()
        return to_record(RunInfo, run)


def _snapshot_slots(session: Session, run: m.Run) -> None:
    """A sled run keeps the placement it starts with (slot → chip), in the run's own
    transaction: moving a chip later never rewrites what the run recorded."""
    if session.scalar(select(m.Dut.kind).where(m.Dut.id == run.dut_id)) != "sled":
        return
    rows = session.execute(
        select(m.Placement.slot, m.Dut.id, m.Dut.serial)
        .join(m.Dut, m.Dut.id == m.Placement.chip_id)
        .where(m.Placement.sled_id == run.dut_id, m.Placement.removed_at.is_(None))
        .order_by(m.Placement.slot)
    )
    for slot, chip_id, serial in rows:
        session.add(m.RunSlot(run_id=run.id, slot=slot, chip_id=chip_id, chip_serial=serial))


def run_slots(db: Database, run_id: int) -> list[RunSlotInfo]:
    """The placement a run ran with, by slot (empty for a chip run or an empty sled)."""
    with Session(db.engine) as session:
        rows = session.scalars(
            select(m.RunSlot).where(m.RunSlot.run_id == run_id).order_by(m.RunSlot.slot)
        )
        return [to_record(RunSlotInfo, r) for r in rows]


def get_run(db: Database, run_id: int) -> RunInfo:
    with Session(db.engine) as session:
        run = session.get(m.Run, run_id)
        if run is None:
            raise RecordError(f"There is no run with id {run_id}.")
        return to_record(RunInfo, run)


def list_runs(
    db: Database, *, status: str | None = None, limit: int | None = None
) -> list[RunInfo]:
    with Session(db.engine) as session:
        query = select(m.Run).order_by(m.Run.id)
        if status:
            query = query.where(m.Run.status == status)
        if limit:
            query = query.limit(limit)
        return [to_record(RunInfo, r) for r in session.scalars(query)]


def run_channels(db: Database, run_id: int) -> list[ChannelInfo]:
    with Session(db.engine) as session:
        rows = session.scalars(
            select(m.Channel).where(m.Channel.run_id == run_id).order_by(m.Channel.position)
        )
        return [to_record(ChannelInfo, c) for c in rows]


# --- the final state ----------------------------------------------------------------------


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
    if status not in RUN_STATUSES or status == "running":
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
    with write_session(db) as session, session.begin():
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
        # The copy capability filters the run's items by (revision 0008).
        session.execute(
            update(m.CriterionResult)
            .where(m.CriterionResult.run_id == run_id)
            .values(run_judged=status in m.JUDGED_STATUSES)
        )
        session.flush()
        return to_record(RunInfo, run)


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
                    f"Run {run_id} could not be closed as {status} because the database is "
                    f"unavailable ({first_line(exc)}); labbench marks it interrupted the next "
                    "time it opens the database."
                ) from None
            log.warning(
                "closing run %s: the database is unavailable, retrying (%s)",
                run_id,
                first_line(exc),
            )
            give_up.wait(delay)
            delay = min(delay * 2, 2.0)


# --- runs whose process died --------------------------------------------------------------


def mark_interrupted_runs(db: Database, *, host: str | None = None, is_alive=None) -> list[int]:
    """Runs left ``running`` on this host by a process that no longer exists become
    ``interrupted`` (their data is kept).  Returns their ids."""
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
    with write_session(db) as session, session.begin():
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
