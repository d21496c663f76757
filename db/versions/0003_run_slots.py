"""run slots: the placement a sled run ran with (slot, chip, the chip's own verdict)

Revision ID: 0003_run_slots
Revises: 0002_telemetry_overview
Create Date: 2026-11-26 15:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003_run_slots'
down_revision: Union[str, None] = '0002_telemetry_overview'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Runs recorded before this revision have no slot rows: they stay valid as runs of their
    # DUT, and a chip's history simply does not list the sled runs nobody recorded it in.
    op.create_table('run_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('chip_id', sa.Integer(), nullable=False),
    sa.Column('chip_serial', sa.String(length=128), nullable=False),
    sa.Column('chip_verdict', sa.String(length=16), nullable=True),
    sa.CheckConstraint('slot >= 0', name=op.f('ck_run_slots_slot_nonneg')),
    sa.CheckConstraint("chip_verdict IN ('passed', 'marginal', 'failed', 'error', 'skipped', 'pending')", name=op.f('ck_run_slots_chip_verdict')),
    sa.ForeignKeyConstraint(['chip_id'], ['duts.id'], name=op.f('fk_run_slots_chip_id_duts')),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_run_slots_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_slots')),
    sa.UniqueConstraint('run_id', 'chip_id', name='uq_run_slots_run_chip'),
    sa.UniqueConstraint('run_id', 'slot', name='uq_run_slots_run_slot')
    )
    with op.batch_alter_table('run_slots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_slots_chip_id'), ['chip_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_run_slots_run_id'), ['run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('run_slots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_slots_run_id'))
        batch_op.drop_index(batch_op.f('ix_run_slots_chip_id'))

    op.drop_table('run_slots')
