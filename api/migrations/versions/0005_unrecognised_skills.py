"""unrecognised skills: free text no skill code matched, kept on workers and commitments

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('workers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('skills_unrecognised', sa.JSON(), nullable=True))
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('required_skills_unrecognised', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.drop_column('required_skills_unrecognised')
    with op.batch_alter_table('workers', schema=None) as batch_op:
        batch_op.drop_column('skills_unrecognised')
