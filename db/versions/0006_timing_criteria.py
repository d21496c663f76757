"""timing criteria: power-sequencing items stored with kind 'timing'

Revision ID: 0006_timing_criteria
Revises: 0005_analytics_indexes
Create Date: 2026-11-27 04:30:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0006_timing_criteria'
down_revision: Union[str, None] = '0005_analytics_indexes'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_BEFORE = "kind IN ('limit', 'measure', 'result', 'manual')"
_AFTER = "kind IN ('limit', 'measure', 'result', 'manual', 'timing')"


def upgrade() -> None:
    # A timing item (rise, delay, order) keeps its measured time in ms in value, its limits
    # low_ms/high_ms in low/high, the reason in text_value and its kind in stat: only the
    # check on kind changes.
    with op.batch_alter_table('criterion_results', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_criterion_results_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_criterion_results_kind'), _AFTER)


def downgrade() -> None:
    # Results are append-only: a database holding timing results cannot go back to a
    # revision that has no word for them, and deleting them would lose verdicts.
    bind = op.get_bind()
    count = bind.execute(
        sa.text("SELECT count(*) FROM criterion_results WHERE kind = 'timing'")
    ).scalar_one()
    if count:
        raise RuntimeError(
            f"criterion_results holds {count} timing results, which revision "
            "0005_analytics_indexes cannot store; downgrading would lose them"
        )
    with op.batch_alter_table('criterion_results', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_criterion_results_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_criterion_results_kind'), _BEFORE)
