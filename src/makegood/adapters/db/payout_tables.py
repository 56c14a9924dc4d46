"""The payout tables (migration 0003_payouts), on the claims database's metadata.

Append-only, refused by triggers on both backends (see the migration): ``payout_entries`` and
``payout_lines`` (the double-entry ledger), ``payout_items`` (a batch's lines, inserted only
while the batch is prepared), ``payout_events`` (what the bank reported). A released batch's
row keeps its totals, method, currency and people; only its status may move on to ``written``.
"""

from __future__ import annotations

import sqlalchemy as sa

from makegood.adapters.db.schema import Money, UTCDateTime, metadata

payout_awards = sa.Table(
    "payout_awards", metadata,
    sa.Column("id", sa.String(200), primary_key=True),  # claim:<id> or ledger:<account>:<sub>:<rule>
    sa.Column("incident_id", sa.String(100), sa.ForeignKey("incidents.id"), nullable=False,
              index=True),
    sa.Column("source", sa.String(10), nullable=False),  # claim | ledger
    sa.Column("claim_id", sa.String(40), sa.ForeignKey("claims.id"), nullable=True),
    sa.Column("payee_id", sa.String(100), nullable=False, index=True),  # the operator account
    sa.Column("policy_id", sa.String(100), nullable=True),
    sa.Column("rule_id", sa.String(100), nullable=True),
    sa.Column("kind", sa.String(20), nullable=False),  # cash, credit, refund, extension, item
    sa.Column("amount", Money, nullable=False),
    sa.Column("unit", sa.String(20), nullable=False),
    sa.Column("method", sa.String(20), nullable=False),  # preferred Method
    sa.Column("claimant_kind", sa.String(20), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

payout_entries = sa.Table(
    "payout_entries", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.String(100), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("memo", sa.Text, nullable=False),
    sa.Column("batch_id", sa.String(40), nullable=True),
    sa.Column("reference", sa.String(100), nullable=True),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)

payout_lines = sa.Table(
    "payout_lines", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entry_id", sa.Integer, sa.ForeignKey("payout_entries.id"), nullable=False,
              index=True),
    sa.Column("account", sa.String(20), nullable=False),
    sa.Column("award_id", sa.String(200), nullable=True, index=True),
    sa.Column("unit", sa.String(20), nullable=False),
    sa.Column("amount", Money, nullable=False),  # debit positive, credit negative
)

payout_payees = sa.Table(
    "payout_payees", metadata,
    sa.Column("id", sa.String(100), primary_key=True),  # the operator account id
    sa.Column("method", sa.String(20), nullable=False),
    sa.Column("holder", sa.Text, nullable=False),
    sa.Column("details_encrypted", sa.Text, nullable=False),  # Fernet, JSON of the bank fields
    sa.Column("masked", sa.String(80), nullable=False),
    sa.Column("name_check", sa.String(20), nullable=False),  # match | mismatch | unavailable
    sa.Column("confirmed_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", sa.String(120), nullable=False),
)

payout_batches = sa.Table(
    "payout_batches", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("incident_id", sa.String(100), sa.ForeignKey("incidents.id"), nullable=False),
    sa.Column("method", sa.String(20), nullable=False),
    sa.Column("currency", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("total", Money, nullable=False),
    sa.Column("item_count", sa.Integer, nullable=False),
    sa.Column("prepared_by", sa.String(120), nullable=False),
    sa.Column("prepared_at", UTCDateTime, nullable=False),
    sa.Column("reviewed_by", sa.String(120), nullable=True),
    sa.Column("reviewed_at", UTCDateTime, nullable=True),
    sa.Column("released_by", sa.String(120), nullable=True),
    sa.Column("released_at", UTCDateTime, nullable=True),
)

payout_items = sa.Table(
    "payout_items", metadata,
    sa.Column("end_to_end_id", sa.String(35), primary_key=True),  # ISO 20022 allows 35 chars
    sa.Column("batch_id", sa.String(40), sa.ForeignKey("payout_batches.id"), nullable=False,
              index=True),
    sa.Column("award_id", sa.String(200), sa.ForeignKey("payout_awards.id"), nullable=False,
              index=True),
    sa.Column("payee_id", sa.String(100), nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.String(20), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
)

payout_files = sa.Table(
    "payout_files", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.String(40), sa.ForeignKey("payout_batches.id"), nullable=False),
    sa.Column("format", sa.String(30), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("written_by", sa.String(120), nullable=False),
    sa.Column("written_at", UTCDateTime, nullable=False),
)

payout_events = sa.Table(  # one row per line of a bank report, matched or not: none is dropped
    "payout_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("end_to_end_id", sa.String(100), nullable=True, index=True),
    sa.Column("matched", sa.Boolean, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # accepted | rejected | booked | returned
    sa.Column("amount", Money, nullable=True),
    sa.Column("currency", sa.String(20), nullable=True),
    sa.Column("reason", sa.String(40), nullable=True),
    sa.Column("source", sa.Text, nullable=False),  # the report file's name
    sa.Column("source_sha256", sa.String(64), nullable=False),
    sa.Column("line", sa.Integer, nullable=False),  # line or transaction number in the report
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("source_sha256", "line", name="uq_payout_events_source_line"),
)
