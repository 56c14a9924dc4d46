"""The tables, in SQLAlchemy Core; the Alembic migrations create exactly these.

Money is stored exactly: ``NUMERIC`` on PostgreSQL, text on SQLite (whose numbers are floats).
Instants are stored in UTC and always come back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from makegood.domain.windows import require_aware


class Money(sa.types.TypeDecorator[Decimal]):
    """An exact decimal on every backend."""

    impl = sa.types.String(40)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.types.Numeric(24, 6))
        return dialect.type_descriptor(sa.types.String(40))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return value
        return str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else exact(value)


def exact(value: Any) -> Decimal:
    """A stored amount as the exact decimal it was written as."""
    result = Decimal(str(value))
    # PostgreSQL pads to the column's scale (30000.000000); give back 30000, never 3E+4.
    if result == result.to_integral_value():
        return Decimal(int(result))
    return Decimal(format(result.normalize(), "f"))


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """An aware UTC instant; a naive value is refused on the way in."""

    impl = sa.types.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        aware = require_aware(value)
        if dialect.name == "sqlite":
            return aware.replace(tzinfo=None)
        return aware

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

incidents = sa.Table(
    "incidents", metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("document", sa.Text, nullable=False),  # the incident TOML (dump_incident)
    sa.Column("policy_id", sa.String(100), nullable=True),
    sa.Column("ledger_path", sa.Text, nullable=True),
    sa.Column("intake_opens", UTCDateTime, nullable=True),
    sa.Column("intake_closes", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

policies = sa.Table(
    "policies", metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("document", sa.Text, nullable=False),  # the policy TOML
    sa.Column("created_at", UTCDateTime, nullable=False),
)

accounts = sa.Table(
    "accounts", metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("segment", sa.String(20), nullable=False),
)

subscriptions = sa.Table(
    "subscriptions", metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("account_id", sa.String(100), sa.ForeignKey("accounts.id"), nullable=False,
              index=True),
    sa.Column("service", sa.String(100), nullable=False),
    sa.Column("plan", sa.String(100), nullable=False),
    sa.Column("paid", sa.Boolean, nullable=False),
    sa.Column("fee", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("billing_period", sa.String(10), nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("start", UTCDateTime, nullable=False),
    sa.Column("end", UTCDateTime, nullable=True),
)

staff_users = sa.Table(
    "staff_users", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(100), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

staff_sessions = sa.Table(
    "staff_sessions", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("staff_users.id"), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

claims = sa.Table(
    "claims", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("incident_id", sa.String(100), sa.ForeignKey("incidents.id"), nullable=False),
    sa.Column("claimant_kind", sa.String(20), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("phone", sa.Text, nullable=False),
    sa.Column("account_id", sa.String(100), nullable=False, index=True),
    sa.Column("service", sa.String(100), nullable=False),
    sa.Column("feature", sa.String(100), nullable=True),
    sa.Column("category", sa.String(40), nullable=False),
    sa.Column("start", UTCDateTime, nullable=False),
    sa.Column("end", UTCDateTime, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("sales", sa.JSON, nullable=True),
    sa.Column("consent", sa.Boolean, nullable=False),
    sa.Column("payout_encrypted", sa.Text, nullable=True),
    sa.Column("payout_masked", sa.String(60), nullable=True),
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("verification", sa.JSON, nullable=False),
    sa.Column("verification_result", sa.String(20), nullable=False),
    sa.Column("paid", sa.Boolean, nullable=True),
    sa.Column("loss", Money, nullable=True),
    sa.Column("suggested_award", Money, nullable=True),
    sa.Column("approved_amount", Money, nullable=True),
    sa.Column("assigned_to", sa.Integer, sa.ForeignKey("staff_users.id"), nullable=True),
    sa.Column("receipt_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("client", sa.String(100), nullable=True),
    sa.Column("source", sa.String(20), nullable=False),  # api | import
    sa.Column("cure_deadline", UTCDateTime, nullable=True),
    sa.Column("appealed", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_claims_queue", "incident_id", "status"),
)

idempotency_keys = sa.Table(
    "idempotency_keys", metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("claim_id", sa.String(40), sa.ForeignKey("claims.id"), nullable=False),
    sa.Column("response", sa.Text, nullable=False),  # encrypted: it holds the receipt token
    sa.Column("created_at", UTCDateTime, nullable=False),
)

evidence = sa.Table(
    "evidence", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("claim_id", sa.String(40), sa.ForeignKey("claims.id"), nullable=False, index=True),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("flags", sa.String(200), nullable=True),  # e.g. PDF_ACTIVE_CONTENT
)

messages = sa.Table(  # a claimant's answers to requests for information, and appeal reasons
    "messages", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("claim_id", sa.String(40), sa.ForeignKey("claims.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),  # answer | appeal
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

decisions = sa.Table(
    "decisions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("claim_id", sa.String(40), sa.ForeignKey("claims.id"), nullable=False, index=True),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("amount", Money, nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("reason_code", sa.String(40), nullable=True),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("cure_deadline", UTCDateTime, nullable=True),
    sa.Column("decided_by", sa.Integer, sa.ForeignKey("staff_users.id"), nullable=False),
    sa.Column("decided_at", UTCDateTime, nullable=False),
)

audit_log = sa.Table(  # append-only: triggers refuse UPDATE and DELETE (see the migration)
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("action", sa.String(60), nullable=False),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("entity_id", sa.String(100), nullable=False),
    sa.Column("before", sa.JSON, nullable=True),
    sa.Column("after", sa.JSON, nullable=True),
    sa.Index("ix_audit_entity", "entity", "entity_id"),
)

# Triage and screening (docs/triage.md): one row per screened claim, the keys that find a new
# claim's neighbours at intake, and reviewers' duplicate decisions.
claim_screening = sa.Table(
    "claim_screening", metadata,
    sa.Column("claim_id", sa.String(40), sa.ForeignKey("claims.id"), primary_key=True),
    sa.Column("label", sa.String(30), nullable=True),  # the text classifier's label
    sa.Column("damage", sa.Boolean, nullable=True),
    sa.Column("predicted_category", sa.String(40), nullable=True),
    sa.Column("probability", sa.Float, nullable=True),  # a model's confidence, not money
    sa.Column("drivers", sa.JSON, nullable=True),  # the words that drove the label
    sa.Column("score", sa.Integer, nullable=False, index=True),
    sa.Column("codes", sa.String(400), nullable=False),  # " CODE CODE " (filters with LIKE)
    sa.Column("recommendation", sa.String(10), nullable=False),
    sa.Column("group_id", sa.String(40), nullable=True, index=True),
    sa.Column("links", sa.JSON, nullable=False),  # {kind: [claim ids]} shared features
    sa.Column("screened_at", UTCDateTime, nullable=False),
)

screening_keys = sa.Table(
    "screening_keys", metadata,
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("claim_id", sa.String(40), sa.ForeignKey("claims.id"), nullable=False),
    sa.PrimaryKeyConstraint("kind", "key", "claim_id"),
)

duplicate_decisions = sa.Table(
    "duplicate_decisions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("claim_a", sa.String(40), sa.ForeignKey("claims.id"), nullable=False, index=True),
    sa.Column("claim_b", sa.String(40), sa.ForeignKey("claims.id"), nullable=False, index=True),
    sa.Column("duplicate", sa.Boolean, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("decided_by", sa.Integer, sa.ForeignKey("staff_users.id"), nullable=False),
    sa.Column("decided_at", UTCDateTime, nullable=False),
)

# The web pages (entrypoints/web; repositories in web_store.py).

web_drafts = sa.Table(
    "web_drafts", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("incident_id", sa.String(100), nullable=False),
    sa.Column("data", sa.Text, nullable=False),  # encrypted JSON of the form's fields
    # For the resume link by email and the draft reminders (migration 0008): the contact
    # (encrypted JSON: email, phone, language) and the resume token (encrypted).
    sa.Column("contact", sa.Text, nullable=True),
    sa.Column("sealed", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

account_contacts = sa.Table(  # what the operator holds to let an account holder look up awards
    "account_contacts", metadata,
    sa.Column("account_id", sa.String(100), primary_key=True),
    sa.Column("phone_last4", sa.String(4), nullable=False),
)

web_runs = sa.Table(
    "web_runs", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),  # running | done | failed
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("summary", sa.JSON, nullable=True),
    sa.Column("ledger_path", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("started_by", sa.String(100), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
)
