"""users, consents; api_tokens.kind and user_id; access_log.user_id

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('login', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('password_hash', sa.String(length=200), nullable=False),
        sa.Column('role', sa.String(length=12), nullable=False),
        sa.Column('enterprise_id', sa.Integer(), nullable=True),
        sa.Column('province_code', sa.String(length=2), nullable=True),
        sa.Column('disabled_at', sa.DateTime(), nullable=True),
        sa.Column('last_login_at', sa.DateTime(), nullable=True),
        sa.Column('password_changed_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "role IN ('caseworker', 'enterprise', 'planner', 'admin')",
            name=op.f('ck_users_role_known'),
        ),
        sa.CheckConstraint(
            "(role = 'enterprise') = (enterprise_id IS NOT NULL)",
            name=op.f('ck_users_enterprise_bound'),
        ),
        sa.ForeignKeyConstraint(
            ['enterprise_id'], ['enterprises.id'], name=op.f('fk_users_enterprise_id_enterprises')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
        sa.UniqueConstraint('login', name=op.f('uq_users_login')),
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('kind', sa.String(length=10), nullable=False, server_default='api')
        )
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_api_tokens_user_id_users'), 'users', ['user_id'], ['id']
        )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None)
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_access_log_user_id'), ['user_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_access_log_user_id_users'), 'users', ['user_id'], ['id']
        )
    op.create_table(
        'consents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('worker_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=40), nullable=False),
        sa.Column('text_version', sa.String(length=20), nullable=False),
        sa.Column('given_on', sa.Date(), nullable=False),
        sa.Column('method', sa.String(length=20), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.Column('recorded_by_token_id', sa.Integer(), nullable=True),
        sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
        sa.Column('withdrawn_on', sa.Date(), nullable=True),
        sa.Column('withdrawn_by_user_id', sa.Integer(), nullable=True),
        sa.CheckConstraint(
            'withdrawn_on IS NULL OR withdrawn_on >= given_on', name=op.f('ck_consents_dates')
        ),
        sa.ForeignKeyConstraint(
            ['recorded_by_token_id'], ['api_tokens.id'],
            name=op.f('fk_consents_recorded_by_token_id_api_tokens'),
        ),
        sa.ForeignKeyConstraint(
            ['recorded_by_user_id'], ['users.id'], name=op.f('fk_consents_recorded_by_user_id_users')
        ),
        sa.ForeignKeyConstraint(
            ['withdrawn_by_user_id'], ['users.id'],
            name=op.f('fk_consents_withdrawn_by_user_id_users'),
        ),
        sa.ForeignKeyConstraint(
            ['worker_id'], ['workers.id'], name=op.f('fk_consents_worker_id_workers')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consents')),
    )
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consents_worker_id'), ['worker_id'], unique=False)


def downgrade():
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consents_worker_id'))
    op.drop_table('consents')
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_access_log_user_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_access_log_user_id'))
        batch_op.drop_column('user_id')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_tokens_user_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))
        batch_op.drop_column('user_id')
        batch_op.drop_column('kind')
    op.drop_table('users')
