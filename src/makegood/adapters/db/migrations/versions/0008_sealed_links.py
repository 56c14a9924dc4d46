"""Sealed links: a notice's secret link (receipt or resume token) encrypted in the outbox, and a
saved draft's contact and resume token (encrypted) for the resume link and the draft reminders."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_sealed_links"
down_revision = "0007_evidence_flags"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("sealed", sa.Text, nullable=True))
    with op.batch_alter_table("web_drafts") as batch:
        batch.add_column(sa.Column("contact", sa.Text, nullable=True))
        batch.add_column(sa.Column("sealed", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_drafts") as batch:
        batch.drop_column("sealed")
        batch.drop_column("contact")
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("sealed")
