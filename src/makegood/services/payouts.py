"""Payout use cases: awards into the payout ledger, the fund, payees; and the ports they use.

Each use case takes keyword-only arguments, checks the acting staff member's permission, works
in one :class:`PayoutUnitOfWork` and commits once; every step writes the claims service's audit
log. Batches are in ``payout_batches.py``; writing the bank files and reading the bank's reports
back in ``payout_files.py``; the final accounting in ``payout_report.py``.
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

from makegood.adapters.db import schema as t
from makegood.adapters.db.payout_store import AwardRecord, Item, PayeeRecord, PayoutStore
from makegood.adapters.db.payout_store import PayoutUnitOfWork as UoW
from makegood.adapters.payouts.details import NameCheck, check_details
from makegood.domain import payouts as ledger
from makegood.domain.errors import Conflict, InputError
from makegood.domain.incident import nfc
from makegood.domain.payouts import Ledger, Method
from makegood.domain.staff import Permission
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
        uow.store.lock_incident(incident_id)
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
        uow.store.lock_incident(incident_id)
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
    with UoW(engine) as uow:
        record = _put_payee(uow.store, cipher=cipher, name_check=name_check, payee_id=payee_id,
                            method=method, holder=holder, details=details, actor=actor, now=now,
                            preferred=preferred)
        uow.commit()
    return record


def _put_payee(store: PayoutStore, *, cipher: Cipher, name_check: NameCheck, payee_id: str,
               method: Method, holder: str, details: Mapping[str, str], actor: StaffUser,
               now: datetime, preferred: bool = True) -> PayeeRecord:
    clean, masked = check_details(method, details)
    name = nfc(holder)
    if not name:
        raise InputError("is empty", field="holder")
    if not nfc(payee_id):
        raise InputError("is empty", field="payee_id")
    on_its_way = store.in_flight(payee_id)
    if on_its_way is not None:
        raise Conflict(f"a payment to {payee_id} is on its way in batch {on_its_way}; its details "
                       "can change once the bank has reported on it")
    result = name_check.check(method, clean, name)
    old = store.payee(payee_id)
    stored: dict[str, dict[str, str]] = (json.loads(cipher.decrypt(old.details_encrypted))
                                         if old else {})
    stored[method.value] = clean
    keep = old if old is not None and not preferred else None
    record = PayeeRecord(
        id=payee_id, method=keep.method if keep else method, holder=name,
        details_encrypted=cipher.encrypt(json.dumps(stored, sort_keys=True)),
        masked=keep.masked if keep else masked,
        name_check=keep.name_check if keep else result, confirmed_at=now)
    store.put_payee(record, actor=actor.actor)
    store.audit(actor=actor.actor, action="payee.set", entity="payee", entity_id=payee_id,
                after={"method": method.value, "masked": masked, "name_check": result}, now=now)
    return record


def read_ledger_awards(path: Path) -> list[LedgerAward]:
    """The compensation ledger's rows (Parquet or CSV, file or directory), as awards."""
    from makegood.adapters.ledger import read_ledger

    return [LedgerAward(account_id=r["account_id"], subscription_id=r["subscription_id"],
                        segment=r["segment"], policy_id=r["policy_id"], rule_id=r["rule_id"],
                        kind=r["kind"], amount=Decimal(str(r["amount"])), unit=r["unit"])
            for r in read_ledger(path).to_pylist()]


def import_payees(*, engine: sa.Engine, cipher: Cipher, name_check: NameCheck, path: Path,
                  actor: StaffUser, now: datetime) -> int:
    """Payees from a CSV (docs/payouts.md) in one transaction: a bad row names its line and
    field, and nothing is stored unless every row is good."""
    import csv

    actor.require(Permission.ADMIN)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from None
    with UoW(engine) as uow:
        for n, row in enumerate(rows, 2):
            try:
                method = Method((row.get("method") or "").strip())
            except ValueError:
                raise InputError(f"{row.get('method')!r} is not one of "
                                 f"{', '.join(m.value for m in Method)}", file=str(path), line=n,
                                 field="method") from None
            details = {k: (row.get(k) or "").strip() for k in (
                "bank_code", "account_number", "iban", "bic", "routing_number", "account_type",
                "address")}
            try:
                _put_payee(uow.store, cipher=cipher, name_check=name_check,
                           payee_id=(row.get("payee_id") or "").strip(), method=method,
                           holder=row.get("holder") or "", details=details, actor=actor, now=now)
            except InputError as exc:
                raise exc.located(file=str(path), line=n) from None
        uow.commit()
    return len(rows)


def parse_claim_account(text: str) -> tuple[Method, dict[str, str]] | None:
    """A claimant's payout account as the claims form takes it (one text field): an IBAN, or a
    Korean account written with its bank code first (``088-110-123-456789``). ``None`` when it
    is neither: the payee must give details (``payees set``)."""
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    from makegood.domain.bank_details import KOREAN_BANKS

    compact = "".join(text.split())
    try:
        return Method.SEPA, {"iban": IBAN(compact).compact}
    except SchwiftyException:
        pass
    head, _, rest = text.strip().replace(" ", "-").partition("-")
    if head in KOREAN_BANKS and rest:
        try:
            check_details(Method.KR_BULK, {"bank_code": head, "account_number": rest})
        except InputError:
            return None
        return Method.KR_BULK, {"bank_code": head, "account_number": rest}
    return None


def payees_from_claims(*, engine: sa.Engine, cipher: Cipher, name_check: NameCheck,
                       incident_id: str, actor: StaffUser, now: datetime) -> dict[str, int]:
    """Payees from the payout accounts that approved claims gave (encrypted in the claims
    table): decrypted here by an admin, with an audit entry, re-encrypted as payee details.
    A payee already on record is left as it is."""
    actor.require(Permission.ADMIN)
    counts = {"stored": 0, "kept": 0, "needs_details": 0}
    with UoW(engine) as uow:
        rows = uow.conn.execute(
            sa.select(t.claims.c.id, t.claims.c.account_id, t.claims.c.name,
                      t.claims.c.payout_encrypted)
            .where(t.claims.c.incident_id == incident_id, t.claims.c.status == "approved")
            .order_by(t.claims.c.id)).all()
        for r in rows:
            if uow.store.payee(r.account_id) is not None:
                counts["kept"] += 1
                continue
            parsed = (parse_claim_account(cipher.decrypt(r.payout_encrypted))
                      if r.payout_encrypted else None)
            if parsed is None:
                counts["needs_details"] += 1
                continue
            method, details = parsed
            _put_payee(uow.store, cipher=cipher, name_check=name_check, payee_id=r.account_id,
                       method=method, holder=r.name, details=details, actor=actor, now=now)
            counts["stored"] += 1
        uow.store.audit(actor=actor.actor, action="payout.decrypt", entity="incident",
                        entity_id=incident_id, after={"purpose": "payees from claims",
                                                      "claims": len(rows), **counts}, now=now)
        uow.commit()
    return counts
