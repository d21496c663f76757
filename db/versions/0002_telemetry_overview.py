"""telemetry overview rows: min/max of consecutive chunks, for opening long runs fast

Revision ID: 0002_telemetry_overview
Revises: 0001
Create Date: 2026-11-26 11:15:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0002_telemetry_overview'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Runs recorded before this revision have no overview rows: readers fall back to their
    # chunk rows, so nothing needs backfilling.
    op.create_table('telemetry_overview',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('seq_first', sa.Integer(), nullable=False),
    sa.Column('seq_last', sa.Integer(), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('t_first', sa.Float(), nullable=False),
    sa.Column('t_last', sa.Float(), nullable=False),
    sa.Column('v_min', sa.Float(), nullable=True),
    sa.Column('v_max', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_telemetry_overview_channel_id_channels')),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_telemetry_overview_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_telemetry_overview')),
    sa.UniqueConstraint('channel_id', 'seq_first', name='uq_telemetry_overview_channel_seq_first')
    )
    with op.batch_alter_table('telemetry_overview', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telemetry_overview_run_id'), ['run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('telemetry_overview', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_telemetry_overview_run_id'))

    op.drop_table('telemetry_overview')
