"""The repositories of a claim's own records: the claim, its idempotency record, evidence files,
messages and decisions (the rest, and the unit of work, are in :mod:`.repository`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa
import sqlalchemy.exc

from makegood.adapters.db import rows
from makegood.adapters.db import schema as t
from makegood.adapters.db.screening import queue_order, screening_where
from makegood.domain.errors import Conflict, NotFound
from makegood.domain.records import (
    Claim,
    ClaimFilter,
    Decision,
    EvidenceFile,
    IdempotencyRecord,
    Message,
)

_CLAIM_INSERT = t.claims.insert()
_IDEMPOTENCY_INSERT = t.idempotency_keys.insert()


@contextlib.contextmanager
def conflict(message: str) -> Iterator[None]:
    """A unique or foreign key refused by the database, as the domain's :class:`Conflict`."""
    try:
        yield
    except sqlalchemy.exc.IntegrityError:
        raise Conflict(message) from None


class Claims:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, claim: Claim) -> None:
        # Parameters rather than .values(): one cached statement, no per-call compilation.
        with conflict(f"a claim {claim.id!r} (or its receipt) is already stored"):
            self.conn.execute(_CLAIM_INSERT, rows.claim_values(claim))

    def get(self, claim_id: str) -> Claim | None:
        row = self.conn.execute(sa.select(t.claims).where(t.claims.c.id == claim_id)).mappings().first()
        return None if row is None else rows.claim(row)

    def get_or_raise(self, claim_id: str) -> Claim:
        found = self.get(claim_id)
        if found is None:
            raise NotFound(f"no claim {claim_id!r}")
        return found

    def get_by_receipt(self, receipt_hash: str) -> Claim | None:
        row = self.conn.execute(sa.select(t.claims).where(t.claims.c.receipt_hash == receipt_hash)
                                ).mappings().first()
        return None if row is None else rows.claim(row)

    def lock(self, claim_id: str) -> Claim:
        """The claim, locked for update until the transaction ends (PostgreSQL; SQLite locks all)."""
        row = self.conn.execute(sa.select(t.claims).where(t.claims.c.id == claim_id)
                                .with_for_update()).mappings().first()
        if row is None:
            raise NotFound(f"no claim {claim_id!r}")
        return rows.claim(row)

    def update(self, claim: Claim) -> None:
        """Store every column of ``claim`` but its id (see :func:`rows.claim_values`)."""
        values = rows.claim_values(claim)
        del values["id"]
        with conflict(f"claim {claim.id!r} cannot be stored with these values"):
            self.conn.execute(t.claims.update().where(t.claims.c.id == claim.id).values(**values))

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
        clauses.extend(screening_where(f))
        return clauses

    def list_(self, f: ClaimFilter, *, limit: int = 50, offset: int = 0
              ) -> tuple[list[Claim], int]:
        where = self._where(f)
        count = self.conn.execute(sa.select(sa.func.count()).select_from(t.claims).where(*where)
                                  ).scalar_one()
        found = self.conn.execute(sa.select(t.claims).where(*where).order_by(*queue_order(f))
                                  .limit(limit).offset(offset)).mappings().all()
        return [rows.claim(r) for r in found], int(count)

    def all_(self, incident_id: str | None = None) -> list[Claim]:
        q = sa.select(t.claims).order_by(t.claims.c.created_at, t.claims.c.id)
        if incident_id:
            q = q.where(t.claims.c.incident_id == incident_id)
        return [rows.claim(r) for r in self.conn.execute(q).mappings()]


class Idempotency:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def get(self, key: str) -> IdempotencyRecord | None:
        row = self.conn.execute(sa.select(t.idempotency_keys)
                                .where(t.idempotency_keys.c.key == key)).mappings().first()
        return None if row is None else rows.idempotency(row)

    def add(self, record: IdempotencyRecord) -> None:
        with conflict("this Idempotency-Key is already in use"):
            self.conn.execute(_IDEMPOTENCY_INSERT, {
                "key": record.key, "request_hash": record.request_hash,
                "claim_id": record.claim_id, "response": record.response,
                "created_at": record.created_at})


class Evidence:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, evidence: EvidenceFile) -> int:
        result = self.conn.execute(t.evidence.insert().values(
            claim_id=evidence.claim_id, sha256=evidence.sha256, filename=evidence.filename,
            content_type=evidence.content_type, size=evidence.size,
            created_at=evidence.created_at, flags=evidence.flags).returning(t.evidence.c.id))
        return int(result.scalar_one())

    def of_claim(self, claim_id: str) -> list[EvidenceFile]:
        return [rows.evidence(r) for r in self.conn.execute(
            sa.select(t.evidence).where(t.evidence.c.claim_id == claim_id)
            .order_by(t.evidence.c.id)).mappings()]

    def claims_sharing(self, sha256: str) -> int:
        return int(self.conn.execute(
            sa.select(sa.func.count(sa.distinct(t.evidence.c.claim_id)))
            .where(t.evidence.c.sha256 == sha256)).scalar_one())


class Messages:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, message: Message) -> None:
        self.conn.execute(t.messages.insert().values(
            claim_id=message.claim_id, kind=message.kind, text=message.text,
            created_at=message.created_at))

    def of_claim(self, claim_id: str) -> list[Message]:
        return [rows.message(r) for r in self.conn.execute(
            sa.select(t.messages).where(t.messages.c.claim_id == claim_id)
            .order_by(t.messages.c.id)).mappings()]


class Decisions:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, decision: Decision) -> None:
        self.conn.execute(t.decisions.insert().values(**rows.decision_values(decision)))

    def of_claim(self, claim_id: str) -> list[Decision]:
        return [rows.decision(r) for r in self.conn.execute(
            sa.select(t.decisions, t.staff_users.c.username)
            .join(t.staff_users, t.staff_users.c.id == t.decisions.c.decided_by)
            .where(t.decisions.c.claim_id == claim_id).order_by(t.decisions.c.id)).mappings()]
