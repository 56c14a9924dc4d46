"""The audit log refuses TRUNCATE too (PostgreSQL): row triggers do not fire on it.

SQLite has no TRUNCATE (``DELETE FROM`` without a condition fires the row trigger already).
"""

from __future__ import annotations

from alembic import op

revision = "0006_audit_truncate"
down_revision = "0005_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION makegood_audit_log_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
