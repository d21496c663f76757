"""Events and audit: what happened during a run and when (steps, link changes, console text,
manual entries, evaluation mismatches), and the audit trail of who changed or noted what, when
and why. Both are append-only: nothing here edits or deletes an entry.
"""

from __future__ import annotations

import time
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labbench.records import AuditInfo, RunEventInfo
from labbench.storage import models as m
from labbench.storage.engine import Database
from labbench.storage.session import RecordError, to_record, utcnow, write_session

# --- run events ---------------------------------------------------------------------------


def add_run_event(
    db: Database, run_id: int, kind: str, detail: str = "", *, at_ns: int | None = None
) -> RunEventInfo:
    with write_session(db) as session:
        event = m.RunEvent(
            run_id=run_id,
            at_ns=at_ns if at_ns is not None else time.time_ns(),
            kind=kind,
            detail=detail,
        )
        session.add(event)
        session.commit()
        return to_record(RunEventInfo, event)


def run_events(
    db: Database, run_id: int, *, except_kinds: Collection[str] = ()
) -> list[RunEventInfo]:
    """A run's events in time order; ``except_kinds`` leaves out kinds that may number
    millions (the rig's console text) for a caller that only wants what happened."""
    with Session(db.engine) as session:
        query = select(m.RunEvent).where(m.RunEvent.run_id == run_id)
        if except_kinds:
            query = query.where(m.RunEvent.kind.not_in(list(except_kinds)))
        rows = session.scalars(query.order_by(m.RunEvent.at_ns, m.RunEvent.id))
        return [to_record(RunEventInfo, e) for e in rows]


def event_counts(db: Database, run_id: int) -> dict[str, int]:
    """How many events of each kind a run has, counted in the database, by kind name."""
    with Session(db.engine) as session:
        rows = session.execute(
            select(m.RunEvent.kind, func.count())
            .where(m.RunEvent.run_id == run_id)
            .group_by(m.RunEvent.kind)
            .order_by(m.RunEvent.kind)
        )
        return dict(rows.all())  # rows of (kind, count)


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
    with write_session(db) as session:
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
        return to_record(AuditInfo, entry)


def audit_trail(db: Database, entity: str, entity_id: int) -> list[AuditInfo]:
    with Session(db.engine) as session:
        rows = session.scalars(
            select(m.AuditEntry)
            .where(m.AuditEntry.entity == entity, m.AuditEntry.entity_id == entity_id)
            .order_by(m.AuditEntry.at, m.AuditEntry.id)
        )
        return [to_record(AuditInfo, a) for a in rows]
