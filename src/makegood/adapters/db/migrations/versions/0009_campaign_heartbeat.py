"""A campaign's heartbeat: while one is being enqueued, the process doing it writes how far it
has got and when, so every server process (and the command line's) shows the same progress and
none starts it a second time; a campaign whose heartbeat stopped was interrupted."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from makegood.adapters.db.schema import UTCDateTime

revision = "0009_campaign_heartbeat"
down_revision = "0008_sealed_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notice_campaigns") as batch:
        batch.add_column(sa.Column("heartbeat_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("read_so_far", sa.Integer, nullable=True))
        batch.add_column(sa.Column("new_so_far", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notice_campaigns") as batch:
        batch.drop_column("new_so_far")
        batch.drop_column("read_so_far")
        batch.drop_column("heartbeat_at")
