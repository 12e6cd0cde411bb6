"""Initial schema: roles, packages, accounts and users, suspensions, credits ledger, audit chain.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa



revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=400), nullable=False),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entry_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_target'), ['target'], unique=False)

    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_id', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.Column('count', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_audit_head_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.create_table('credit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=True),
    sa.CheckConstraint("(kind IN ('topup', 'refund') AND amount > 0) OR (kind IN ('spend', 'overuse') AND amount < 0) OR (kind = 'adjust' AND amount <> 0)", name=op.f('ck_credit_entry_amount_sign')),
    sa.CheckConstraint("kind IN ('topup', 'spend', 'overuse', 'refund', 'adjust')", name=op.f('ck_credit_entry_kind_known')),
    sa.CheckConstraint("kind NOT IN ('spend', 'overuse') OR balance_after >= 0", name=op.f('ck_credit_entry_debit_floor')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_entry')),
    sa.UniqueConstraint('account_id', 'idempotency_key', name='uq_credit_entry_account_key'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('credit_entry', schema=None) as batch_op:
        batch_op.create_index('ix_credit_entry_account_time', ['account_id', 'id'], unique=False)

    op.create_table('role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('builtin', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role')),
    sa.UniqueConstraint('name', name=op.f('uq_role_name'))
    )
    op.create_table('package',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.Column('credits_enabled', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('credit_cost', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('allow_overuse', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('bounce_limit', sa.Integer(), nullable=True),
    sa.Column('expires_after_days', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('bounce_limit IS NULL OR (bounce_limit >= 0 AND bounce_limit <= 10000)', name=op.f('ck_package_bounce_limit_pct')),
    sa.CheckConstraint('credit_cost >= 0', name=op.f('ck_package_credit_cost_nonneg')),
    sa.CheckConstraint('expires_after_days IS NULL OR expires_after_days > 0', name=op.f('ck_package_expires_after_pos')),
    sa.ForeignKeyConstraint(['role_id'], ['role.id'], name=op.f('fk_package_role_id_role'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_package')),
    sa.UniqueConstraint('name', name=op.f('uq_package_name'))
    )
    with op.batch_alter_table('package', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_package_role_id'), ['role_id'], unique=False)

    op.create_table('role_grant',
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['role.id'], name=op.f('fk_role_grant_role_id_role'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('role_id', 'key', name=op.f('pk_role_grant'))
    )
    op.create_table('account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('credit_balance', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('plan_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['package.id'], name=op.f('fk_account_package_id_package'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_package_id'), ['package_id'], unique=False)

    op.create_table('package_asset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['package.id'], name=op.f('fk_package_asset_package_id_package'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_package_asset')),
    sa.UniqueConstraint('package_id', 'kind', 'value', name='uq_package_asset_value')
    )
    op.create_table('package_limit',
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('value IS NULL OR value >= 0', name=op.f('ck_package_limit_value_nonneg')),
    sa.ForeignKeyConstraint(['package_id'], ['package.id'], name=op.f('fk_package_limit_package_id_package'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('package_id', 'name', name=op.f('pk_package_limit'))
    )
    op.create_table('account_ip',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('cidr', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_account_ip_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'cidr', name=op.f('pk_account_ip'))
    )
    op.create_table('account_limit',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('value IS NULL OR value >= 0', name=op.f('ck_account_limit_value_nonneg')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_account_limit_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'name', name=op.f('pk_account_limit'))
    )
    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('is_owner', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('closed_reason', sa.Text(), nullable=True),
    sa.Column('closed_by', sa.String(length=200), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'closed')", name=op.f('ck_user_status_known')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_user_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['role_id'], ['role.id'], name=op.f('fk_user_role_id_role'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user')),
    sa.UniqueConstraint('email', name=op.f('uq_user_email')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_role_id'), ['role_id'], unique=False)
        batch_op.create_index('uq_user_account_owner', ['account_id'], unique=True, sqlite_where=sa.text('is_owner'), postgresql_where=sa.text('is_owner'))

    op.create_table('suspension',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lifted_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_suspension_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suspension'))
    )
    with op.batch_alter_table('suspension', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_suspension_user_id'), ['user_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('suspension', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suspension_user_id'))

    op.drop_table('suspension')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index('uq_user_account_owner', sqlite_where=sa.text('is_owner'), postgresql_where=sa.text('is_owner'))
        batch_op.drop_index(batch_op.f('ix_user_role_id'))
        batch_op.drop_index(batch_op.f('ix_user_created_at'))
        batch_op.drop_index(batch_op.f('ix_user_account_id'))

    op.drop_table('user')
    op.drop_table('account_limit')
    op.drop_table('account_ip')
    op.drop_table('package_limit')
    op.drop_table('package_asset')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_package_id'))

    op.drop_table('account')
    op.drop_table('role_grant')
    with op.batch_alter_table('package', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_package_role_id'))

    op.drop_table('package')
    op.drop_table('role')
    with op.batch_alter_table('credit_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_credit_entry_account_time')

    op.drop_table('credit_entry')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entry_target'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_at'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_actor'))

    op.drop_table('audit_entry')

