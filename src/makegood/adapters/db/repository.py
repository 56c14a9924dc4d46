"""Repositories over the tables and the unit of work that owns one transaction.

Services receive a :class:`UnitOfWork` (the port :class:`makegood.services.ports.UnitOfWork`),
use its repositories, and call ``commit``; leaving the ``with`` block without a commit rolls
everything back, so a failure at any point leaves no half-written claim. Repositories take and
return the domain's records (:mod:`makegood.domain.records`; rows are translated in
:mod:`.rows`), and a storage error a caller can cause (a duplicate key) becomes
:class:`~makegood.domain.errors.Conflict` here. A claim's own records (the claim, idempotency,
evidence, messages, decisions) have their repositories in :mod:`.claim_repositories`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from makegood.adapters.db import rows
from makegood.adapters.db import schema as t
from makegood.adapters.db.claim_repositories import (
    Claims,
    Decisions,
    Evidence,
    Idempotency,
    Messages,
    conflict,
)
from makegood.adapters.db.notices import Outbox
from makegood.adapters.db.rows import jsonable
from makegood.adapters.db.screening import ScreeningRepo
from makegood.domain.accounts import Account, BillingPeriod, Channel, Subscription
from makegood.domain.errors import NotFound
from makegood.domain.incident import Incident
from makegood.domain.incident_file import load_incident
from makegood.domain.policy import Policy, load_policy
from makegood.domain.records import (
    AuditEntry,
    ClaimFilter,
    IncidentRecord,
    IncidentSummary,
    StaffAccount,
)

__all__ = ["ClaimFilter", "Claims", "Decisions", "Evidence", "Idempotency", "IncidentRecord",
           "Messages", "UnitOfWork", "jsonable", "stored_incident", "stored_policy"]


_AUDIT_INSERT = t.audit_log.insert()
_INCIDENT_QUERY = (
    sa.select(t.incidents, t.policies.c.document.label("policy_document"))
    .select_from(t.incidents.outerjoin(t.policies, t.policies.c.id == t.incidents.c.policy_id))
    .where(t.incidents.c.id == sa.bindparam("incident_id")))
_SUBSCRIPTIONS_QUERY = (
    sa.select(t.accounts.c.id, t.subscriptions)
    .select_from(t.accounts.outerjoin(t.subscriptions,
                                      t.subscriptions.c.account_id == t.accounts.c.id))
    .where(t.accounts.c.id == sa.bindparam("account_id")))


@functools.lru_cache(maxsize=64)
def _incident(document: str, label: str) -> Incident:
    return load_incident(document, file=label)


@functools.lru_cache(maxsize=64)
def _policy(document: str, label: str) -> Policy:
    return load_policy(document, file=label)


def stored_incident(document: str, incident_id: str) -> Incident:
    """A stored incident document, parsed once per process."""
    return _incident(document, f"incident {incident_id}")


def stored_policy(document: str, policy_id: str) -> Policy:
    """A stored policy document, parsed once per process."""
    return _policy(document, f"policy {policy_id}")


class Incidents:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def put(self, *, incident: Incident, document: str, policy_id: str | None,
            ledger_path: str | None, intake_opens: datetime | None,
            intake_closes: datetime | None, now: datetime) -> None:
        values = {"title": incident.title, "document": document, "policy_id": policy_id,
                  "ledger_path": ledger_path, "intake_opens": intake_opens,
                  "intake_closes": intake_closes}
        updated = self.conn.execute(
            t.incidents.update().where(t.incidents.c.id == incident.id).values(**values))
        if updated.rowcount == 0:
            self.conn.execute(t.incidents.insert().values(id=incident.id, created_at=now, **values))

    def get(self, incident_id: str) -> IncidentRecord | None:
        """The incident with its claims policy, in one query (this is on every submission)."""
        row = self.conn.execute(_INCIDENT_QUERY, {"incident_id": incident_id}).mappings().first()
        if row is None:
            return None
        policy_document = row["policy_document"]
        return IncidentRecord(
            incident=_incident(row["document"], f"incident {incident_id}"),
            policy_id=row["policy_id"],
            policy=None if policy_document is None
            else _policy(policy_document, f"policy {row['policy_id']}"),
            ledger_path=row["ledger_path"],
            intake_opens=row["intake_opens"], intake_closes=row["intake_closes"])

    def get_or_raise(self, incident_id: str) -> IncidentRecord:
        record = self.get(incident_id)
        if record is None:
            raise NotFound(f"no incident {incident_id!r}")
        return record

    def set_intake(self, incident_id: str, *, opens: datetime | None, closes: datetime | None
                   ) -> None:
        self.conn.execute(t.incidents.update().where(t.incidents.c.id == incident_id)
                          .values(intake_opens=opens, intake_closes=closes))

    def list_(self) -> list[IncidentSummary]:
        return [rows.incident_summary(r) for r in self.conn.execute(
            sa.select(t.incidents.c.id, t.incidents.c.title, t.incidents.c.policy_id,
                      t.incidents.c.intake_opens, t.incidents.c.intake_closes)
            .order_by(t.incidents.c.id)).mappings()]


class Policies:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def put(self, *, policy: Policy, document: str, now: datetime) -> None:
        updated = self.conn.execute(t.policies.update().where(t.policies.c.id == policy.id)
                                    .values(version=policy.version, document=document))
        if updated.rowcount == 0:
            self.conn.execute(t.policies.insert().values(
                id=policy.id, version=policy.version, document=document, created_at=now))

    def get(self, policy_id: str) -> Policy | None:
        document = self.conn.execute(sa.select(t.policies.c.document)
                                     .where(t.policies.c.id == policy_id)).scalar()
        return None if document is None else _policy(document, f"policy {policy_id}")


class Accounts:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def put_many(self, accounts: Iterable[Account]) -> int:
        """Insert or replace accounts with their subscriptions; returns how many."""
        batch = list(accounts)
        ids = [a.id for a in batch]
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            self.conn.execute(t.subscriptions.delete().where(t.subscriptions.c.account_id.in_(part)))
            self.conn.execute(t.accounts.delete().where(t.accounts.c.id.in_(part)))
        if batch:
            self.conn.execute(t.accounts.insert(),
                              [{"id": a.id, "segment": a.segment.value} for a in batch])
            subs = [{"id": s.id, "account_id": s.account_id, "service": s.service, "plan": s.plan,
                     "paid": s.paid, "fee": s.fee, "currency": s.currency,
                     "billing_period": s.billing_period.value, "channel": s.channel.value,
                     "start": s.start, "end": s.end} for a in batch for s in a.subscriptions]
            if subs:
                self.conn.execute(t.subscriptions.insert(), subs)
        return len(batch)

    def subscriptions(self, account_id: str) -> list[Subscription] | None:
        """The account's subscriptions, or ``None`` when the account does not exist."""
        rows = self.conn.execute(_SUBSCRIPTIONS_QUERY, {"account_id": account_id}).mappings().all()
        if not rows:
            return None
        return [Subscription(
            id=r["id_1"], account_id=account_id, service=r["service"], plan=r["plan"],
            paid=r["paid"], fee=r["fee"], currency=r["currency"],
            billing_period=BillingPeriod(r["billing_period"]), channel=Channel(r["channel"]),
            start=r["start"], end=r["end"]) for r in rows if r["id_1"] is not None]


