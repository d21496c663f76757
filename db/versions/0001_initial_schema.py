"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 20:26:52.865233
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0001'
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:

    op.create_table('audit_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user', sa.String(length=128), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=False),
    sa.Column('new_value', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entries_entity', ['entity', 'entity_id'], unique=False)

    op.create_table('duts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('serial', sa.String(length=128), nullable=False),
    sa.Column('part', sa.String(length=128), nullable=False),
    sa.Column('generation', sa.String(length=64), nullable=False),
    sa.Column('silicon_rev', sa.String(length=32), nullable=False),
    sa.Column('lot', sa.String(length=64), nullable=False),
    sa.Column('wafer', sa.String(length=32), nullable=False),
    sa.Column('wafer_x', sa.Integer(), nullable=True),
    sa.Column('wafer_y', sa.Integer(), nullable=True),
    sa.Column('slot_count', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('sled', 'chip')", name=op.f('ck_duts_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duts')),
    sa.UniqueConstraint('serial', name=op.f('uq_duts_serial'))
    )
    op.create_table('plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('dut_kind', sa.String(length=8), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("dut_kind IN ('sled', 'chip')", name=op.f('ck_plans_dut_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plans')),
    sa.UniqueConstraint('name', 'version', name='uq_plans_name_version')
    )
    op.create_table('stations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('hostname', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stations')),
    sa.UniqueConstraint('name', name=op.f('uq_stations_name'))
    )
    op.create_table('placements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chip_id', sa.Integer(), nullable=False),
    sa.Column('sled_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('slot >= 0', name=op.f('ck_placements_slot_nonneg')),
    sa.ForeignKeyConstraint(['chip_id'], ['duts.id'], name=op.f('fk_placements_chip_id_duts')),
    sa.ForeignKeyConstraint(['sled_id'], ['duts.id'], name=op.f('fk_placements_sled_id_duts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placements'))
    )
    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_placements_chip_id'), ['chip_id'], unique=False)
        batch_op.create_index('ix_placements_sled_slot', ['sled_id', 'slot'], unique=False)

    op.create_table('runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dut_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('station_id', sa.Integer(), nullable=True),
    sa.Column('operator', sa.String(length=128), nullable=False),
    sa.Column('device', sa.String(length=512), nullable=False),
    sa.Column('profile', sa.String(length=128), nullable=False),
    sa.Column('software_version', sa.String(length=64), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('t0_ns', sa.BigInteger(), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('sample_count', sa.BigInteger(), nullable=False),
    sa.Column('malformed_count', sa.BigInteger(), nullable=False),
    sa.Column('console_count', sa.BigInteger(), nullable=False),
    sa.Column('violation_count', sa.Integer(), nullable=False),
    sa.Column('failed_items', sa.Integer(), nullable=False),
    sa.Column('error_message', sa.Text(), nullable=False),
    sa.CheckConstraint("status IN ('running', 'passed', 'marginal', 'failed', 'error', 'aborted', 'interrupted', 'recorded')", name=op.f('ck_runs_status')),
    sa.ForeignKeyConstraint(['dut_id'], ['duts.id'], name=op.f('fk_runs_dut_id_duts')),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_runs_plan_id_plans')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_runs_station_id_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runs'))
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_runs_dut_id'), ['dut_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_runs_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index('ix_runs_started_at', ['started_at'], unique=False)
        batch_op.create_index('ix_runs_status', ['status'], unique=False)

    op.create_table('channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_channels_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channels')),
    sa.UniqueConstraint('run_id', 'name', name='uq_channels_run_name')
    )
    op.create_table('raw_chunks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('received_ns', sa.BigInteger(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_raw_chunks_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_raw_chunks')),
    sa.UniqueConstraint('run_id', 'seq', name='uq_raw_chunks_run_seq')
    )
    op.create_table('run_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('at_ns', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_run_events_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_events'))
    )
    with op.batch_alter_table('run_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_events_run_id'), ['run_id'], unique=False)

    op.create_table('step_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('started_ns', sa.BigInteger(), nullable=False),
    sa.Column('ended_ns', sa.BigInteger(), nullable=True),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.CheckConstraint("verdict IN ('passed', 'marginal', 'failed', 'error', 'skipped', 'pending')", name=op.f('ck_step_results_verdict')),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_step_results_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_step_results')),
    sa.UniqueConstraint('run_id', 'position', name='uq_step_results_run_position')
    )
    op.create_table('criterion_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('step_result_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=128), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('stat', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('text_value', sa.Text(), nullable=False),
    sa.Column('low', sa.Float(), nullable=True),
    sa.Column('high', sa.Float(), nullable=True),
    sa.Column('marginal_low', sa.Float(), nullable=True),
    sa.Column('marginal_high', sa.Float(), nullable=True),
    sa.Column('equals', sa.Text(), nullable=True),
    sa.Column('settle_s', sa.Float(), nullable=False),
    sa.Column('hold_s', sa.Float(), nullable=False),
    sa.Column('sample_count', sa.BigInteger(), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('violation_count', sa.Integer(), nullable=False),
    sa.Column('first_violation_s', sa.Float(), nullable=True),
    sa.CheckConstraint("kind IN ('limit', 'measure', 'result', 'manual')", name=op.f('ck_criterion_results_kind')),
    sa.CheckConstraint("verdict IN ('passed', 'marginal', 'failed', 'error', 'skipped', 'pending')", name=op.f('ck_criterion_results_verdict')),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_criterion_results_run_id_runs')),
    sa.ForeignKeyConstraint(['step_result_id'], ['step_results.id'], name=op.f('fk_criterion_results_step_result_id_step_results')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_criterion_results'))
    )
    with op.batch_alter_table('criterion_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_criterion_results_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_criterion_results_step_result_id'), ['step_result_id'], unique=False)

    op.create_table('telemetry_chunks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('t_first', sa.Float(), nullable=False),
    sa.Column('t_last', sa.Float(), nullable=False),
    sa.Column('v_min', sa.Float(), nullable=True),
    sa.Column('v_max', sa.Float(), nullable=True),
    sa.Column('t', sa.LargeBinary(), nullable=False),
    sa.Column('v', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_telemetry_chunks_channel_id_channels')),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_telemetry_chunks_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_telemetry_chunks')),
    sa.UniqueConstraint('channel_id', 'seq', name='uq_telemetry_chunks_channel_seq')
    )
    with op.batch_alter_table('telemetry_chunks', schema=None) as batch_op:
        batch_op.create_index('ix_telemetry_chunks_run_channel_t', ['run_id', 'channel_id', 't_first'], unique=False)

    op.create_table('violations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('criterion_result_id', sa.Integer(), nullable=False),
    sa.Column('step_position', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=128), nullable=False),
    sa.Column('start_s', sa.Float(), nullable=False),
    sa.Column('end_s', sa.Float(), nullable=False),
    sa.Column('extreme', sa.Float(), nullable=False),
    sa.Column('bound', sa.String(length=8), nullable=False),
    sa.CheckConstraint("bound IN ('low', 'high', 'nan')", name=op.f('ck_violations_bound')),
    sa.ForeignKeyConstraint(['criterion_result_id'], ['criterion_results.id'], name=op.f('fk_violations_criterion_result_id_criterion_results')),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_violations_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_violations'))
    )
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_violations_run_id'), ['run_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_violations_run_id'))

    op.drop_table('violations')
    with op.batch_alter_table('telemetry_chunks', schema=None) as batch_op:
        batch_op.drop_index('ix_telemetry_chunks_run_channel_t')

    op.drop_table('telemetry_chunks')
    with op.batch_alter_table('criterion_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_criterion_results_step_result_id'))
        batch_op.drop_index(batch_op.f('ix_criterion_results_run_id'))

    op.drop_table('criterion_results')
    op.drop_table('step_results')
    with op.batch_alter_table('run_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_events_run_id'))

    op.drop_table('run_events')
    op.drop_table('raw_chunks')
    op.drop_table('channels')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index('ix_runs_status')
        batch_op.drop_index('ix_runs_started_at')
        batch_op.drop_index(batch_op.f('ix_runs_plan_id'))
        batch_op.drop_index(batch_op.f('ix_runs_dut_id'))

    op.drop_table('runs')
    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.drop_index('ix_placements_sled_slot')
        batch_op.drop_index(batch_op.f('ix_placements_chip_id'))

    op.drop_table('placements')
    op.drop_table('stations')
    op.drop_table('plans')
    op.drop_table('duts')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entries_entity')

    op.drop_table('audit_entries')

