"""Notices: campaigns, the outbox of notices and their delivery attempts.

Revision ID: 0002_notices
Revises: 0001 (a head beside the other helpers' migrations; upgrade goes to all heads)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from makegood.adapters.db.schema import UTCDateTime

revision = '0002_notices'
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'notice_campaigns',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('incident_id', sa.String(length=100), nullable=False),
        sa.Column('run_id', sa.String(length=100), nullable=True),
        sa.Column('source', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('accounts', sa.Integer(), nullable=False),
        sa.Column('enqueued', sa.Integer(), nullable=False),
        sa.Column('without_contact', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_campaigns')),
    )
    op.create_table(
        'notices',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('key', sa.String(length=220), nullable=False),
        sa.Column('campaign_id', sa.String(length=40), nullable=True),
        sa.Column('incident_id', sa.String(length=100), nullable=False),
        sa.Column('account_id', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('email', sa.Text(), nullable=True),
        sa.Column('phone', sa.Text(), nullable=True),
        sa.Column('push_id', sa.Text(), nullable=True),
        sa.Column('webhook_url', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('skipped', sa.Boolean(), nullable=False),
        sa.Column('step_started_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('next_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('lease_owner', sa.String(length=60), nullable=True),
        sa.Column('lease_until', UTCDateTime(timezone=True), nullable=True),
        sa.Column('channel', sa.String(length=20), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('delivered_at', UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
        sa.UniqueConstraint('key', name=op.f('uq_notices_key')),
    )
    op.create_index('ix_notices_due', 'notices', ['status', 'next_at'], unique=False)
    op.create_index(op.f('ix_notices_campaign_id'), 'notices', ['campaign_id'], unique=False)
    op.create_table(
        'notice_attempts',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('notice_id', _ID, nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('provider', sa.String(length=60), nullable=False),
        sa.Column('address', sa.Text(), nullable=False),
        sa.Column('provider_key', sa.String(length=64), nullable=False),
        sa.Column('provider_id', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('worker', sa.String(length=60), nullable=False),
        sa.Column('sending_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['notice_id'], ['notices.id'],
                                name=op.f('fk_notice_attempts_notice_id_notices')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_attempts')),
    )
    op.create_index(op.f('ix_notice_attempts_notice_id'), 'notice_attempts', ['notice_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_table('notice_attempts')
    op.drop_index('ix_notices_due', table_name='notices')
    op.drop_index(op.f('ix_notices_campaign_id'), table_name='notices')
    op.drop_table('notices')
    op.drop_table('notice_campaigns')
