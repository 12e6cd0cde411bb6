"""Team, domains and operators: sending domains and members' grants on them, operators and
their admin roles, and the audit log's `as_user` (who a command acted as, through --as).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa



revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('operator_role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('builtin', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator_role')),
    sa.UniqueConstraint('name', name=op.f('uq_operator_role_name'))
    )
    op.create_table('operator',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['operator_role.id'], name=op.f('fk_operator_role_id_operator_role'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator')),
    sa.UniqueConstraint('name', name=op.f('uq_operator_name'))
    )
    with op.batch_alter_table('operator', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operator_role_id'), ['role_id'], unique=False)

    op.create_table('operator_role_grant',
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['operator_role.id'], name=op.f('fk_operator_role_grant_role_id_operator_role'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('role_id', 'key', name=op.f('pk_operator_role_grant'))
    )
    op.create_table('domain',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=253), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('open_tracking', sa.Boolean(), server_default=sa.text('(true)'), nullable=False),
    sa.Column('click_tracking', sa.Boolean(), server_default=sa.text('(true)'), nullable=False),
    sa.Column('unsubscribe_footer', sa.Boolean(), server_default=sa.text('(true)'), nullable=False),
    sa.Column('monthly_cap', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('monthly_cap IS NULL OR monthly_cap >= 0', name=op.f('ck_domain_monthly_cap_nonneg')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_domain_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_domain')),
    sa.UniqueConstraint('name', name=op.f('uq_domain_name')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('domain', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_domain_account_id'), ['account_id'], unique=False)

    op.create_table('domain_grant',
    sa.Column('domain_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('email_content', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('admin', 'viewer')", name=op.f('ck_domain_grant_role_known')),
    sa.ForeignKeyConstraint(['domain_id'], ['domain.id'], name=op.f('fk_domain_grant_domain_id_domain'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_domain_grant_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('domain_id', 'user_id', name=op.f('pk_domain_grant'))
    )
    with op.batch_alter_table('domain_grant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_domain_grant_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('as_user', sa.String(length=320), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_column('as_user')

    with op.batch_alter_table('domain_grant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_domain_grant_user_id'))

    op.drop_table('domain_grant')
    with op.batch_alter_table('domain', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_domain_account_id'))

    op.drop_table('domain')
    op.drop_table('operator_role_grant')
    with op.batch_alter_table('operator', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_operator_role_id'))

    op.drop_table('operator')
    op.drop_table('operator_role')
