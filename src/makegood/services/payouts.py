"""Payout use cases: awards into the payout ledger, payees, the fund, and batches up to release.

Each use case takes keyword-only arguments, checks the acting staff member's permission, works
in one :class:`PayoutUnitOfWork` and commits once; every step writes the claims service's audit
log. Writing the bank files and reading the bank's reports back are in ``payout_files.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa

from makegood.adapters.db import payout_tables as pt
from makegood.adapters.db import schema as t
from makegood.adapters.db.payout_store import AwardRecord, Item, PayeeRecord, PayoutStore
from makegood.adapters.db.payout_store import PayoutUnitOfWork as UoW
from makegood.adapters.payouts.details import NameCheck, check_details
from makegood.domain import payouts as ledger
from makegood.domain.claims import Permission
from makegood.domain.errors import Conflict, InputError, NotFound
from makegood.domain.payout_batches import (
    Attempt,
    AttemptOutcome,
    BatchHeader,
    BatchStatus,
    check_cancel,
    check_release,
    check_review,
    next_method,
)
from makegood.domain.payouts import Ledger, Method
from makegood.services.staff import StaffUser

DEFAULT_METHOD = {"EUR": Method.SEPA, "USD": Method.NACHA, "KRW": Method.KR_BULK}
BILLING_KINDS = frozenset({"credit", "extension", "item"})
MONEY_KINDS = frozenset({"cash", "refund"})


class Cipher(Protocol):
    def encrypt(self, text: str) -> str: ...
    def decrypt(self, token: str) -> str: ...


class PayoutNotices(Protocol):
    """HOOK for the notices outbox (issue: notices): called inside the payout transaction, so
    an outbox writing through ``store.conn`` commits or rolls back with the payout itself."""

    def payout_sent(self, store: PayoutStore, *, award: AwardRecord, item: Item,
                    now: datetime) -> None: ...

    def payout_failed(self, store: PayoutStore, *, award: AwardRecord, item: Item, reason: str,
                      now: datetime) -> None: ...


class NoPayoutNotices:
    """Until the notices outbox lands, nothing is sent; the report counts notices as 0."""

    def payout_sent(self, store: PayoutStore, *, award: AwardRecord, item: Item,
                    now: datetime) -> None:
        return None

    def payout_failed(self, store: PayoutStore, *, award: AwardRecord, item: Item, reason: str,
                      now: datetime) -> None:
        return None


# ---------------------------------------------------------------------------------------------
# Awards


@dataclass(frozen=True, slots=True)
class LedgerAward:
    """One row of the compensation ledger (adapters/ledger.py columns)."""

    account_id: str
    subscription_id: str
    segment: str
    policy_id: str
    rule_id: str
    kind: str
    amount: Decimal
    unit: str


def load_awards(*, engine: sa.Engine, incident_id: str, ledger_rows: Iterable[LedgerAward],
                actor: StaffUser, now: datetime) -> dict[str, int]:
    """Approved claims and the compensation ledger's cash and credit awards become liabilities.

    Idempotent: an award already in the payout ledger is not added again."""
    actor.require(Permission.ADMIN)
    with UoW(engine) as uow:
        if uow.conn.execute(sa.select(t.incidents.c.id).where(t.incidents.c.id == incident_id)
                            ).first() is None:
            raise NotFound(f"no incident {incident_id!r}")
        known = uow.store.award_ids(incident_id)
        new: list[AwardRecord] = []
        claims = uow.conn.execute(
            sa.select(t.claims.c.id, t.claims.c.account_id, t.claims.c.approved_amount,
                      t.claims.c.currency, t.claims.c.claimant_kind)
            .where(t.claims.c.incident_id == incident_id, t.claims.c.status == "approved")
            .order_by(t.claims.c.id)).all()
        for c in claims:
            award_id = f"claim:{c.id}"
            if award_id in known or not c.approved_amount:
                continue
            new.append(AwardRecord(
                id=award_id, incident_id=incident_id, source="claim", claim_id=c.id,
                payee_id=c.account_id, policy_id=None, rule_id=None, kind="cash",
                amount=c.approved_amount, unit=c.currency,
                method=DEFAULT_METHOD.get(c.currency, Method.CHECK), claimant_kind=c.claimant_kind))
        for r in ledger_rows:
            if r.kind not in MONEY_KINDS | BILLING_KINDS or r.amount <= 0:
                continue  # "review" rows are decided as claims
            award_id = f"ledger:{r.account_id}:{r.subscription_id}:{r.policy_id}:{r.rule_id}"
            if award_id in known:
                continue
            method = (Method.BILLING_CREDIT if r.kind in BILLING_KINDS
                      else DEFAULT_METHOD.get(r.unit, Method.CHECK))
            new.append(AwardRecord(
                id=award_id, incident_id=incident_id, source="ledger", claim_id=None,
                payee_id=r.account_id, policy_id=r.policy_id, rule_id=r.rule_id, kind=r.kind,
                amount=r.amount, unit=r.unit, method=method, claimant_kind=r.segment))
            known.add(award_id)
        uow.store.add_awards(new, now)
        uow.store.post((ledger.award(a.id, a.amount, a.unit, memo=a.source) for a in new),
                       incident_id=incident_id, actor=actor.actor, now=now)
        counts = {"claims": sum(a.source == "claim" for a in new),
                  "ledger": sum(a.source == "ledger" for a in new)}
        uow.store.audit(actor=actor.actor, action="payout.awards", entity="incident",
                        entity_id=incident_id, after=counts, now=now)
        uow.commit()
    return counts


def fund(*, engine: sa.Engine, incident_id: str, amount: Decimal, currency: str, reserve: bool,
         actor: StaffUser, now: datetime, memo: str = "") -> Decimal:
    """A top-up into the fund, or (``reserve``) an amount set aside / released (negative)."""
    actor.require(Permission.ADMIN)
    with UoW(engine) as uow:
        if reserve:
            entry = ledger.reserve(amount, currency, memo=memo,
                                   fund=uow.store.balance(incident_id, Ledger.FUND, currency))
        else:
            entry = ledger.top_up(amount, currency, memo=memo)
        uow.store.post([entry], incident_id=incident_id, actor=actor.actor, now=now)
        uow.store.audit(actor=actor.actor, action=f"payout.{entry.kind}", entity="incident",
                        entity_id=incident_id, after={"amount": amount, "currency": currency},
                        now=now)
        balance = uow.store.balance(incident_id, Ledger.FUND, currency)
        uow.commit()
    return balance


# ---------------------------------------------------------------------------------------------
# Payees


def set_payee(*, engine: sa.Engine, cipher: Cipher, name_check: NameCheck, payee_id: str,
              method: Method, holder: str, details: Mapping[str, str], actor: StaffUser,
              now: datetime, preferred: bool = True) -> PayeeRecord:
    """Record (or confirm new) payment details; checked, name-checked, then encrypted."""
    actor.require(Permission.ADMIN)
    clean, masked = check_details(method, details)
    if not holder.strip():
        raise InputError("is empty", field="holder")
    result = name_check.check(method, clean, holder)
    with UoW(engine) as uow:
        old = uow.store.payee(payee_id)
        stored: dict[str, dict[str, str]] = (json.loads(cipher.decrypt(old.details_encrypted))
                                             if old else {})
        stored[method.value] = clean
        keep = old is not None and not preferred
        record = PayeeRecord(
            id=payee_id, method=old.method if keep and old else method, holder=holder.strip(),
            details_encrypted=cipher.encrypt(json.dumps(stored, sort_keys=True)),
            masked=old.masked if keep and old else masked,
            name_check=old.name_check if keep and old else result, confirmed_at=now)
        uow.store.put_payee(record, actor=actor.actor)
        uow.store.audit(actor=actor.actor, action="payee.set", entity="payee", entity_id=payee_id,
                        after={"method": method.value, "masked": masked, "name_check": result},
                        now=now)
        uow.commit()
    return record


# ---------------------------------------------------------------------------------------------
# Batches


@dataclass(frozen=True, slots=True)
class Prepared:
    batch: BatchHeader | None
    skipped: dict[str, int]  # why awards were left out, and how many


def attempts_of(store: PayoutStore, award_id: str) -> list[Attempt]:
    items = _items_of_award(store, award_id)
    events = {e.end_to_end_id: e for e in store.events([i.end_to_end_id for i in items])
              if e.kind in ("rejected", "returned", "booked")}
    failed = {e.end_to_end_id: e for e in store.events([i.end_to_end_id for i in items])
              if e.kind in ("rejected", "returned")}
    out = []
    for item in items:
        batch = store.batch_or_raise(item.batch_id)
        if item.end_to_end_id in failed:
            out.append(Attempt(batch.method, AttemptOutcome.FAILED, failed[item.end_to_end_id].at))
        elif item.end_to_end_id in events:
            out.append(Attempt(batch.method, AttemptOutcome.PAID, events[item.end_to_end_id].at))
    return out


def _items_of_award(store: PayoutStore, award_id: str) -> list[Item]:
    rows = store.conn.execute(sa.select(pt.payout_items).where(
        pt.payout_items.c.award_id == award_id).order_by(pt.payout_items.c.attempt)).mappings()
    return [Item(**dict(r)) for r in rows]


def prepare(*, engine: sa.Engine, incident_id: str, method: Method, currency: str,
            actor: StaffUser, now: datetime, policy_id: str | None = None,
            kind: str | None = None) -> Prepared:
    """Select what is payable by ``method`` in ``currency`` into a new batch."""
    actor.require(Permission.SUPERVISE)
    skipped: dict[str, int] = {}
    with UoW(engine) as uow:
        store = uow.store
        awards = [a for a in store.awards(incident_id) if a.unit == currency
                  and (policy_id is None or a.policy_id == policy_id)
                  and (kind is None or a.kind == kind)]
        positions = store.positions([a.id for a in awards])
        payees = store.payees(sorted({a.payee_id for a in awards}))
        chosen: list[tuple[AwardRecord, ledger.Position]] = []
        for a in awards:
            pos = positions.get(a.id)
            if pos is None or pos.payable <= 0 or pos.in_batch:
                continue
            payee = payees.get(a.payee_id)
            preferred = a.method if a.method is Method.BILLING_CREDIT or payee is None \
                else payee.method
            step = next_method(preferred=preferred, attempts=attempts_of(store, a.id),
                               details_confirmed_at=payee.confirmed_at if payee else None)
            if step.method is not method:
                if step.method is None:
                    skipped[step.reason] = skipped.get(step.reason, 0) + 1
                continue
            if method is not Method.BILLING_CREDIT and payee is None:
                skipped["no payment details"] = skipped.get("no payment details", 0) + 1
                continue
            chosen.append((a, pos))
        if not chosen:
            return Prepared(None, skipped)
        number = len(store.batches()) + 1
        batch_id = f"PB{number:05d}"
        items = [Item(end_to_end_id=f"{batch_id}-{n:06d}", batch_id=batch_id, award_id=a.id,
                      payee_id=a.payee_id, amount=pos.payable, currency=currency,
                      attempt=store.attempts(a.id) + 1) for n, (a, pos) in enumerate(chosen, 1)]
        header = BatchHeader(id=batch_id, incident_id=incident_id, method=method,
                             currency=currency, status=BatchStatus.PREPARED,
                             total=sum((i.amount for i in items), ledger.ZERO), count=len(items),
                             prepared_by=actor.username)
        store.add_batch(header, items, now)
        store.post((ledger.batch(pos, batch_id=batch_id) for _, pos in chosen),
                   incident_id=incident_id, actor=actor.actor, now=now)
        store.audit(actor=actor.actor, action="payout.prepare", entity="payout_batch",
                    entity_id=batch_id, after={"method": method.value, "currency": currency,
                                               "total": header.total, "count": header.count,
                                               "skipped": skipped}, now=now)
        uow.commit()
    return Prepared(header, skipped)


@dataclass(frozen=True, slots=True)
class Review:
    batch: BatchHeader
    largest: list[Item]
    flagged: list[tuple[Item, str]]  # screening flags, where the screening tables exist
    name_checks: dict[str, int]


def review(*, engine: sa.Engine, batch_id: str, actor: StaffUser, now: datetime,
           approve: bool = True, largest: int = 10) -> Review:
    """What a supervisor looks at; with ``approve`` the batch is marked reviewed."""
    actor.require(Permission.SUPERVISE)
    with UoW(engine) as uow:
        store = uow.store
        header = store.batch_or_raise(batch_id, lock=True)
        items = store.items(batch_id)
        top = sorted(items, key=lambda i: (-i.amount, i.end_to_end_id))[:largest]
        flagged = screening_flags(store, items)
        payees = store.payees(sorted({i.payee_id for i in items}))
        checks: dict[str, int] = {}
        for i in items:
            state = payees[i.payee_id].name_check if i.payee_id in payees else "billing"
            checks[state] = checks.get(state, 0) + 1
        if approve:
            check_review(header, reviewer=actor.username)
            store.set_batch(batch_id, status=BatchStatus.REVIEWED.value,
                            reviewed_by=actor.username, reviewed_at=now)
            store.audit(actor=actor.actor, action="payout.review", entity="payout_batch",
                        entity_id=batch_id, after={"total": header.total, "count": header.count,
                                                   "flagged": len(flagged)}, now=now)
            header = store.batch_or_raise(batch_id)
            uow.commit()
    return Review(header, top, flagged, checks)


def screening_flags(store: PayoutStore, items: list[Item]) -> list[tuple[Item, str]]:
    """Items whose claim carries a screening flag, where the screening table exists (triage)."""
    inspector = sa.inspect(store.conn)
    table = next((n for n in ("screening_flags", "screening_results", "claim_flags")
                  if inspector.has_table(n)), None)
    if table is None:
        return []
    flags = sa.Table(table, sa.MetaData(), autoload_with=store.conn)
    if "claim_id" not in flags.c:
        return []
    code = next((c for c in ("code", "reason_code", "reason", "flag") if c in flags.c), None)
    claim_of = {i.award_id.removeprefix("claim:"): i for i in items
                if i.award_id.startswith("claim:")}
    if not claim_of:
        return []
    rows = store.conn.execute(sa.select(flags).where(flags.c.claim_id.in_(list(claim_of))))
    return [(claim_of[r.claim_id], str(getattr(r, code)) if code else "flagged") for r in rows]


def release(*, engine: sa.Engine, batch_id: str, actor: StaffUser, now: datetime,
            four_eyes_above: Decimal | None) -> BatchHeader:
    """The second person releases the batch; after this nothing in it can change."""
    actor.require(Permission.SUPERVISE)
    with UoW(engine) as uow:
        store = uow.store
        header = store.batch_or_raise(batch_id, lock=True)
        check_release(header, releaser=actor.username, four_eyes_above=four_eyes_above)
        items = store.items(batch_id)
        if header.method is not Method.BILLING_CREDIT:
            payees = store.payees(sorted({i.payee_id for i in items}))
            for i in items:
                payee = payees.get(i.payee_id)
                if payee is None:
                    raise Conflict(f"{i.end_to_end_id}: payee {i.payee_id} has no payment details")
                if payee.name_check == "mismatch":
                    raise Conflict(f"{i.end_to_end_id}: the account holder's name does not match "
                                   f"payee {i.payee_id}; confirm the details and prepare again")
            if header.method.moves_money:
                committed = sum((_unsettled(store, b.id) for b in store.batches(header.incident_id)
                                 if b.status in (BatchStatus.RELEASED, BatchStatus.WRITTEN)
                                 and b.currency == header.currency and b.method.moves_money),
                                ledger.ZERO)
                ledger.check_fund_covers(
                    fund=store.balance(header.incident_id, Ledger.FUND, header.currency),
                    committed=committed, total=header.total, currency=header.currency)
        store.set_batch(batch_id, status=BatchStatus.RELEASED.value, released_by=actor.username,
                        released_at=now)
        store.audit(actor=actor.actor, action="payout.release", entity="payout_batch",
                    entity_id=batch_id, after={"total": header.total, "count": header.count,
                                               "reviewed_by": header.reviewed_by}, now=now)
        header = store.batch_or_raise(batch_id)
        uow.commit()
    return header


def _unsettled(store: PayoutStore, batch_id: str) -> Decimal:
    """What a released batch still owes the bank: its items that are their award's latest
    attempt and not yet booked, rejected or returned."""
    items = store.items(batch_id)
    positions = store.positions([i.award_id for i in items])
    return sum((positions[i.award_id].in_batch for i in items
                if i.award_id in positions and store.attempts(i.award_id) == i.attempt),
               ledger.ZERO)


def cancel(*, engine: sa.Engine, batch_id: str, actor: StaffUser, now: datetime) -> BatchHeader:
    actor.require(Permission.SUPERVISE)
    with UoW(engine) as uow:
        store = uow.store
        header = store.batch_or_raise(batch_id, lock=True)
        check_cancel(header)
        items = store.items(batch_id)
        positions = store.positions([i.award_id for i in items])
        store.post((ledger.unbatch(positions[i.award_id], batch_id=batch_id, reason="cancelled")
                    for i in items), incident_id=header.incident_id, actor=actor.actor, now=now)
        store.set_batch(batch_id, status=BatchStatus.CANCELLED.value)
        store.audit(actor=actor.actor, action="payout.cancel", entity="payout_batch",
                    entity_id=batch_id, after={"count": header.count}, now=now)
        header = store.batch_or_raise(batch_id)
        uow.commit()
    return header


def read_ledger_awards(path: Path) -> list[LedgerAward]:
    """The compensation ledger's rows (Parquet or CSV, file or directory), as awards."""
    from makegood.adapters.ledger import read_ledger

    return [LedgerAward(account_id=r["account_id"], subscription_id=r["subscription_id"],
                        segment=r["segment"], policy_id=r["policy_id"], rule_id=r["rule_id"],
                        kind=r["kind"], amount=Decimal(str(r["amount"])), unit=r["unit"])
            for r in read_ledger(path).to_pylist()]


