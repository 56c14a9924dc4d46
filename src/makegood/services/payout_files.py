"""Payout files out and the bank's reports in.

``write`` is the one place payout accounts are decrypted: by an admin, for one released batch,
into a file written atomically whose SHA-256 is recorded, with an audit entry. ``reconcile``
reads a pain.002, camt.054/053 or CSV return file, matches each line on its end-to-end id and
moves the awards in the ledger: booked → settled; rejected → payable again; returned → money
back in the fund and the award payable again (the reissue rule decides how it goes out next).
Lines that match nothing are stored and reported, never dropped. A report file is read once:
the same file again is a conflict.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa

from makegood.adapters.db.payout_store import Event, Item
from makegood.adapters.db.payout_store import PayoutUnitOfWork as UoW
from makegood.adapters.ledger import atomic_path
from makegood.adapters.payouts import bank_reports, csv_files, nacha, sepa
from makegood.adapters.payouts.details import check_details
from makegood.adapters.payouts.lines import Originator, PaymentLine
from makegood.domain import payouts as ledger
from makegood.domain.errors import Conflict, InputError
from makegood.domain.payout_batches import BatchStatus
from makegood.domain.payouts import Method
from makegood.domain.staff import Permission
from makegood.services.payout_batches import attempt_history
from makegood.services.payouts import Cipher, NoPayoutNotices, PayoutNotices
from makegood.services.staff import StaffUser

SUFFIX = {Method.SEPA: ".xml", Method.NACHA: ".ach", Method.KR_BULK: ".csv",
          Method.BILLING_CREDIT: ".csv", Method.CHECK: ".csv"}


@dataclass(frozen=True, slots=True)
class WrittenFile:
    path: Path
    sha256: str
    size: int
    count: int


def write(*, engine: sa.Engine, cipher: Cipher, batch_id: str, out_dir: Path,
          originator: Originator, actor: StaffUser, now: datetime, memo: str = "장애보상",
          execution_date: date | None = None) -> WrittenFile:
    actor.require(Permission.ADMIN)
    with UoW(engine) as uow:
        store = uow.store
        header = store.batch_or_raise(batch_id, lock=True)
        if header.status not in (BatchStatus.RELEASED, BatchStatus.WRITTEN):
            raise Conflict(f"batch {batch_id} is {header.status.value}; only a released batch is "
                           "written")
        items = store.items(batch_id)
        payees = store.payees(sorted({i.payee_id for i in items}))
        lines = []
        for n, item in enumerate(items, 1):
            award = store.award_or_raise(item.award_id)
            details: dict[str, str] = {}
            holder = item.payee_id
            if header.method is not Method.BILLING_CREDIT:
                payee = payees[item.payee_id]
                stored = json.loads(cipher.decrypt(payee.details_encrypted))
                if header.method.value not in stored:
                    raise InputError(f"payee {item.payee_id} has no {header.method.value} details",
                                     row=n, field="payee")
                # Checked again on the plaintext: a stored value is never trusted blindly.
                details, _ = check_details(header.method, stored[header.method.value])
                holder = payee.holder
            lines.append(PaymentLine(
                end_to_end_id=item.end_to_end_id, award_id=item.award_id, payee_id=item.payee_id,
                holder=holder, amount=item.amount, currency=item.currency, kind=award.kind,
                memo=memo, details=details))
        day = execution_date or now.date()
        if header.method is Method.SEPA:
            data = sepa.write_sepa(lines, batch_id=batch_id, originator=originator,
                                   execution_date=day)
        elif header.method is Method.NACHA:
            data = nacha.write_nacha(lines, batch_number=int(batch_id[2:]), originator=originator,
                                     effective=day, created=now)
        elif header.method is Method.KR_BULK:
            data = csv_files.write_kr_bulk(lines)
        elif header.method is Method.BILLING_CREDIT:
            data = csv_files.write_billing_credits(lines)
        else:
            data = csv_files.write_checks(lines)
        path = out_dir / f"{batch_id}-{header.method.value}{SUFFIX[header.method]}"
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        store.add_file(batch_id=batch_id, fmt=header.method.value, path=str(path), sha256=digest,
                       size=len(data), actor=actor.actor, now=now)
        store.audit(actor=actor.actor, action="payout.decrypt", entity="payout_batch",
                    entity_id=batch_id, after={"payees": len(payees), "purpose": "write file"},
                    now=now)
        store.audit(actor=actor.actor, action="payout.write", entity="payout_batch",
                    entity_id=batch_id, after={"path": str(path), "sha256": digest,
                                               "size": len(data), "count": len(lines)}, now=now)
        if header.status is BatchStatus.RELEASED:
            store.set_batch(batch_id, status=BatchStatus.WRITTEN.value)
        uow.commit()
    return WrittenFile(path, digest, len(data), len(lines))


@dataclass(frozen=True, slots=True)
class Reconciled:
    kind: str  # pain.002, camt.054, camt.053, csv
    counts: dict[str, int]
    unmatched: list[bank_reports.BankLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def reconcile(*, engine: sa.Engine, path: Path, actor: StaffUser, now: datetime,
              notices: PayoutNotices | None = None) -> Reconciled:
    actor.require(Permission.SUPERVISE)
    hook = notices or NoPayoutNotices()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=str(path)) from None
    kind, lines = bank_reports.read_report(data, file=str(path))
    digest = hashlib.sha256(data).hexdigest()
    counts: Counter[str] = Counter()
    unmatched: list[bank_reports.BankLine] = []
    notes: list[str] = []
    with UoW(engine) as uow:
        store = uow.store
        if store.source_seen(digest):
            raise Conflict(f"{path.name} was already reconciled (same SHA-256 {digest[:12]}…)")
        items = store.items_by_e2e([ln.end_to_end_id for ln in lines if ln.end_to_end_id])
        for incident_id in sorted({store.batch_or_raise(b).incident_id
                                   for b in {i.batch_id for i in items.values()}}):
            store.lock_incident(incident_id)
        events: list[Event] = []
        for line in lines:
            item = items.get(line.end_to_end_id or "")
            note = line.note
            if item is None:
                unmatched.append(line)
                counts["unmatched"] += 1
                events.append(_event(line, path, matched=False, note=note or "no such payment",
                                     now=now))
                continue
            differs = _differences(line, item)
            if differs:
                note = "; ".join(differs)
                notes.append(f"{item.end_to_end_id}: {note}")
            batch = store.batch_or_raise(item.batch_id)
            award = store.award_or_raise(item.award_id)
            entries, told, why = _movement(
                line, item, store.positions([item.award_id])[item.award_id],
                method=batch.method, latest=store.attempts(item.award_id))
            note = note or why
            store.post(entries, incident_id=award.incident_id, actor=actor.actor, now=now)
            if told == "sent":
                hook.payout_sent(store, award=award, item=item, now=now)
            elif told == "failed":
                hook.payout_failed(store, award=award, item=item, reason=line.reason or "",
                                   now=now)
            counts[line.kind] += 1
            events.append(_event(line, path, matched=True, note=note, now=now))
        store.add_events(events, sha256=digest)
        store.audit(actor=actor.actor, action="payout.reconcile", entity="bank_report",
                    entity_id=path.name[:100], after={"kind": kind, "sha256": digest,
                                                      **dict(counts)}, now=now)
        uow.commit()
    return Reconciled(kind, dict(counts), unmatched, notes)


def _differences(line: bank_reports.BankLine, item: Item) -> list[str]:
    out = []
    if line.amount is not None and line.amount != item.amount:
        out.append(f"amount {line.amount} differs from the {item.amount} sent")
    if line.currency is not None and line.currency != item.currency:
        out.append(f"currency {line.currency} differs from the {item.currency} sent")
    return out


def _movement(line: bank_reports.BankLine, item: Item, pos: ledger.Position, *, method: Method,
              latest: int) -> tuple[list[ledger.Entry], str | None, str]:
    """What one matched report line does to the award: the ledger entries, whom the notices
    hook tells ("sent", "failed" or nobody) and a note when the line moves nothing."""
    ref, batch_id, reason = item.end_to_end_id, item.batch_id, line.reason or ""
    if item.attempt < latest:
        return [], None, "an earlier attempt"
    if line.kind == "booked" and pos.in_batch:
        return [ledger.settle(pos, method=method, batch_id=batch_id, reference=ref)], "sent", ""
    if line.kind == "rejected" and pos.in_batch:
        return ([ledger.unbatch(pos, batch_id=batch_id, reason=reason, reference=ref)],
                "failed", "")
    if line.kind == "returned":
        entries = []
        if pos.in_batch:  # returned before the booking was reported: it was paid first
            entries.append(ledger.settle(pos, method=method, batch_id=batch_id, reference=ref))
            pos = replace(pos, in_batch=ledger.ZERO, settled=pos.settled + pos.in_batch)
        if not pos.settled:
            return entries, None, "returned, but nothing of it was paid"
        amount = min(line.amount or item.amount, pos.settled)
        entries.append(ledger.return_(pos, amount, reason=reason, batch_id=batch_id,
                                      reference=ref))
        return entries, "failed", ""
    if line.kind in ("booked", "rejected"):
        return [], None, f"{line.kind} again: already applied"
    return [], None, ""


def _event(line: bank_reports.BankLine, path: Path, *, matched: bool, note: str, now: datetime
           ) -> Event:
    return Event(end_to_end_id=line.end_to_end_id, matched=matched, kind=line.kind,
                 amount=line.amount, currency=line.currency, reason=line.reason,
                 source=path.name, line=line.line, note=note, at=now)


def declare_unclaimed(*, engine: sa.Engine, incident_id: str, deadline: datetime,
                      actor: StaffUser, now: datetime, never_paid: bool = False) -> int:
    """After ``deadline``, awards still payable whose payee never gave working details (held by
    the reissue rule, or the fallback failed) become unclaimed; with ``never_paid`` also the
    money awards no payment was ever attempted for (no details ever given). Billing credits are
    never unclaimed: the billing system applies them without the payee."""
    actor.require(Permission.ADMIN)
    if now < deadline:
        raise Conflict(f"the unclaimed deadline {deadline.isoformat()} has not passed")
    count = 0
    with UoW(engine) as uow:
        store = uow.store
        store.lock_incident(incident_id)
        positions = store.incident_positions(incident_id)
        payable = sorted(a for a, pos in positions.items() if pos.payable > 0 and not pos.in_batch)
        history = attempt_history(store, payable)
        entries = []
        methods = {a.id: a.method for a in store.awards(incident_id)}
        for award_id in payable:
            pos = positions[award_id]
            attempts = history.get(award_id, [])
            if any(a.outcome.value == "failed" for a in attempts) or (
                    never_paid and not attempts and methods[award_id].moves_money):
                entries.append(ledger.unclaim(pos, reason=f"unclaimed at {deadline.isoformat()}"))
        count = store.post(entries, incident_id=incident_id, actor=actor.actor, now=now)
        store.audit(actor=actor.actor, action="payout.unclaimed", entity="incident",
                    entity_id=incident_id, after={"awards": count}, now=now)
        uow.commit()
    return count
