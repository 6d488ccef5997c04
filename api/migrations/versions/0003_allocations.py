"""allocation rounds: runs and their proposed pairs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'allocation_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('token_id', sa.Integer(), nullable=True),
        sa.Column('role', sa.String(length=12), nullable=True),
        sa.Column('policy', sa.String(length=20), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('scorer', sa.String(length=20), nullable=True),
        sa.Column('model_version', sa.String(length=64), nullable=True),
        sa.Column('data_versions', sa.JSON(), nullable=True),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('progress', sa.Double(), nullable=False),
        sa.Column('message', sa.String(length=500), nullable=True),
        sa.Column('summary', sa.JSON(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('running', 'done', 'failed')", name=op.f('ck_allocation_runs_status_known')),
        sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_allocation_runs_token_id_api_tokens')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_runs')),
    )
    op.create_table(
        'allocation_pairs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('worker_id', sa.Integer(), nullable=False),
        sa.Column('commitment_id', sa.Integer(), nullable=False),
        sa.Column('probability', sa.Double(), nullable=False),
        sa.Column('distance_km', sa.Double(), nullable=False),
        sa.Column('reasons', sa.JSON(), nullable=True),
        sa.Column('referral_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['commitment_id'], ['commitments.id'], name=op.f('fk_allocation_pairs_commitment_id_commitments')),
        sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_allocation_pairs_referral_id_referrals')),
        sa.ForeignKeyConstraint(['run_id'], ['allocation_runs.id'], name=op.f('fk_allocation_pairs_run_id_allocation_runs')),
        sa.ForeignKeyConstraint(['worker_id'], ['workers.id'], name=op.f('fk_allocation_pairs_worker_id_workers')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_pairs')),
    )
    op.create_index(op.f('ix_allocation_pairs_run_id'), 'allocation_pairs', ['run_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_allocation_pairs_run_id'), table_name='allocation_pairs')
    op.drop_table('allocation_pairs')
    op.drop_table('allocation_runs')
