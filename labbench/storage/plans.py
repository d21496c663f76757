"""Plans: immutable plan versions, stored on first use with their full text and its SHA-256.

The same name and version with other text is refused (bump the version instead); two stations
storing the same version at once end up with the one row.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labbench.records import PlanVersion
from labbench.storage import models as m
from labbench.storage.engine import Database
from labbench.storage.session import RecordError, to_record, utcnow, write_session


def plan_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def store_plan_version(
    db: Database, name: str, version: str, dut_kind: str, text: str
) -> PlanVersion:
    """Store a plan version on first use; the same name+version must have the same text."""
    digest = plan_hash(text)
    with write_session(db) as session:
        for _attempt in range(2):
            existing = session.scalar(
                select(m.Plan).where(m.Plan.name == name, m.Plan.version == version)
            )
            if existing is not None:
                if existing.sha256 != digest:
                    raise RecordError(
                        f"Plan {name!r} version {version!r} is already stored with different "
                        "content; bump the plan's version."
                    )
                return to_record(PlanVersion, existing)
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
        return to_record(PlanVersion, plan)


def plan_names(db: Database) -> list[tuple[str, str]]:
    """Every stored plan name once, with the DUT kind of its versions, in name order: what the
    analytics (docs/architecture.md §10) can be asked about."""
    with Session(db.engine) as session:
        stmt = select(m.Plan.name, m.Plan.dut_kind).distinct().order_by(m.Plan.name)
        seen: dict[str, str] = {}
        for name, kind in session.execute(stmt):
            seen.setdefault(name, kind)
        return list(seen.items())
