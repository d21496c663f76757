"""sweep points: a step result's sweep, coordinates and execution order

Revision ID: 0007_sweep_points
Revises: 0006_timing_criteria
Create Date: 2026-11-27 07:15:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0007_sweep_points'
down_revision: Union[str, None] = '0006_timing_criteria'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_COLUMNS = ('sweep_order', 'sweep_y', 'sweep_y_name', 'sweep_x', 'sweep_x_name', 'sweep')


def upgrade() -> None:
    # Step results stored before this revision keep NULL in all of them: plain steps, which
    # is what every step was before sweeps.
    with op.batch_alter_table('step_results', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sweep', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('sweep_x_name', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('sweep_x', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('sweep_y_name', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('sweep_y', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('sweep_order', sa.Integer(), nullable=True))


def downgrade() -> None:
    # Results are append-only: a database holding sweep points cannot go back to a revision
    # that has nowhere to keep their coordinates and order.
    bind = op.get_bind()
    count = bind.execute(
        sa.text("SELECT count(*) FROM step_results WHERE sweep IS NOT NULL")
    ).scalar_one()
    if count:
        raise RuntimeError(
            f"step_results holds {count} sweep points, whose coordinates revision "
            "0006_timing_criteria cannot store; downgrading would lose them"
        )
    # Plain DROP COLUMN, also on SQLite (3.35 and later): a batch copy of step_results would
    # drop the table its criterion results refer to, which foreign_keys=ON refuses.
    for name in _COLUMNS:
        if bind.dialect.name == 'sqlite':
            op.execute(f'ALTER TABLE step_results DROP COLUMN {name}')
        else:
            op.drop_column('step_results', name)
