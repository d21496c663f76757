"""Results: a finished run's step and criterion verdicts with the limits each was judged
against and its violations, written once in one transaction and read back as written.
Results are append-only; a run that already has results refuses a second set.  A sled run's
per-chip items carry their slot and chip, and each chip's own verdict goes into the run's
``run_slots`` row in the same transaction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from labbench.records import CriterionRecord, StepRecord, SweepCoordinates, ViolationRecord
from labbench.storage import models as m
from labbench.storage.engine import Database
from labbench.storage.session import RecordError, write_session


def store_results(
    db: Database,
    run_id: int,
    steps: Sequence[StepRecord],
    chip_verdicts: Mapping[int, str] | None = None,
) -> None:
    """Write a run's step and criterion results and violations, once, in one transaction,
    with ``chip_verdicts`` (slot → the chip's own verdict) into the run's slot rows."""
    with write_session(db) as session, session.begin():
        if (
            session.scalar(select(m.StepResult.id).where(m.StepResult.run_id == run_id).limit(1))
            is not None
        ):
            raise RecordError(f"Run {run_id} already has results; results are never rewritten.")
        if chip_verdicts:
            rows = {
                row.slot: row
                for row in session.scalars(select(m.RunSlot).where(m.RunSlot.run_id == run_id))
            }
            unknown = sorted(set(chip_verdicts) - set(rows))
            if unknown:
                raise RecordError(
                    f"Run {run_id} had no chip in slot {unknown[0]}; "
                    "a chip verdict needs the placement the run started with."
                )
            for slot, verdict in chip_verdicts.items():
                rows[slot].chip_verdict = verdict
        # One flush per level (steps, items, violations), not one per row: the ORM inserts
        # each level as a batch, so a run with hundreds of items stores in three round trips.
        step_rows = [
            m.StepResult(
                run_id=run_id,
                position=step.position,
                name=step.name,
                started_ns=step.started_ns,
                ended_ns=step.ended_ns,
                verdict=step.verdict,
                **_point_columns(step.point),
            )
            for step in steps
        ]
        session.add_all(step_rows)
        session.flush()
        t0_ns, status, plan = session.execute(
            select(m.Run.t0_ns, m.Run.status, m.Plan.name)
            .outerjoin(m.Plan, m.Plan.id == m.Run.plan_id)
            .where(m.Run.id == run_id)
        ).one()
        keys = (
            {}
            if plan is None
            else _item_keys(
                session,
                plan,
                [_key(step.name, c) for step in steps for c in step.criteria],
            )
        )
        judged = []
        for step, row in zip(steps, step_rows, strict=True):
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
                    slot=c.slot,
                    chip=c.chip or None,
                    item_key=keys.get(_key(step.name, c)),
                    run_judged=status in m.JUDGED_STATUSES,
                    run_t0_ns=t0_ns,
                    step_position=step.position,
                )
                judged.append((step.position, c, crit))
        session.add_all(crit for _, _, crit in judged)
        session.flush()
        session.add_all(
            m.Violation(
                run_id=run_id,
                criterion_result_id=crit.id,
                step_position=position,
                channel=v.channel,
                start_s=v.start_s,
                end_s=v.end_s,
                extreme=v.extreme,
                bound=v.bound,
            )
            for position, c, crit in judged
            for v in c.violations
        )


def _key(step: str, c: CriterionRecord) -> tuple | None:
    """An item's :class:`~labbench.storage.models.CriterionKey` columns after the plan's name:
    a missing limit is false and 0, as in the table.  None for a NaN limit (no plan gives
    one; SQLite would store it as NULL)."""
    if any(limit is not None and math.isnan(limit) for limit in (c.low, c.high)):
        return None
    return (
        step,
        c.name,
        c.channel,
        c.unit,
        c.low is not None,
        0.0 if c.low is None else c.low,
        c.high is not None,
        0.0 if c.high is None else c.high,
    )


_KEY_COLUMNS = ("step", "name", "channel", "unit", "has_low", "low", "has_high", "high")


def _middle(key: tuple) -> float | None:
    """The middle of a key's limits, or its one limit (None without limits)."""
    _, _, _, _, has_low, low, has_high, high = key
    if has_low and has_high:
        return (low + high) / 2
    return low if has_low else high if has_high else None


def _item_keys(session: Session, plan: str, wanted: list[tuple | None]) -> dict[tuple, int]:
    """The key of each of ``wanted`` in ``plan``, adding the missing ones (numbered in the
    order the items come, each once; None is no key).  Another station
    may add the same key at the same moment: the insert then does nothing (the unique
    constraint decides, waiting for the other transaction on PostgreSQL) and the key is
    read back."""
    k = m.CriterionKey
    columns = [getattr(k, name) for name in _KEY_COLUMNS]

    def known() -> dict[tuple, int]:
        return {
            tuple(row[1:]): row[0]
            for row in session.execute(select(k.id, *columns).where(k.plan == plan))
        }

    keys = known()
    missing = [key for key in dict.fromkeys(wanted) if key is not None and key not in keys]
    if missing:
        dialect = session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        session.execute(
            insert(k).on_conflict_do_nothing(),
            [
                {"plan": plan, "middle": _middle(key), **dict(zip(_KEY_COLUMNS, key, strict=True))}
                for key in missing
            ],
        )
        keys = known()
    return keys


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
                        slot=c.slot,
                        chip=c.chip or "",
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
                    _point(step),
                )
            )
        return out


def _point_columns(point: SweepCoordinates | None) -> dict:
    if point is None:
        return {}
    return {
        "sweep": point.sweep,
        "sweep_x_name": point.x_name,
        "sweep_x": point.x,
        "sweep_y_name": point.y_name,
        "sweep_y": point.y,
        "sweep_order": point.order,
    }


def _point(row: m.StepResult) -> SweepCoordinates | None:
    if row.sweep is None:
        return None
    return SweepCoordinates(
        row.sweep, row.sweep_x_name or "", row.sweep_x, row.sweep_y_name, row.sweep_y,
        row.sweep_order,
    )  # fmt: skip


def sweep_point_steps(db: Database, run_id: int) -> list[StepRecord]:
    """The stored sweep points of a run, in plan order, without their items (one query)."""
    with Session(db.engine) as session:
        rows = session.scalars(
            select(m.StepResult)
            .where(m.StepResult.run_id == run_id, m.StepResult.sweep.is_not(None))
            .order_by(m.StepResult.position)
        ).all()
        return [
            StepRecord(r.position, r.name, r.started_ns, r.ended_ns, r.verdict, (), _point(r))
            for r in rows
        ]
