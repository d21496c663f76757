"""criterion slots: the slot and chip a per-chip item of a sled run judged

Revision ID: 0004_criterion_slots
Revises: 0003_run_slots
Create Date: 2026-11-27 00:10:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004_criterion_slots'
down_revision: Union[str, None] = '0003_run_slots'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Items stored before this revision keep NULL in both: they are sled-level or chip-run
    # items, which is what every run judged before per-chip judgement was.
    with op.batch_alter_table('criterion_results', schema=None) as batch_op:
        batch_op.add_column(sa.Column('slot', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('chip', sa.String(length=128), nullable=True))
        batch_op.create_check_constraint(batch_op.f('ck_criterion_results_slot_nonneg'), 'slot >= 0')


def downgrade() -> None:
    with op.batch_alter_table('criterion_results', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_criterion_results_slot_nonneg'), type_='check')
        batch_op.drop_column('chip')
        batch_op.drop_column('slot')
