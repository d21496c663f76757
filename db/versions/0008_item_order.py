"""item order: criterion keys, and each stored item's key, run start and step position

Revision ID: 0008_item_order
Revises: 0007_sweep_points
Create Date: 2026-11-27 07:40:00
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0008_item_order"
down_revision: Union[str, None] = "0007_sweep_points"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_KEY_COLUMNS = ("plan", "step", "name", "channel", "unit", "has_low", "low", "has_high", "high")

# The key of each stored item of a run with a plan, as store_results computes it: its plan's
# name, its step's name, its name, channel, unit and limits (a missing limit as a flag and 0).
_JUDGED = "r.status IN ('passed', 'marginal', 'failed')"
_KEYED = """
    FROM criterion_results c
    JOIN step_results s ON s.id = c.step_result_id
    JOIN runs r ON r.id = c.run_id
    JOIN plans p ON p.id = r.plan_id
"""
_MATCH = """
    k.plan = p.name AND k.step = s.name AND k.name = c.name AND k.channel = c.channel
    AND k.unit = c.unit
    AND k.has_low = (c.low IS NOT NULL) AND k.low = coalesce(c.low, 0.0)
    AND k.has_high = (c.high IS NOT NULL) AND k.high = coalesce(c.high, 0.0)
"""


def upgrade() -> None:
    # Capability (docs/architecture.md §10) reads every value of an item in run start order:
    # with the item's key, its run's start and its step's position on the item's own row, an
    # index on (key, start, run) hands them over in that order, so no sort of the plan's
    # values by item names and start is needed under the moving-range window.
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # Every item is looked up with its step, run and plan by primary key: with the
        # default 2 MB page cache each lookup reads its pages from the file again (tens of
        # GB read for 2 M items), so the cache holds the tables while this runs.
        cache = bind.execute(sa.text("PRAGMA cache_size")).scalar_one()
        bind.execute(sa.text("PRAGMA cache_size = -524288"))
    op.create_table(
        "criterion_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan", sa.String(length=128), nullable=False),
        sa.Column("step", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("has_low", sa.Boolean(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("has_high", sa.Boolean(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("middle", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_criterion_keys")),
        sa.UniqueConstraint(*_KEY_COLUMNS[1:], "plan", name=op.f("uq_criterion_keys_step")),
    )
    # Plain columns added in place, no foreign key: on SQLite a constraint means copying the
    # table, and dropping the old copy checks every one of its rows against the violations
    # that refer to it (no index there), which takes hours on millions of items.  The key is
    # a copy the storage code writes; keys are never deleted.
    op.add_column("criterion_results", sa.Column("item_key", sa.Integer(), nullable=True))
    op.add_column("criterion_results", sa.Column("run_judged", sa.Boolean(), nullable=True))
    op.add_column("criterion_results", sa.Column("run_t0_ns", sa.BigInteger(), nullable=True))
    op.add_column("criterion_results", sa.Column("step_position", sa.Integer(), nullable=True))
    # Keys numbered in the order their items were first stored.
    bind.execute(
        sa.text(
            f"INSERT INTO criterion_keys ({', '.join(_KEY_COLUMNS)}, middle)"
            " SELECT p.name, s.name, c.name, c.channel, c.unit,"
            " c.low IS NOT NULL, coalesce(c.low, 0.0), c.high IS NOT NULL, coalesce(c.high, 0.0),"
            " min(coalesce((c.low + c.high) / 2, c.low, c.high))"  # one value per group
            f" {_KEYED}"
            " GROUP BY p.name, s.name, c.name, c.channel, c.unit,"
            " c.low IS NOT NULL, coalesce(c.low, 0.0), c.high IS NOT NULL, coalesce(c.high, 0.0)"
            " ORDER BY min(c.id)"
        )
    )
    if bind.dialect.name == "postgresql":
        bind.execute(
            sa.text(
                "UPDATE criterion_results AS c"
                f" SET run_t0_ns = r.t0_ns, step_position = s.position, run_judged = {_JUDGED}"
                " FROM step_results s, runs r"
                " WHERE s.id = c.step_result_id AND r.id = c.run_id"
            )
        )
        bind.execute(
            sa.text(
                "UPDATE criterion_results AS c SET item_key = k.id"
                " FROM step_results s, runs r, plans p, criterion_keys k"
                " WHERE s.id = c.step_result_id AND r.id = c.run_id AND p.id = r.plan_id"
                f" AND {_MATCH}"
            )
        )
    else:
        # Correlated subqueries: UPDATE ... FROM needs SQLite 3.33.
        bind.execute(
            sa.text(
                "UPDATE criterion_results SET"
                " run_t0_ns = (SELECT r.t0_ns FROM runs r WHERE r.id = criterion_results.run_id),"
                f" run_judged = (SELECT {_JUDGED} FROM runs r WHERE r.id = criterion_results.run_id),"
                " step_position = (SELECT s.position FROM step_results s"
                "   WHERE s.id = criterion_results.step_result_id)"
            )
        )
        bind.execute(
            sa.text(
                f"UPDATE criterion_results SET item_key = (SELECT k.id {_KEYED}"
                f" JOIN criterion_keys k ON {_MATCH} WHERE c.id = criterion_results.id)"
                " WHERE EXISTS (SELECT 1 FROM runs r WHERE r.id = criterion_results.run_id"
                " AND r.plan_id IS NOT NULL)"
            )
        )
    op.create_index(
        "ix_criterion_results_item_order",
        "criterion_results",
        ["item_key", "run_judged", "run_t0_ns", "run_id", "value", "step_position", "id"],
        unique=False,
    )
    if bind.dialect.name == "sqlite":
        bind.execute(sa.text(f"PRAGMA cache_size = {int(cache)}"))
    else:
        # Fresh statistics, so the planner knows the new index and columns at once.
        bind.execute(sa.text("ANALYZE criterion_keys"))
        bind.execute(sa.text("ANALYZE criterion_results"))


def downgrade() -> None:
    # Plain DROP COLUMN, also on SQLite (3.35 and later): a batch copy of criterion_results
    # would drop the table its violations refer to, which foreign_keys=ON refuses.
    bind = op.get_bind()
    op.drop_index("ix_criterion_results_item_order", table_name="criterion_results")
    for name in ("step_position", "run_t0_ns", "run_judged", "item_key"):
        if bind.dialect.name == "sqlite":
            op.execute(f"ALTER TABLE criterion_results DROP COLUMN {name}")
        else:
            op.drop_column("criterion_results", name)
    op.drop_table("criterion_keys")
