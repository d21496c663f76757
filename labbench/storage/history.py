"""History: the queries over many runs. One page of the run history filtered and sorted in
the database (fast at 100 k runs), the runs of one DUT (a chip's include the sled runs it
sat in, with its slot), the run list streamed for runs.csv
and scripts, and row counts of tables. Read-only; rows are records of :mod:`labbench.records`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from labbench.records import RunListRow, RunRow
from labbench.storage import models as m
from labbench.storage.engine import Database

# --- the history table --------------------------------------------------------------------


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


def dut_runs(db: Database, dut_id: int) -> list[RunRow]:
    """The runs of one DUT, newest first: its own runs and, for a chip, every sled run it
    took part in, with the slot it sat in and its own verdict in that run."""
    query = (
        _run_rows_select(m.RunSlot.slot, m.RunSlot.chip_verdict)
        .outerjoin(m.RunSlot, and_(m.RunSlot.run_id == m.Run.id, m.RunSlot.chip_id == dut_id))
        .where(or_(m.Run.dut_id == dut_id, m.RunSlot.id.is_not(None)))
        .order_by(m.Run.id.desc())
    )
    with Session(db.engine) as session:
        return [_run_row(r) for r in session.execute(query)]


def _run_rows_select(*extra):
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
            *extra,
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
        *r[12:],
    )


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


# --- the run list -------------------------------------------------------------------------


def iter_run_list(
    db: Database,
    *,
    dut: str | None = None,
    plan: str | None = None,
    verdict: str | None = None,
    since: dt.datetime | None = None,
) -> Iterator[RunListRow]:
    """One row per run, oldest first, streamed (500 rows at a time) from the database."""
    query = (
        select(
            m.Run.id,
            m.Dut.serial,
            m.Dut.kind,
            m.Plan.name,
            m.Plan.version,
            m.Station.name,
            m.Run.operator,
            m.Run.started_at,
            m.Run.ended_at,
            m.Run.status,
            m.Run.failed_items,
            m.RunSlot.slot,
            m.RunSlot.chip_verdict,
        )
        .join(m.Dut, m.Dut.id == m.Run.dut_id)
        .outerjoin(m.Plan, m.Plan.id == m.Run.plan_id)
        .outerjoin(m.Station, m.Station.id == m.Run.station_id)
        .order_by(m.Run.id)
    )
    if dut:
        # A chip's list holds its own runs and the sled runs it took part in (as recorded
        # at their start, wherever the chip sits now).
        query = query.outerjoin(
            m.RunSlot, and_(m.RunSlot.run_id == m.Run.id, m.RunSlot.chip_serial == dut)
        ).where(or_(m.Dut.serial == dut, m.RunSlot.id.is_not(None)))
    else:
        query = query.outerjoin(m.RunSlot, false())
    if plan:
        query = query.where(m.Plan.name == plan)
    if verdict:
        query = query.where(m.Run.status == verdict)
    if since:
        query = query.where(m.Run.started_at >= since)
    with Session(db.engine) as session:
        for row in session.execute(query.execution_options(yield_per=500)):
            (
                run_id,
                serial,
                kind,
                plan_name,
                version,
                station,
                operator,
                started,
                ended,
                status,
                failed,
                slot,
                chip_verdict,
            ) = row
            yield RunListRow(
                run_id,
                serial,
                kind,
                plan_name or "",
                version or "",
                station or "",
                operator,
                started,
                ended,
                status,
                failed,
                slot,
                chip_verdict,
            )


# --- table sizes --------------------------------------------------------------------------


def counts(
    db: Database, tables: Sequence[str] = ("duts", "runs", "telemetry_chunks")
) -> dict[str, int]:
    with Session(db.engine) as session:
        out = {}
        for name in tables:
            table = m.Base.metadata.tables[name]
            out[name] = session.scalar(select(func.count()).select_from(table))
        return out
