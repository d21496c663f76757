"""A run's sweeps as shmoos (docs/architecture.md §4, Sweeps): read from its stored step
results, whose sweep points carry their coordinates and execution order.

A point that never ran (the run was stopped, failed with ``stop_on_fail`` or lost its rig
first) is stored as a ``skipped`` step result with its coordinates: it is a ``-`` cell with no
order, never a pass.  A run whose process died (``interrupted``) stored no results, so it has
no shmoo.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from labbench.criteria.shmoo import Shmoo, SweepPoint, build_shmoo
from labbench.records import StepRecord
from labbench.storage import models as m
from labbench.storage import results as result_store
from labbench.storage.engine import Database

__all__ = ["RunSweep", "run_sweeps", "sweep_runs", "sweeps_of"]

# Step verdicts of points that did not run: no cell verdict.
_NOT_RUN = frozenset({"skipped", "pending"})


@dataclass(frozen=True)
class RunSweep:
    """One sweep step of a run: its name (the plan's step name) and its shmoo."""

    name: str
    shmoo: Shmoo

    def as_json(self) -> dict:
        """The ``sweep`` object of docs/architecture.md §4, with the sweep step's name as
        ``step``."""
        return {"step": self.name, **self.shmoo.as_json()}


def sweeps_of(steps: Iterable[StepRecord]) -> list[RunSweep]:
    """The sweeps among a run's step records (stored or live), in the order they ran."""
    groups: dict[str, list[StepRecord]] = {}
    for step in steps:
        if step.point is not None:
            groups.setdefault(step.point.sweep, []).append(step)
    out = []
    for name, points in groups.items():
        first = points[0].point
        out.append(
            RunSweep(
                name,
                build_shmoo(
                    first.x_name,
                    first.y_name,
                    (
                        SweepPoint(s.point.x, s.point.y, None, None)
                        if s.verdict in _NOT_RUN
                        else SweepPoint(s.point.x, s.point.y, s.point.order, s.verdict)
                        for s in points
                    ),
                ),
            )
        )
    return out


def run_sweeps(db: Database, run_id: int) -> list[RunSweep]:
    """The shmoo of each sweep step of a stored run (empty for a run without sweeps)."""
    return sweeps_of(result_store.sweep_point_steps(db, run_id))


def sweep_runs(
    db: Database, plan_name: str, *, exclude: int | None = None, limit: int = 30
) -> list[tuple[int, str, str]]:
    """The newest runs of plans named ``plan_name`` (any version) that stored sweep points:
    (run id, DUT serial, status), for overlaying one run's Vmin on another's."""
    with Session(db.engine) as session:
        has_points = exists().where(
            m.StepResult.run_id == m.Run.id, m.StepResult.sweep.is_not(None)
        )
        query = (
            select(m.Run.id, m.Dut.serial, m.Run.status)
            .join(m.Dut, m.Dut.id == m.Run.dut_id)
            .join(m.Plan, m.Plan.id == m.Run.plan_id)
            .where(m.Plan.name == plan_name, has_points)
            .order_by(m.Run.id.desc())
            .limit(limit)
        )
        if exclude is not None:
            query = query.where(m.Run.id != exclude)
        return [(int(i), serial, status) for i, serial, status in session.execute(query)]