class Staff:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, *, username: str, password_hash: str, role: str, now: datetime) -> int:
        with conflict(f"a staff user {username!r} already exists"):
            result = self.conn.execute(t.staff_users.insert().values(
                username=username, password_hash=password_hash, role=role, active=True,
                created_at=now).returning(t.staff_users.c.id))
        return int(result.scalar_one())

    def get_by_name(self, username: str) -> StaffAccount | None:
        row = self.conn.execute(sa.select(t.staff_users)
                                .where(t.staff_users.c.username == username)).mappings().first()
        return None if row is None else rows.staff(row)

    def get(self, user_id: int) -> StaffAccount | None:
        row = self.conn.execute(sa.select(t.staff_users)
                                .where(t.staff_users.c.id == user_id)).mappings().first()
        return None if row is None else rows.staff(row)

    def set_password(self, user_id: int, password_hash: str) -> None:
        self.conn.execute(t.staff_users.update().where(t.staff_users.c.id == user_id)
                          .values(password_hash=password_hash))

    def list_(self) -> list[StaffAccount]:
        return [rows.staff(r) for r in self.conn.execute(
            sa.select(t.staff_users).order_by(t.staff_users.c.username)).mappings()]

    def add_session(self, *, token_hash: str, user_id: int, expires_at: datetime) -> None:
        self.conn.execute(t.staff_sessions.insert().values(
            token_hash=token_hash, user_id=user_id, expires_at=expires_at))

    def end_session(self, token_hash: str) -> bool:
        result = self.conn.execute(t.staff_sessions.delete()
                                   .where(t.staff_sessions.c.token_hash == token_hash))
        return bool(result.rowcount)

    def end_sessions(self, user_id: int) -> int:
        """Revoke every session of a user; how many there were."""
        result = self.conn.execute(t.staff_sessions.delete()
                                   .where(t.staff_sessions.c.user_id == user_id))
        return int(result.rowcount)

    def by_session(self, token_hash: str, now: datetime) -> StaffAccount | None:
        row = self.conn.execute(
            sa.select(t.staff_users).join(t.staff_sessions,
                                          t.staff_sessions.c.user_id == t.staff_users.c.id)
            .where(t.staff_sessions.c.token_hash == token_hash,
                   t.staff_sessions.c.expires_at > now, t.staff_users.c.active)).mappings().first()
        return None if row is None else rows.staff(row)


