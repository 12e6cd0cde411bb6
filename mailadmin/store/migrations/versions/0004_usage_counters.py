"""Usage against limits: sends, bounces and paid overuse per account per UTC hour, day and month,
sends per domain per month, resource counts as the platform reports them, and the package's
minimum of sends before a bounce rate counts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa



revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('resource_usage',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('value >= 0', name=op.f('ck_resource_usage_value_nonneg')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_resource_usage_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'name', name=op.f('pk_resource_usage'))
    )
    with op.batch_alter_table('resource_usage', schema=None) as batch_op:
        batch_op.create_index('ix_resource_usage_name_value', ['name', 'value', 'account_id'], unique=False)

    op.create_table('usage_counter',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('span', sa.String(length=8), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('bounced', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('overuse', sa.BigInteger(), server_default='0', nullable=False),
    sa.CheckConstraint("span IN ('hour', 'day', 'month')", name=op.f('ck_usage_counter_span_known')),
    sa.CheckConstraint('sent >= 0 AND bounced >= 0 AND bounced <= sent AND overuse >= 0 AND overuse <= sent', name=op.f('ck_usage_counter_counts_valid')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_usage_counter_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'span', 'starts_at', name=op.f('pk_usage_counter'))
    )
    with op.batch_alter_table('usage_counter', schema=None) as batch_op:
        batch_op.create_index('ix_usage_counter_span_start', ['span', 'starts_at', 'sent', 'account_id'], unique=False)

    op.create_table('domain_usage',
    sa.Column('domain_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('bounced', sa.BigInteger(), server_default='0', nullable=False),
    sa.CheckConstraint('sent >= 0 AND bounced >= 0 AND bounced <= sent', name=op.f('ck_domain_usage_counts_valid')),
    sa.ForeignKeyConstraint(['domain_id'], ['domain.id'], name=op.f('fk_domain_usage_domain_id_domain'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('domain_id', 'starts_at', name=op.f('pk_domain_usage'))
    )
    with op.batch_alter_table('package', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bounce_min_sends', sa.Integer(), server_default='100', nullable=False))
        batch_op.create_check_constraint(op.f('ck_package_bounce_min_sends_nonneg'), 'bounce_min_sends >= 0')



def downgrade() -> None:
    with op.batch_alter_table('package', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_package_bounce_min_sends_nonneg'), type_='check')
        batch_op.drop_column('bounce_min_sends')

    op.drop_table('domain_usage')
    with op.batch_alter_table('usage_counter', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_counter_span_start')

    op.drop_table('usage_counter')
    with op.batch_alter_table('resource_usage', schema=None) as batch_op:
        batch_op.drop_index('ix_resource_usage_name_value')

    op.drop_table('resource_usage')
