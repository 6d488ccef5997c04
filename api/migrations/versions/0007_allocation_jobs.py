"""allocation_runs.job_id: each round is done by a background job; jobs.worker

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('allocation_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_allocation_runs_job_id'), ['job_id'], unique=False)
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('worker', sa.String(length=120), nullable=True))


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('worker')
    with op.batch_alter_table('allocation_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_runs_job_id'))
        batch_op.drop_column('job_id')
