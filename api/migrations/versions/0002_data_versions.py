"""data versions: a counter per table for the matching indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

NAMES = ("workers", "enterprises", "courses", "enrollments", "commitments", "referrals")


def upgrade():
    table = op.create_table(
        'data_versions',
        sa.Column('name', sa.String(length=20), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_data_versions')),
    )
    op.bulk_insert(table, [{"name": n, "version": 0} for n in NAMES])


def downgrade():
    op.drop_table('data_versions')
