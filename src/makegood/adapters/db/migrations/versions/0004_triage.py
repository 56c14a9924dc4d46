"""Triage and screening: claim_screening, screening_keys, duplicate_decisions.

Revision ID: 0004_triage
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from makegood.adapters.db.schema import UTCDateTime

revision = '0004_triage'
down_revision = "0003_payouts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'claim_screening',
        sa.Column('claim_id', sa.String(length=40), nullable=False),
        sa.Column('label', sa.String(length=30), nullable=True),
        sa.Column('damage', sa.Boolean(), nullable=True),
        sa.Column('predicted_category', sa.String(length=40), nullable=True),
        sa.Column('probability', sa.Float(), nullable=True),
        sa.Column('drivers', sa.JSON(), nullable=True),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('codes', sa.String(length=400), nullable=False),
        sa.Column('recommendation', sa.String(length=10), nullable=False),
        sa.Column('group_id', sa.String(length=40), nullable=True),
        sa.Column('links', sa.JSON(), nullable=False),
        sa.Column('screened_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['claim_id'], ['claims.id'],
                                name=op.f('fk_claim_screening_claim_id_claims')),
        sa.PrimaryKeyConstraint('claim_id', name=op.f('pk_claim_screening')),
    )
    op.create_index('ix_claim_screening_score', 'claim_screening', ['score'])
    op.create_index('ix_claim_screening_group_id', 'claim_screening', ['group_id'])
    op.create_table(
        'screening_keys',
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('claim_id', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(['claim_id'], ['claims.id'],
                                name=op.f('fk_screening_keys_claim_id_claims')),
        sa.PrimaryKeyConstraint('kind', 'key', 'claim_id', name=op.f('pk_screening_keys')),
    )
    op.create_table(
        'duplicate_decisions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('claim_a', sa.String(length=40), nullable=False),
        sa.Column('claim_b', sa.String(length=40), nullable=False),
        sa.Column('duplicate', sa.Boolean(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('decided_by', sa.Integer(), nullable=False),
        sa.Column('decided_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['claim_a'], ['claims.id'],
                                name=op.f('fk_duplicate_decisions_claim_a_claims')),
        sa.ForeignKeyConstraint(['claim_b'], ['claims.id'],
                                name=op.f('fk_duplicate_decisions_claim_b_claims')),
        sa.ForeignKeyConstraint(['decided_by'], ['staff_users.id'],
                                name=op.f('fk_duplicate_decisions_decided_by_staff_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_duplicate_decisions')),
    )
    op.create_index('ix_duplicate_decisions_claim_a', 'duplicate_decisions', ['claim_a'])
    op.create_index('ix_duplicate_decisions_claim_b', 'duplicate_decisions', ['claim_b'])


def downgrade() -> None:
    op.drop_table('duplicate_decisions')
    op.drop_table('screening_keys')
    op.drop_table('claim_screening')
