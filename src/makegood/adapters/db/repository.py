"""Repositories over the tables and the unit of work that owns one transaction.

Services receive a :class:`UnitOfWork`, use its repositories, and call ``commit``; leaving the
``with`` block without a commit rolls everything back, so a failure at any point leaves no
half-written claim.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from makegood.adapters.db import schema as t
from makegood.adapters.db.notices import Outbox
from makegood.domain.accounts import Account, BillingPeriod, Channel, Subscription
from makegood.domain.errors import NotFound
from makegood.domain.incident import Incident
from makegood.domain.incident_file import load_incident
from makegood.domain.policy import Policy, load_policy

Row = dict[str, Any]

_CLAIM_INSERT = t.claims.insert()
_AUDIT_INSERT = t.audit_log.insert()
_IDEMPOTENCY_INSERT = t.idempotency_keys.insert()
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


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    incident: Incident
    policy_id: str | None
    policy: Policy | None
    ledger_path: str | None
    intake_opens: datetime | None
    intake_closes: datetime | None


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

    def list_(self) -> list[Row]:
        return [dict(r) for r in self.conn.execute(
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


@dataclass(frozen=True, slots=True)
class ClaimFilter:
    incident_id: str | None = None
    service: str | None = None
    category: str | None = None
    status: str | None = None
    verification: str | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    assigned_to: int | None = None
    unassigned: bool = False


class Claims:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, values: Mapping[str, Any]) -> None:
        # Parameters rather than .values(): one cached statement, no per-call compilation.
        self.conn.execute(_CLAIM_INSERT, dict(values))

    def get(self, claim_id: str) -> Row | None:
        row = self.conn.execute(sa.select(t.claims).where(t.claims.c.id == claim_id)).mappings().first()
        return None if row is None else dict(row)

    def get_or_raise(self, claim_id: str) -> Row:
        row = self.get(claim_id)
        if row is None:
            raise NotFound(f"no claim {claim_id!r}")
        return row

    def get_by_receipt(self, receipt_hash: str) -> Row | None:
        row = self.conn.execute(sa.select(t.claims).where(t.claims.c.receipt_hash == receipt_hash)
                                ).mappings().first()
        return None if row is None else dict(row)

    def lock(self, claim_id: str) -> Row:
        """The claim, locked for update until the transaction ends (PostgreSQL; SQLite locks all)."""
        row = self.conn.execute(sa.select(t.claims).where(t.claims.c.id == claim_id)
                                .with_for_update()).mappings().first()
        if row is None:
            raise NotFound(f"no claim {claim_id!r}")
        return dict(row)

    def update(self, claim_id: str, values: Mapping[str, Any]) -> None:
        self.conn.execute(t.claims.update().where(t.claims.c.id == claim_id).values(**values))

    def _where(self, f: ClaimFilter) -> list[sa.ColumnElement[bool]]:
        c = t.claims.c
        clauses: list[sa.ColumnElement[bool]] = []
        if f.incident_id:
            clauses.append(c.incident_id == f.incident_id)
        if f.service:
            clauses.append(c.service == f.service)
        if f.category:
            clauses.append(c.category == f.category)
        if f.status:
            clauses.append(c.status == f.status)
        if f.verification:
            clauses.append(c.verification_result == f.verification)
        # A filter only: on SQLite the text amount is compared as a number; money stays exact.
        amount = sa.cast(c.amount, sa.Numeric(24, 6)) if self.conn.dialect.name == "postgresql" \
            else sa.cast(c.amount, sa.types.REAL)
        if f.amount_min is not None:
            clauses.append(amount >= sa.literal(str(f.amount_min), sa.Numeric(24, 6))
                           if self.conn.dialect.name == "postgresql"
                           else amount >= sa.literal_column(str(float(f.amount_min))))
        if f.amount_max is not None:
            clauses.append(amount <= sa.literal(str(f.amount_max), sa.Numeric(24, 6))
                           if self.conn.dialect.name == "postgresql"
                           else amount <= sa.literal_column(str(float(f.amount_max))))
        if f.assigned_to is not None:
            clauses.append(c.assigned_to == f.assigned_to)
        if f.unassigned:
            clauses.append(c.assigned_to.is_(None))
        return clauses

    def list_(self, f: ClaimFilter, *, limit: int = 50, offset: int = 0) -> tuple[list[Row], int]:
        where = self._where(f)
        count = self.conn.execute(sa.select(sa.func.count()).select_from(t.claims).where(*where)
                                  ).scalar_one()
        rows = self.conn.execute(sa.select(t.claims).where(*where)
                                 .order_by(t.claims.c.created_at, t.claims.c.id)
                                 .limit(limit).offset(offset)).mappings().all()
        return [dict(r) for r in rows], int(count)

    def all_(self, incident_id: str | None = None) -> list[Row]:
        q = sa.select(t.claims).order_by(t.claims.c.created_at, t.claims.c.id)
        if incident_id:
            q = q.where(t.claims.c.incident_id == incident_id)
        return [dict(r) for r in self.conn.execute(q).mappings()]


class Idempotency:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def get(self, key: str) -> Row | None:
        row = self.conn.execute(sa.select(t.idempotency_keys)
                                .where(t.idempotency_keys.c.key == key)).mappings().first()
        return None if row is None else dict(row)

    def add(self, *, key: str, request_hash: str, claim_id: str, response: str, now: datetime
            ) -> None:
        self.conn.execute(_IDEMPOTENCY_INSERT, {"key": key, "request_hash": request_hash,
                                                "claim_id": claim_id, "response": response,
                                                "created_at": now})


class Evidence:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, values: Mapping[str, Any]) -> int:
        result = self.conn.execute(t.evidence.insert().values(**values).returning(t.evidence.c.id))
        return int(result.scalar_one())

    def of_claim(self, claim_id: str) -> list[Row]:
        return [dict(r) for r in self.conn.execute(
            sa.select(t.evidence).where(t.evidence.c.claim_id == claim_id)
            .order_by(t.evidence.c.id)).mappings()]

    def claims_sharing(self, sha256: str) -> int:
        return int(self.conn.execute(
            sa.select(sa.func.count(sa.distinct(t.evidence.c.claim_id)))
            .where(t.evidence.c.sha256 == sha256)).scalar_one())


class Messages:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, *, claim_id: str, kind: str, text: str, now: datetime) -> None:
        self.conn.execute(t.messages.insert().values(claim_id=claim_id, kind=kind, text=text,
                                                     created_at=now))

    def of_claim(self, claim_id: str) -> list[Row]:
        return [dict(r) for r in self.conn.execute(
            sa.select(t.messages).where(t.messages.c.claim_id == claim_id)
            .order_by(t.messages.c.id)).mappings()]


class Decisions:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, values: Mapping[str, Any]) -> None:
        self.conn.execute(t.decisions.insert().values(**values))

    def of_claim(self, claim_id: str) -> list[Row]:
        return [dict(r) for r in self.conn.execute(
            sa.select(t.decisions, t.staff_users.c.username)
            .join(t.staff_users, t.staff_users.c.id == t.decisions.c.decided_by)
            .where(t.decisions.c.claim_id == claim_id).order_by(t.decisions.c.id)).mappings()]


class Staff:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, *, username: str, password_hash: str, role: str, now: datetime) -> int:
        result = self.conn.execute(t.staff_users.insert().values(
            username=username, password_hash=password_hash, role=role, active=True, created_at=now
        ).returning(t.staff_users.c.id))
        return int(result.scalar_one())

    def get_by_name(self, username: str) -> Row | None:
        row = self.conn.execute(sa.select(t.staff_users)
                                .where(t.staff_users.c.username == username)).mappings().first()
        return None if row is None else dict(row)

    def get(self, user_id: int) -> Row | None:
        row = self.conn.execute(sa.select(t.staff_users)
                                .where(t.staff_users.c.id == user_id)).mappings().first()
        return None if row is None else dict(row)

    def set_password(self, user_id: int, password_hash: str) -> None:
        self.conn.execute(t.staff_users.update().where(t.staff_users.c.id == user_id)
                          .values(password_hash=password_hash))

    def list_(self) -> list[Row]:
        return [dict(r) for r in self.conn.execute(
            sa.select(t.staff_users.c.id, t.staff_users.c.username, t.staff_users.c.role,
                      t.staff_users.c.active).order_by(t.staff_users.c.username)).mappings()]

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

    def by_session(self, token_hash: str, now: datetime) -> Row | None:
        row = self.conn.execute(
            sa.select(t.staff_users).join(t.staff_sessions,
                                          t.staff_sessions.c.user_id == t.staff_users.c.id)
            .where(t.staff_sessions.c.token_hash == token_hash,
                   t.staff_sessions.c.expires_at > now, t.staff_users.c.active)).mappings().first()
        return None if row is None else dict(row)


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

    def times(self, *, action: str, entity: str, entity_id: str, since: datetime
              ) -> list[datetime]:
        """When ``action`` was recorded on the entity since ``since`` (e.g. failed sign-ins)."""
        return [r[0] for r in self.conn.execute(
            sa.select(t.audit_log.c.at).where(
                t.audit_log.c.entity == entity, t.audit_log.c.entity_id == entity_id,
                t.audit_log.c.action == action, t.audit_log.c.at >= since))]

    def of(self, entity: str, entity_id: str) -> list[Row]:
        return [dict(r) for r in self.conn.execute(
            sa.select(t.audit_log).where(t.audit_log.c.entity == entity,
                                         t.audit_log.c.entity_id == entity_id)
            .order_by(t.audit_log.c.id)).mappings()]


def jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, datetime):
            out[k] = v.isoformat()
        elif isinstance(v, Decimal):
            out[k] = str(v)
        else:
            out[k] = v
    return out


class UnitOfWork:
    """One transaction and the repositories that work inside it."""

    conn: sa.Connection

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
        self._tx.commit()

    def rollback(self) -> None:
        self._tx.rollback()
