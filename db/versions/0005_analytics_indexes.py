"""analytics indexes: a plan's runs by status and start, for yield, capability and Pareto

Revision ID: 0005_analytics_indexes
Revises: 0004_criterion_slots
Create Date: 2026-11-27 03:45:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005_analytics_indexes'
down_revision: Union[str, None] = '0004_criterion_slots'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Lab analytics read one plan's finished runs (status IN passed, marginal, failed or the
    # station losses), often within a period: without this index SQLite walks every run of
    # every plan with such a status (ix_runs_status) and drops the other plans' afterwards.
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index('ix_runs_plan_status_started', ['plan_id', 'status', 'started_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index('ix_runs_plan_status_started')
