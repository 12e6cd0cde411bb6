"""Sending domains for real: DKIM keys (an active key and a rotation's pending one), what the
last DNS verification found per record, and SMTP credentials stored only as Argon2id.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa



revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dkim_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('domain_id', sa.Integer(), nullable=False),
    sa.Column('selector', sa.String(length=63), nullable=False),
    sa.Column('algorithm', sa.String(length=8), nullable=False),
    sa.Column('bits', sa.Integer(), nullable=True),
    sa.Column('private_key', sa.Text(), nullable=False),
    sa.Column('public_key', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("algorithm IN ('rsa', 'ed25519')", name=op.f('ck_dkim_key_algorithm_known')),
    sa.CheckConstraint("state IN ('active', 'pending')", name=op.f('ck_dkim_key_state_known')),
    sa.ForeignKeyConstraint(['domain_id'], ['domain.id'], name=op.f('fk_dkim_key_domain_id_domain'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dkim_key')),
    sa.UniqueConstraint('domain_id', 'selector', name='uq_dkim_key_selector'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('dkim_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dkim_key_domain_id'), ['domain_id'], unique=False)

    op.create_table('dns_check',
    sa.Column('domain_id', sa.Integer(), nullable=False),
    sa.Column('record', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('expected', sa.Text(), nullable=False),
    sa.Column('found', sa.Text(), nullable=True),
    sa.Column('cause', sa.Text(), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'verified', 'failed')", name=op.f('ck_dns_check_state_known')),
    sa.ForeignKeyConstraint(['domain_id'], ['domain.id'], name=op.f('fk_dns_check_domain_id_domain'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('domain_id', 'record', name=op.f('pk_dns_check'))
    )
    op.create_table('smtp_credential',
    sa.Column('domain_id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=320), nullable=False),
    sa.Column('secret_hash', sa.Text(), nullable=False),
    sa.Column('previous_hash', sa.Text(), nullable=True),
    sa.Column('previous_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reset_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['domain_id'], ['domain.id'], name=op.f('fk_smtp_credential_domain_id_domain'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('domain_id', name=op.f('pk_smtp_credential')),
    sa.UniqueConstraint('username', name=op.f('uq_smtp_credential_username'))
    )


def downgrade() -> None:
    op.drop_table('smtp_credential')
    op.drop_table('dns_check')
    with op.batch_alter_table('dkim_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dkim_key_domain_id'))

    op.drop_table('dkim_key')
