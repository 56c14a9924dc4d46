"""Web pages: saved claim drafts, account contacts (the second factor), console runs.

Revision ID: 0005_web
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from makegood.adapters.db.schema import UTCDateTime

revision = '0005_web'
down_revision = "0004_triage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('web_drafts',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('incident_id', sa.String(length=100), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_web_drafts'))
    )
    op.create_table('account_contacts',
    sa.Column('account_id', sa.String(length=100), nullable=False),
    sa.Column('phone_last4', sa.String(length=4), nullable=False),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_account_contacts'))
    )
    op.create_table('web_runs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.Column('ledger_path', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_runs'))
    )


def downgrade() -> None:
    op.drop_table('web_runs')
    op.drop_table('account_contacts')
    op.drop_table('web_drafts')
