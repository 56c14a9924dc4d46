"""Payouts: the double-entry payout ledger, payees, batches, items, files and bank events.

The ledger (entries, lines), the batch items and the bank events are append-only, and a
released batch keeps its totals: triggers refuse the rest on both backends.

Revision ID: 0003_payouts
Revises: 0001 (a branch of its own; `upgrade` applies every head)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from makegood.adapters.db.schema import Money, UTCDateTime

revision = "0003_payouts"
down_revision = "0002_notices"
branch_labels = None
depends_on = None

APPEND_ONLY = ("payout_entries", "payout_lines", "payout_events")
INDEXES = (("payout_awards", "incident_id"), ("payout_awards", "payee_id"),
           ("payout_entries", "incident_id"), ("payout_lines", "entry_id"),
           ("payout_lines", "award_id"), ("payout_items", "batch_id"),
           ("payout_items", "award_id"), ("payout_events", "end_to_end_id"))
RELEASED = "('released', 'written')"
FROZEN = ("total", "item_count", "method", "currency", "incident_id", "prepared_by",
          "reviewed_by", "released_by", "released_at")


def upgrade() -> None:
    op.create_table(
        "payout_awards",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("incident_id", sa.String(100), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("claim_id", sa.String(40), sa.ForeignKey("claims.id"), nullable=True),
        sa.Column("payee_id", sa.String(100), nullable=False),
        sa.Column("policy_id", sa.String(100), nullable=True),
        sa.Column("rule_id", sa.String(100), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("amount", Money, nullable=False),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("claimant_kind", sa.String(20), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "payout_entries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("memo", sa.Text, nullable=False),
        sa.Column("batch_id", sa.String(40), nullable=True),
        sa.Column("reference", sa.String(100), nullable=True),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "payout_lines",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entry_id", sa.Integer, sa.ForeignKey("payout_entries.id"), nullable=False),
        sa.Column("account", sa.String(20), nullable=False),
        sa.Column("award_id", sa.String(200), nullable=True),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("amount", Money, nullable=False),
    )
    op.create_table(
        "payout_payees",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("details_encrypted", sa.Text, nullable=False),
        sa.Column("masked", sa.String(80), nullable=False),
        sa.Column("name_check", sa.String(20), nullable=False),
        sa.Column("confirmed_at", UTCDateTime, nullable=False),
        sa.Column("updated_by", sa.String(120), nullable=False),
    )
    op.create_table(
        "payout_batches",
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
    op.create_table(
        "payout_items",
        sa.Column("end_to_end_id", sa.String(35), primary_key=True),
        sa.Column("batch_id", sa.String(40), sa.ForeignKey("payout_batches.id"), nullable=False),
        sa.Column("award_id", sa.String(200), sa.ForeignKey("payout_awards.id"), nullable=False),
        sa.Column("payee_id", sa.String(100), nullable=False),
        sa.Column("amount", Money, nullable=False),
        sa.Column("currency", sa.String(20), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
    )
    op.create_table(
        "payout_files",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.String(40), sa.ForeignKey("payout_batches.id"), nullable=False),
        sa.Column("format", sa.String(30), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("written_by", sa.String(120), nullable=False),
        sa.Column("written_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "payout_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("end_to_end_id", sa.String(100), nullable=True),
        sa.Column("matched", sa.Boolean, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("amount", Money, nullable=True),
        sa.Column("currency", sa.String(20), nullable=True),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("source_sha256", "line", name="uq_payout_events_source_line"),
    )
    for table, column in INDEXES:
        op.create_index(f"ix_{table}_{column}", table, [column])
    if op.get_bind().dialect.name == "postgresql":
        _postgres_guards()
    else:
        _sqlite_guards()


def _sqlite_guards() -> None:
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
    for verb in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER payout_items_no_{verb.lower()} BEFORE {verb} ON payout_items "
                   "BEGIN SELECT RAISE(ABORT, 'payout items never change once added'); END")
    op.execute("CREATE TRIGGER payout_items_open_batch BEFORE INSERT ON payout_items "
               "WHEN (SELECT status FROM payout_batches WHERE id = NEW.batch_id) <> 'prepared' "
               "BEGIN SELECT RAISE(ABORT, 'items are added only to a prepared batch'); END")
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FROZEN)
    op.execute("CREATE TRIGGER payout_batches_released BEFORE UPDATE ON payout_batches "
               f"WHEN OLD.status IN {RELEASED} AND ({changed} OR NEW.status NOT IN {RELEASED}) "
               "BEGIN SELECT RAISE(ABORT, 'a released payout batch is immutable'); END")
    op.execute("CREATE TRIGGER payout_batches_no_delete BEFORE DELETE ON payout_batches "
               "BEGIN SELECT RAISE(ABORT, 'payout batches are never deleted'); END")


def _postgres_guards() -> None:
    op.execute("""
CREATE FUNCTION makegood_payouts_refuse() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% refuses %: %', TG_TABLE_NAME, TG_OP, TG_ARGV[0];
END;
$$ LANGUAGE plpgsql""")
    for table in APPEND_ONLY:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION makegood_payouts_refuse('append-only')")
    # Row triggers do not fire on TRUNCATE (see 0006_audit_truncate).
    for table in (*APPEND_ONLY, "payout_items", "payout_batches"):
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION makegood_payouts_refuse('append-only')")
    op.execute("CREATE TRIGGER payout_items_frozen BEFORE UPDATE OR DELETE ON payout_items "
               "FOR EACH ROW EXECUTE FUNCTION makegood_payouts_refuse('items never change')")
    op.execute("CREATE TRIGGER payout_batches_no_delete BEFORE DELETE ON payout_batches "
               "FOR EACH ROW EXECUTE FUNCTION makegood_payouts_refuse('never deleted')")
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FROZEN)
    op.execute(f"""
CREATE FUNCTION makegood_payout_batch_guard() RETURNS trigger AS $$
BEGIN
    IF OLD.status IN {RELEASED} AND ({changed} OR NEW.status NOT IN {RELEASED}) THEN
        RAISE EXCEPTION 'a released payout batch is immutable';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql""")
    op.execute("CREATE TRIGGER payout_batches_released BEFORE UPDATE ON payout_batches "
               "FOR EACH ROW EXECUTE FUNCTION makegood_payout_batch_guard()")
    op.execute("""
CREATE FUNCTION makegood_payout_item_guard() RETURNS trigger AS $$
BEGIN
    IF (SELECT status FROM payout_batches WHERE id = NEW.batch_id) <> 'prepared' THEN
        RAISE EXCEPTION 'items are added only to a prepared batch';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql""")
    op.execute("CREATE TRIGGER payout_items_open_batch BEFORE INSERT ON payout_items "
               "FOR EACH ROW EXECUTE FUNCTION makegood_payout_item_guard()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, trigger in (("payout_batches", "payout_batches_released"),
                               ("payout_items", "payout_items_open_batch")):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    for table in ("payout_events", "payout_files", "payout_items", "payout_batches",
                  "payout_payees", "payout_lines", "payout_entries", "payout_awards"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        for fn in ("makegood_payouts_refuse", "makegood_payout_batch_guard",
                   "makegood_payout_item_guard"):
            op.execute(f"DROP FUNCTION IF EXISTS {fn}() CASCADE")
