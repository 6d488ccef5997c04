"""security: token expiry and last use, allocation rounds bound to their creator's scope

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(), nullable=True))
    # Tokens issued before expiry existed get the default lifetime from the upgrade on
    # (naive UTC, as every timestamp here).
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("UPDATE api_tokens SET expires_at = datetime('now', '+90 days')")
    else:
        op.execute(
            "UPDATE api_tokens SET expires_at = (now() at time zone 'utc') + interval '90 days'"
        )
    with op.batch_alter_table('allocation_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('province_scope', sa.String(length=2), nullable=True))


def downgrade():
    with op.batch_alter_table('allocation_runs', schema=None) as batch_op:
        batch_op.drop_column('province_scope')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('expires_at')