class Audit:
    """The append-only audit log: who did what, when, with the state before and after."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def record(self, *, actor: str, action: str, entity: str, entity_id: str,
               before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
               now: datetime) -> None:
        self.conn.execute(_AUDIT_INSERT, {
            "at": now, "actor": actor, "action": action, "entity": entity, "entity_id": entity_id,
            "before": None if before is None else jsonable(before),
            "after": None if after is None else jsonable(after)})

    def add(self, entry: AuditEntry) -> None:
        self.record(actor=entry.actor, action=entry.action, entity=entry.entity,
                    entity_id=entry.entity_id, before=entry.before, after=entry.after,
                    now=entry.at)

    def times(self, *, action: str, entity: str, entity_id: str, since: datetime
              ) -> list[datetime]:
        """When ``action`` was recorded on the entity since ``since`` (e.g. failed sign-ins)."""
        return [r[0] for r in self.conn.execute(
            sa.select(t.audit_log.c.at).where(
                t.audit_log.c.entity == entity, t.audit_log.c.entity_id == entity_id,
                t.audit_log.c.action == action, t.audit_log.c.at >= since))]

    def of(self, entity: str, entity_id: str) -> list[AuditEntry]:
        return [rows.audit(r) for r in self.conn.execute(
            sa.select(t.audit_log).where(t.audit_log.c.entity == entity,
                                         t.audit_log.c.entity_id == entity_id)
            .order_by(t.audit_log.c.id)).mappings()]


class UnitOfWork:
    """One transaction and the repositories that work inside it."""

    conn: sa.Connection
    incidents: Incidents
    policies: Policies
    accounts: Accounts
    claims: Claims
    idempotency: Idempotency
    evidence: Evidence
    messages: Messages
    decisions: Decisions
    staff: Staff
    audit: Audit

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> UnitOfWork:
        self.conn = self.engine.connect()
        self._tx = self.conn.begin()
        self.incidents = Incidents(self.conn)
        self.policies = Policies(self.conn)
        self.accounts = Accounts(self.conn)
        self.claims = Claims(self.conn)
        self.idempotency = Idempotency(self.conn)
        self.evidence = Evidence(self.conn)
        self.messages = Messages(self.conn)
        self.decisions = Decisions(self.conn)
        self.staff = Staff(self.conn)
        self.audit = Audit(self.conn)
        self.screening = ScreeningRepo(self.conn)

        self.outbox = Outbox(self.conn)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._tx.is_active:
                self._tx.rollback()
        finally:
            self.conn.close()

    def commit(self) -> None:
        with conflict("the change conflicts with stored data; nothing was saved"):
            self._tx.commit()

    def rollback(self) -> None:
        self._tx.rollback()
