"""The payout ledger, payees, batches and bank events in the claims database.

Balances are summed in Python from the stored lines (SQLite keeps money as text, and its SUM
would go through floats); queries select the lines of the awards concerned only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from makegood.adapters.db import payout_tables as pt
from makegood.adapters.db import schema as t
from makegood.domain.errors import Conflict, NotFound
from makegood.domain.payout_batches import BatchHeader, BatchStatus
from makegood.domain.payouts import ZERO, Entry, Ledger, Method, Position

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class AwardRecord:
    id: str
    incident_id: str
    source: str
    claim_id: str | None
    payee_id: str
    policy_id: str | None
    rule_id: str | None
    kind: str
    amount: Decimal
    unit: str
    method: Method
    claimant_kind: str | None


@dataclass(frozen=True, slots=True)
class PayeeRecord:
    id: str
    method: Method
    holder: str
    details_encrypted: str
    masked: str
    name_check: str
    confirmed_at: datetime


@dataclass(frozen=True, slots=True)
class Item:
    end_to_end_id: str
    batch_id: str
    award_id: str
    payee_id: str
    amount: Decimal
    currency: str
    attempt: int


@dataclass(frozen=True, slots=True)
class Event:
    end_to_end_id: str | None
    matched: bool
    kind: str
    amount: Decimal | None
    currency: str | None
    reason: str | None
    source: str
    line: int
    note: str
    at: datetime


def _award(row: Mapping[Any, Any]) -> AwardRecord:
    return AwardRecord(id=row["id"], incident_id=row["incident_id"], source=row["source"],
                       claim_id=row["claim_id"], payee_id=row["payee_id"],
                       policy_id=row["policy_id"], rule_id=row["rule_id"], kind=row["kind"],
                       amount=row["amount"], unit=row["unit"], method=Method(row["method"]),
                       claimant_kind=row["claimant_kind"])


def _payee(row: Mapping[Any, Any]) -> PayeeRecord:
    return PayeeRecord(id=row["id"], method=Method(row["method"]), holder=row["holder"],
                       details_encrypted=row["details_encrypted"], masked=row["masked"],
                       name_check=row["name_check"], confirmed_at=row["confirmed_at"])


def _batch(row: Mapping[Any, Any]) -> BatchHeader:
    return BatchHeader(id=row["id"], incident_id=row["incident_id"], method=Method(row["method"]),
                       currency=row["currency"], status=BatchStatus(row["status"]),
                       total=row["total"], count=row["item_count"],
                       prepared_by=row["prepared_by"], reviewed_by=row["reviewed_by"],
                       released_by=row["released_by"])


class PayoutStore:
    """Repository of everything payouts keeps; one per transaction."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    # --- serialization -------------------------------------------------------------------

    def lock_incident(self, incident_id: str) -> None:
        """Payout steps of one incident run one at a time: the incident's row is locked until
        the transaction ends (PostgreSQL; SQLite's BEGIN IMMEDIATE serializes all writers), so
        two people preparing at once cannot put one award in two batches."""
        found = self.conn.execute(sa.select(t.incidents.c.id).where(
            t.incidents.c.id == incident_id).with_for_update()).first()
        if found is None:
            raise NotFound(f"no incident {incident_id!r}")

    def next_batch_id(self) -> str:
        numbers = [int(b[2:]) for b in self.conn.execute(sa.select(pt.payout_batches.c.id))
                   .scalars() if b.startswith("PB") and b[2:].isdigit()]
        return f"PB{max(numbers, default=0) + 1:05d}"

    # --- awards and the ledger -----------------------------------------------------------

    def award_ids(self, incident_id: str) -> set[str]:
        return set(self.conn.execute(sa.select(pt.payout_awards.c.id).where(
            pt.payout_awards.c.incident_id == incident_id)).scalars())

    def add_awards(self, awards: Sequence[AwardRecord], now: datetime) -> None:
        if awards:
            self.conn.execute(pt.payout_awards.insert(), [
                {"id": a.id, "incident_id": a.incident_id, "source": a.source,
                 "claim_id": a.claim_id, "payee_id": a.payee_id, "policy_id": a.policy_id,
                 "rule_id": a.rule_id, "kind": a.kind, "amount": a.amount, "unit": a.unit,
                 "method": a.method.value, "claimant_kind": a.claimant_kind, "created_at": now}
                for a in awards])

    def awards(self, incident_id: str) -> list[AwardRecord]:
        return [_award(r) for r in self.conn.execute(
            sa.select(pt.payout_awards).where(pt.payout_awards.c.incident_id == incident_id)
            .order_by(pt.payout_awards.c.id)).mappings()]

    def award_or_raise(self, award_id: str) -> AwardRecord:
        row = self.conn.execute(sa.select(pt.payout_awards).where(
            pt.payout_awards.c.id == award_id)).mappings().first()
        if row is None:
            raise NotFound(f"no award {award_id!r}")
        return _award(row)

    def post(self, entries: Iterable[Entry], *, incident_id: str, actor: str, now: datetime
             ) -> int:
        """Store entries (each already balanced); returns how many."""
        batch = list(entries)
        if not batch:
            return 0
        ids = self.conn.execute(
            pt.payout_entries.insert().returning(pt.payout_entries.c.id,
                                                 sort_by_parameter_order=True),
            [_entry_row(e, incident_id, actor, now) for e in batch]).scalars().all()
        self.conn.execute(pt.payout_lines.insert(), [
            {"entry_id": entry_id, "account": line.account.value, "award_id": line.award_id,
             "unit": line.unit, "amount": line.amount}
            for entry_id, entry in zip(ids, batch, strict=True) for line in entry.lines])
        return len(batch)

    def positions(self, award_ids: Sequence[str]) -> dict[str, Position]:
        sums: dict[tuple[str, str], dict[Ledger, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        lines = pt.payout_lines.c
        for start in range(0, len(award_ids), _CHUNK):
            part = list(award_ids[start:start + _CHUNK])
            for row in self.conn.execute(sa.select(lines.award_id, lines.unit, lines.account,
                                                   lines.amount).where(lines.award_id.in_(part))):
                sums[(row.award_id, row.unit)][Ledger(row.account)] += row.amount
        return {aid: Position.of(aid, unit, s) for (aid, unit), s in sums.items()}

    def incident_positions(self, incident_id: str) -> dict[str, Position]:
        sums: dict[tuple[str, str], dict[Ledger, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        lines = pt.payout_lines.c
        query = (sa.select(lines.award_id, lines.unit, lines.account, lines.amount)
                 .join(pt.payout_entries, pt.payout_entries.c.id == lines.entry_id)
                 .where(pt.payout_entries.c.incident_id == incident_id,
                        lines.award_id.is_not(None)))
        for row in self.conn.execute(query):
            sums[(row.award_id, row.unit)][Ledger(row.account)] += row.amount
        return {aid: Position.of(aid, unit, s) for (aid, unit), s in sums.items()}

    def balance(self, incident_id: str, account: Ledger, unit: str) -> Decimal:
        lines = pt.payout_lines.c
        rows = self.conn.execute(
            sa.select(lines.amount).join(pt.payout_entries,
                                         pt.payout_entries.c.id == lines.entry_id)
            .where(pt.payout_entries.c.incident_id == incident_id, lines.account == account.value,
                   lines.unit == unit)).scalars()
        return sum(rows, ZERO)

    def entries(self, incident_id: str) -> list[Entry]:
        e, lines = pt.payout_entries.c, pt.payout_lines.c
        rows = self.conn.execute(
            sa.select(e.id, e.kind, e.memo, e.batch_id, e.reference, lines.account,
                      lines.award_id, lines.unit, lines.amount)
            .join(pt.payout_lines, lines.entry_id == e.id)
            .where(e.incident_id == incident_id).order_by(e.id, lines.id)).all()
        from makegood.domain.payouts import Line

        grouped: dict[int, tuple[Any, list[Line]]] = {}
        for r in rows:
            grouped.setdefault(r.id, (r, []))[1].append(
                Line(Ledger(r.account), r.amount, r.unit, r.award_id))
        return [Entry(head.kind, tuple(ls), memo=head.memo, batch_id=head.batch_id,
                      reference=head.reference) for head, ls in grouped.values()]

    def entry_kinds(self, award_id: str) -> list[tuple[str, str, datetime]]:
        """(kind, memo, at) of the entries that moved an award, oldest first."""
        e, lines = pt.payout_entries.c, pt.payout_lines.c
        return [(r.kind, r.memo, r.at) for r in self.conn.execute(
            sa.select(e.kind, e.memo, e.at).join(pt.payout_lines, lines.entry_id == e.id)
            .where(lines.award_id == award_id, lines.amount < 0).order_by(e.id))]

    # --- payees --------------------------------------------------------------------------

    def payee(self, payee_id: str) -> PayeeRecord | None:
        row = self.conn.execute(sa.select(pt.payout_payees).where(
            pt.payout_payees.c.id == payee_id)).mappings().first()
        return None if row is None else _payee(row)

    def payees(self, payee_ids: Sequence[str]) -> dict[str, PayeeRecord]:
        out: dict[str, PayeeRecord] = {}
        for start in range(0, len(payee_ids), _CHUNK):
            part = list(payee_ids[start:start + _CHUNK])
            for row in self.conn.execute(sa.select(pt.payout_payees).where(
                    pt.payout_payees.c.id.in_(part))).mappings():
                out[row["id"]] = _payee(row)
        return out

    def in_flight(self, payee_id: str) -> str | None:
        """The released batch carrying a payment to ``payee_id`` that the bank has not reported
        on yet (its award still in the batch), if any."""
        i, b = pt.payout_items.c, pt.payout_batches.c
        rows = self.conn.execute(
            sa.select(i.award_id, i.batch_id, i.attempt)
            .join(pt.payout_batches, b.id == i.batch_id)
            .where(i.payee_id == payee_id, b.status.in_(("released", "written")))).all()
        if not rows:
            return None
        positions = self.positions([r.award_id for r in rows])
        latest = {a: its[-1].attempt for a, its in
                  self.items_of_awards([r.award_id for r in rows]).items()}
        for r in rows:
            if positions[r.award_id].in_batch and latest[r.award_id] == r.attempt:
                return str(r.batch_id)
        return None

    def put_payee(self, payee: PayeeRecord, *, actor: str) -> None:
        values = {"method": payee.method.value, "holder": payee.holder,
                  "details_encrypted": payee.details_encrypted, "masked": payee.masked,
                  "name_check": payee.name_check, "confirmed_at": payee.confirmed_at,
                  "updated_by": actor}
        updated = self.conn.execute(pt.payout_payees.update()
                                    .where(pt.payout_payees.c.id == payee.id).values(**values))
        if updated.rowcount == 0:
            self.conn.execute(pt.payout_payees.insert().values(id=payee.id, **values))

    # --- batches -------------------------------------------------------------------------

    def add_batch(self, header: BatchHeader, items: Sequence[Item], now: datetime) -> None:
        try:
            with self.conn.begin_nested():
                self._insert_batch(header, now)
        except sa.exc.IntegrityError:
            raise Conflict(f"another batch took the id {header.id} at the same time; run "
                           "prepare again") from None
        if items:
            self.conn.execute(pt.payout_items.insert(), [
                {"end_to_end_id": i.end_to_end_id, "batch_id": i.batch_id, "award_id": i.award_id,
                 "payee_id": i.payee_id, "amount": i.amount, "currency": i.currency,
                 "attempt": i.attempt} for i in items])

    def _insert_batch(self, header: BatchHeader, now: datetime) -> None:
        self.conn.execute(pt.payout_batches.insert().values(
            id=header.id, incident_id=header.incident_id, method=header.method.value,
            currency=header.currency, status=header.status.value, total=header.total,
            item_count=header.count, prepared_by=header.prepared_by, prepared_at=now))

    def batch_or_raise(self, batch_id: str, *, lock: bool = False) -> BatchHeader:
        query = sa.select(pt.payout_batches).where(pt.payout_batches.c.id == batch_id)
        row = self.conn.execute(query.with_for_update() if lock else query).mappings().first()
        if row is None:
            raise NotFound(f"no payout batch {batch_id!r}")
        return _batch(row)

    def batches(self, incident_id: str | None = None) -> list[BatchHeader]:
        query = sa.select(pt.payout_batches).order_by(pt.payout_batches.c.prepared_at,
                                                      pt.payout_batches.c.id)
        if incident_id:
            query = query.where(pt.payout_batches.c.incident_id == incident_id)
        return [_batch(r) for r in self.conn.execute(query).mappings()]

    def set_batch(self, batch_id: str, **values: Any) -> None:
        self.conn.execute(pt.payout_batches.update().where(pt.payout_batches.c.id == batch_id)
                          .values(**values))

    def items(self, batch_id: str) -> list[Item]:
        return [Item(**dict(r)) for r in self.conn.execute(
            sa.select(pt.payout_items).where(pt.payout_items.c.batch_id == batch_id)
            .order_by(pt.payout_items.c.end_to_end_id)).mappings()]

    def items_by_e2e(self, ids: Sequence[str]) -> dict[str, Item]:
        out: dict[str, Item] = {}
        for start in range(0, len(ids), _CHUNK):
            for r in self.conn.execute(sa.select(pt.payout_items).where(
                    pt.payout_items.c.end_to_end_id.in_(list(ids[start:start + _CHUNK])))
                    ).mappings():
                out[r["end_to_end_id"]] = Item(**dict(r))
        return out

    def items_of_awards(self, award_ids: Sequence[str]) -> dict[str, list[Item]]:
        """Every batch item of each award, first attempt first."""
        out: dict[str, list[Item]] = defaultdict(list)
        c = pt.payout_items.c
        for start in range(0, len(award_ids), _CHUNK):
            for r in self.conn.execute(sa.select(pt.payout_items).where(
                    c.award_id.in_(list(award_ids[start:start + _CHUNK])))
                    .order_by(c.award_id, c.attempt)).mappings():
                out[r["award_id"]].append(Item(**dict(r)))
        return dict(out)

    def attempts(self, award_id: str) -> int:
        return int(self.conn.execute(sa.select(sa.func.count()).select_from(pt.payout_items)
                                     .where(pt.payout_items.c.award_id == award_id)).scalar_one())

    def add_file(self, *, batch_id: str, fmt: str, path: str, sha256: str, size: int, actor: str,
                 now: datetime) -> None:
        self.conn.execute(pt.payout_files.insert().values(
            batch_id=batch_id, format=fmt, path=path, sha256=sha256, size=size, written_by=actor,
            written_at=now))

    def files(self, batch_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(
            sa.select(pt.payout_files).where(pt.payout_files.c.batch_id == batch_id)
            .order_by(pt.payout_files.c.id)).mappings()]

    # --- bank events ---------------------------------------------------------------------

    def source_seen(self, sha256: str) -> bool:
        return self.conn.execute(sa.select(pt.payout_events.c.id).where(
            pt.payout_events.c.source_sha256 == sha256).limit(1)).first() is not None

    def add_events(self, events: Sequence[Event], *, sha256: str) -> None:
        if events:
            self.conn.execute(pt.payout_events.insert(), [
                {"end_to_end_id": e.end_to_end_id, "matched": e.matched, "kind": e.kind,
                 "amount": e.amount, "currency": e.currency, "reason": e.reason,
                 "source": e.source, "source_sha256": sha256, "line": e.line, "note": e.note,
                 "at": e.at} for e in events])

    def events(self, end_to_end_ids: Sequence[str] | None = None, *, unmatched: bool = False
               ) -> list[Event]:
        c = pt.payout_events.c
        query = sa.select(pt.payout_events).order_by(c.id)
        if unmatched:
            query = query.where(c.matched.is_(False))
        if end_to_end_ids is None:
            queries = [query]
        else:
            ids = list(end_to_end_ids)
            queries = [query.where(c.end_to_end_id.in_(ids[start:start + _CHUNK]))
                       for start in range(0, len(ids), _CHUNK)]
        return [Event(end_to_end_id=r["end_to_end_id"], matched=r["matched"], kind=r["kind"],
                      amount=r["amount"], currency=r["currency"], reason=r["reason"],
                      source=r["source"], line=r["line"], note=r["note"], at=r["at"])
                for q in queries for r in self.conn.execute(q).mappings()]

    # --- other features' tables, read where they exist -----------------------------------
    # Screening (triage: ``claim_screening``, one row per claim with a recommendation clear /
    # review / reject and its deduction codes) and notices (the outbox: ``notices`` with the
    # incident and a delivery status). Until those land the tables are absent and these are empty.

    def _table(self, name: str, needs: Sequence[str]) -> sa.Table | None:
        if not sa.inspect(self.conn).has_table(name):
            return None
        table = sa.Table(name, sa.MetaData(), autoload_with=self.conn)
        return table if all(c in table.c for c in needs) else None

    def screening(self, claim_ids: Sequence[str]) -> dict[str, str]:
        """claim id -> "recommendation: codes" for the claims screening did not clear."""
        table = self._table("claim_screening", ("claim_id", "recommendation", "codes"))
        out: dict[str, str] = {}
        if table is None:
            return out
        for start in range(0, len(claim_ids), _CHUNK):
            for r in self.conn.execute(sa.select(table.c.claim_id, table.c.recommendation,
                                                 table.c.codes).where(
                    table.c.claim_id.in_(list(claim_ids[start:start + _CHUNK])),
                    table.c.recommendation != "clear")):
                out[r.claim_id] = f"{r.recommendation}: {r.codes}" if r.codes else r.recommendation
        return out

    def screening_outcomes(self, incident_id: str) -> dict[str, int]:
        table = self._table("claim_screening", ("claim_id", "recommendation"))
        if table is None:
            return {}
        rows = self.conn.execute(
            sa.select(table.c.recommendation, sa.func.count())
            .join(t.claims, t.claims.c.id == table.c.claim_id)
            .where(t.claims.c.incident_id == incident_id).group_by(table.c.recommendation))
        return {str(r[0]): int(r[1]) for r in rows}

    def notice_counts(self, incident_id: str) -> dict[str, int] | None:
        """Notices of the incident by delivery status; ``None`` when there is no outbox."""
        table = self._table("notices", ("incident_id", "status"))
        if table is None:
            return None
        rows = self.conn.execute(sa.select(table.c.status, sa.func.count())
                                 .where(table.c.incident_id == incident_id)
                                 .group_by(table.c.status))
        return {str(r[0]): int(r[1]) for r in rows}

    # --- the audit log (the claims service's own table) ----------------------------------

    def audit(self, *, actor: str, action: str, entity: str, entity_id: str,
              after: Mapping[str, Any] | None, now: datetime) -> None:
        self.conn.execute(t.audit_log.insert().values(
            at=now, actor=actor, action=action, entity=entity, entity_id=entity_id, before=None,
            after=None if after is None else {k: _plain(v) for k, v in after.items()}))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _entry_row(e: Entry, incident_id: str, actor: str, now: datetime) -> dict[str, Any]:
    return {"incident_id": incident_id, "kind": e.kind, "memo": e.memo, "batch_id": e.batch_id,
            "reference": e.reference, "actor": actor, "at": now}


class PayoutUnitOfWork:
    """One transaction with the payout repository; leaving without ``commit`` rolls back."""

    store: PayoutStore

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def __enter__(self) -> PayoutUnitOfWork:
        self.conn = self.engine.connect()
        self._tx = self.conn.begin()
        self.store = PayoutStore(self.conn)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._tx.is_active:
                self._tx.rollback()
        finally:
            self.conn.close()

    def commit(self) -> None:
        self._tx.commit()
