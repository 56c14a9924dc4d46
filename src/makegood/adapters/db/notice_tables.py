"""The notice tables: campaigns, the outbox of notices, and every delivery attempt.

In the claims database on purpose: a notice is written in the same transaction as the state
change that causes it (a transactional outbox), and the worker that delivers it claims work
with row locks (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a lease column everywhere).
Migration ``0002_notices`` creates these (``0008_sealed_links`` adds ``notices.sealed``).
"""

from __future__ import annotations

import sqlalchemy as sa

from makegood.adapters.db.schema import UTCDateTime, metadata

notice_campaigns = sa.Table(
    "notice_campaigns", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),  # awards | reminders | drafts
    sa.Column("incident_id", sa.String(100), nullable=False),
    sa.Column("run_id", sa.String(100), nullable=True),
    sa.Column("source", sa.Text, nullable=True),  # the ledger (awards) or a note (reminders)
    sa.Column("status", sa.String(20), nullable=False),  # running | enqueued
    sa.Column("accounts", sa.Integer, nullable=False),  # notices the campaign asked for
    sa.Column("enqueued", sa.Integer, nullable=False),  # of those, new (not sent before)
    sa.Column("without_contact", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    # While enqueuing: the wall-clock time of the last sign of life and how far it got.
    sa.Column("heartbeat_at", UTCDateTime, nullable=True),
    sa.Column("read_so_far", sa.Integer, nullable=True),
    sa.Column("new_so_far", sa.Integer, nullable=True),
)

notices = sa.Table(
    "notices", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("key", sa.String(220), nullable=False, unique=True),
    sa.Column("campaign_id", sa.String(40), nullable=True, index=True),
    sa.Column("incident_id", sa.String(100), nullable=False),
    sa.Column("account_id", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("language", sa.String(5), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # JSON: the facts the words are rendered from
    sa.Column("email", sa.Text, nullable=True),
    sa.Column("phone", sa.Text, nullable=True),
    sa.Column("push_id", sa.Text, nullable=True),
    sa.Column("webhook_url", sa.Text, nullable=True),
    # A secret link's path, encrypted with the service's key; wiped once the notice is final
    # (migration 0008).
    sa.Column("sealed", sa.Text, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("step", sa.Integer, nullable=False),  # index in the fallback chain
    sa.Column("tries", sa.Integer, nullable=False),  # attempts on the current step
    sa.Column("skipped", sa.Boolean, nullable=False),  # a step was skipped in this pass
    sa.Column("step_started_at", UTCDateTime, nullable=True),
    sa.Column("next_at", UTCDateTime, nullable=False),
    sa.Column("lease_owner", sa.String(60), nullable=True),
    sa.Column("lease_until", UTCDateTime, nullable=True),
    sa.Column("channel", sa.String(20), nullable=True),  # the channel that delivered it
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.Index("ix_notices_due", "status", "next_at"),
)

notice_attempts = sa.Table(
    "notice_attempts", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("notice_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
              sa.ForeignKey("notices.id"), nullable=False, index=True),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("provider", sa.String(60), nullable=False),
    sa.Column("address", sa.Text, nullable=False),  # masked
    sa.Column("provider_key", sa.String(64), nullable=False),
    sa.Column("provider_id", sa.Text, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("worker", sa.String(60), nullable=False),
    sa.Column("sending_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
)
