"""Repositories of the web pages' tables (in :mod:`schema`): saved claim drafts, the second
factor of "check my compensation", and compensation runs started from the console.

A draft holds a half-filled claim form, encrypted (it holds names, phone numbers and a payout
account), under the hash of its resume token. For the resume link by email and the draft
reminders it also keeps, encrypted, the contact to write to and the resume token itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from makegood.adapters.db.schema import account_contacts, web_drafts, web_runs


class Drafts:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def put(self, *, token_hash: str, incident_id: str, data: str, now: datetime,
            expires_at: datetime, contact: str | None = None, sealed: str | None = None
            ) -> None:
        """Write a draft; ``contact`` and ``sealed`` (both encrypted) replace the stored ones
        when given and are kept when not."""
        extra = {k: v for k, v in (("contact", contact), ("sealed", sealed)) if v is not None}
        updated = self.conn.execute(web_drafts.update()
                                    .where(web_drafts.c.token_hash == token_hash)
                                    .values(data=data, updated_at=now, expires_at=expires_at,
                                            **extra))
        if updated.rowcount == 0:
            self.conn.execute(web_drafts.insert().values(
                token_hash=token_hash, incident_id=incident_id, data=data, created_at=now,
                updated_at=now, expires_at=expires_at, **extra))

    def reachable(self, incident_id: str, now: datetime) -> list[dict[str, Any]]:
        """The drafts of an incident, not expired, with a contact and a stored resume token."""
        c = web_drafts.c
        return [dict(r) for r in self.conn.execute(
            sa.select(c.token_hash, c.incident_id, c.data, c.contact, c.sealed, c.expires_at)
            .where(c.incident_id == incident_id, c.expires_at > now, c.contact.is_not(None),
                   c.sealed.is_not(None)).order_by(c.token_hash)).mappings()]

    def get(self, token_hash: str, now: datetime) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(web_drafts).where(
            web_drafts.c.token_hash == token_hash, web_drafts.c.expires_at > now)
        ).mappings().first()
        return None if row is None else dict(row)

    def delete(self, token_hash: str) -> None:
        self.conn.execute(web_drafts.delete().where(web_drafts.c.token_hash == token_hash))


class Contacts:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def put_many(self, rows: list[tuple[str, str]]) -> int:
        for start in range(0, len(rows), 500):
            part = rows[start:start + 500]
            self.conn.execute(account_contacts.delete().where(
                account_contacts.c.account_id.in_([a for a, _ in part])))
            self.conn.execute(account_contacts.insert(),
                              [{"account_id": a, "phone_last4": p} for a, p in part])
        return len(rows)

    def phone_last4(self, account_id: str) -> str | None:
        value = self.conn.execute(sa.select(account_contacts.c.phone_last4).where(
            account_contacts.c.account_id == account_id)).scalar()
        return None if value is None else str(value)


class Runs:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, *, run_id: str, params: dict[str, Any], started_by: str, now: datetime) -> None:
        self.conn.execute(web_runs.insert().values(
            id=run_id, status="running", params=params, started_by=started_by, created_at=now))

    def finish(self, run_id: str, *, status: str, summary: dict[str, Any] | None,
               ledger_path: str | None, error: str | None, now: datetime) -> None:
        self.conn.execute(web_runs.update().where(web_runs.c.id == run_id).values(
            status=status, summary=summary, ledger_path=ledger_path, error=error,
            finished_at=now))

    def get(self, run_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(web_runs).where(web_runs.c.id == run_id)
                                ).mappings().first()
        return None if row is None else dict(row)

    def list_(self, limit: int = 50) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(
            sa.select(web_runs).order_by(web_runs.c.created_at.desc()).limit(limit)).mappings()]
