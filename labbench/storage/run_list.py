"""The list of runs for exports and scripts: streamed rows, plain tuples out.

Export and the command line read the run list through here so that no ORM query is built
outside storage (docs/architecture.md §1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from labbench.storage import models as m
from labbench.storage.engine import Database

RUN_STATUSES = m.RUN_STATUSES


@dataclass(frozen=True)
class RunListRow:
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


def station_name(db: Database, station_id: int | None) -> str:
    """The station's name; '' for a run recorded without one."""
    if station_id is None:
        return ""
    with db.engine.connect() as conn:
        return conn.execute(select(m.Station.name).where(m.Station.id == station_id)).scalar() or ""


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
        )
        .join(m.Dut, m.Dut.id == m.Run.dut_id)
        .outerjoin(m.Plan, m.Plan.id == m.Run.plan_id)
        .outerjoin(m.Station, m.Station.id == m.Run.station_id)
        .order_by(m.Run.id)
    )
    if dut:
        query = query.where(m.Dut.serial == dut)
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
            )
