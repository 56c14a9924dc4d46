"""Evidence flags: what a reviewer should know before opening a file (PDF_ACTIVE_CONTENT)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_evidence_flags"
down_revision = "0006_audit_truncate"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.add_column(sa.Column("flags", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.drop_column("flags")