def import_payees(*, engine: sa.Engine, cipher: Cipher, name_check: NameCheck, path: Path,
                  actor: StaffUser, now: datetime) -> int:
    """Payees from a CSV (docs/payouts.md); a bad row names its line and field, and nothing is
    stored unless every row is good."""
    import csv

    actor.require(Permission.ADMIN)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from None
    checked = []
    for n, row in enumerate(rows, 2):
        try:
            method = Method((row.get("method") or "").strip())
        except ValueError:
            raise InputError(f"{row.get('method')!r} is not one of "
                             f"{', '.join(m.value for m in Method)}", file=str(path), line=n,
                             field="method") from None
        details = {k: (row.get(k) or "").strip() for k in ("bank_code", "account_number", "iban",
                                                           "bic", "routing_number",
                                                           "account_type", "address")}
        try:
            check_details(method, details)
            if not (row.get("payee_id") or "").strip() or not (row.get("holder") or "").strip():
                raise InputError("is empty", field="payee_id" if not row.get("payee_id")
                                 else "holder")
        except InputError as exc:
            raise exc.located(file=str(path), line=n) from None
        checked.append((row["payee_id"].strip(), method, row["holder"].strip(), details))
    for payee_id, method, holder, details in checked:
        set_payee(engine=engine, cipher=cipher, name_check=name_check, payee_id=payee_id,
                  method=method, holder=holder, details=details, actor=actor, now=now)
    return len(checked)
