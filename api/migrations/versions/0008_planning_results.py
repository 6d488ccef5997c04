"""planning_results: stored planning refreshes; data_versions.changed_at for the debounce

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'planning_results',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope_key', sa.String(length=40), nullable=False),
        sa.Column('province_code', sa.String(length=2), nullable=True),
        sa.Column('area_level', sa.String(length=20), nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('data_versions', sa.JSON(), nullable=False),
        sa.Column('model_version', sa.String(length=120), nullable=True),
        sa.Column('computed_at', sa.DateTime(), nullable=False),
        sa.Column('seconds', sa.Double(), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=True),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('payload', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_planning_results_scope', 'planning_results', ['scope_key', 'id'])
    with op.batch_alter_table('data_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('changed_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('data_versions', schema=None) as batch_op:
        batch_op.drop_column('changed_at')
    op.drop_index('ix_planning_results_scope', table_name='planning_results')
    op.drop_table('planning_results')
