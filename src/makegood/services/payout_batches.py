"""Payout batches: prepare what is payable, review, release by a second person, cancel.

Each use case checks the acting staff member's permission, works in one unit of work, commits
once and writes the audit log. The state machine and the four-eyes rule are in
``domain/payout_batches.py``; the reissue rule decides by which method a failed payment goes out
next (``attempt_history`` reads what the bank reported of every earlier attempt).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from makegood.adapters.db.payout_store import AwardRecord, Item, PayoutStore
from makegood.adapters.db.payout_store import PayoutUnitOfWork as UoW
from makegood.domain import payouts as ledger
from makegood.domain.errors import Conflict
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
from makegood.domain.staff import Permission
from makegood.services.staff import StaffUser


@dataclass(frozen=True, slots=True)
class Prepared:
    batch: BatchHeader | None
    skipped: dict[str, int]  # why awards were left out, and how many


def attempt_history(store: PayoutStore, award_ids: Sequence[str]
                    ) -> dict[str, list[Attempt]]:
    """Each award's payment attempts and how they ended (from the bank's reports), in a few
    queries for any number of awards."""
    items = store.items_of_awards(award_ids)
    e2e = [i.end_to_end_id for its in items.values() for i in its]
    outcome: dict[str, tuple[AttemptOutcome, datetime]] = {}
    for event in store.events(e2e):
        if event.end_to_end_id is None:
            continue
        if event.kind in ("rejected", "returned"):
            outcome[event.end_to_end_id] = (AttemptOutcome.FAILED, event.at)
        elif event.kind == "booked" and event.end_to_end_id not in outcome:
            outcome[event.end_to_end_id] = (AttemptOutcome.PAID, event.at)
    methods = {b.id: b.method for b in store.batches()}
    return {award_id: [Attempt(methods[i.batch_id], *outcome[i.end_to_end_id])
                       for i in its if i.end_to_end_id in outcome]
            for award_id, its in items.items()}


def attempts_of(store: PayoutStore, award_id: str) -> list[Attempt]:
    return attempt_history(store, [award_id]).get(award_id, [])


def prepare(*, engine: sa.Engine, incident_id: str, method: Method, currency: str,
            actor: StaffUser, now: datetime, policy_id: str | None = None,
            kind: str | None = None) -> Prepared:
    """Select what is payable by ``method`` in ``currency`` into a new batch."""
    actor.require(Permission.SUPERVISE)
    skipped: dict[str, int] = {}
    with UoW(engine) as uow:
        store = uow.store
        store.lock_incident(incident_id)
        awards = [a for a in store.awards(incident_id) if a.unit == currency
                  and (policy_id is None or a.policy_id == policy_id)
                  and (kind is None or a.kind == kind)]
        positions = store.positions([a.id for a in awards])
        payees = store.payees(sorted({a.payee_id for a in awards}))
        candidates = [a for a in awards if a.id in positions
                      and positions[a.id].payable > 0 and not positions[a.id].in_batch]
        history = attempt_history(store, [a.id for a in candidates])
        store_items = store.items_of_awards([a.id for a in candidates])
        chosen: list[tuple[AwardRecord, ledger.Position, int]] = []
        for a in candidates:
            pos = positions[a.id]
            payee = payees.get(a.payee_id)
            preferred = a.method if a.method is Method.BILLING_CREDIT or payee is None \
                else payee.method
            step = next_method(preferred=preferred, attempts=history.get(a.id, []),
                               details_confirmed_at=payee.confirmed_at if payee else None)
            if step.method is not method:
                why = step.reason if step.method is None else f"to be paid by {step.method.value}"
                skipped[why] = skipped.get(why, 0) + 1
                continue
            if method is not Method.BILLING_CREDIT and payee is None:
                skipped["no payment details"] = skipped.get("no payment details", 0) + 1
                continue
            chosen.append((a, pos, len(store_items.get(a.id, [])) + 1))
        if not chosen:
            return Prepared(None, skipped)
        batch_id = store.next_batch_id()
        items = [Item(end_to_end_id=f"{batch_id}-{n:06d}", batch_id=batch_id, award_id=a.id,
                      payee_id=a.payee_id, amount=pos.payable, currency=currency,
                      attempt=attempt) for n, (a, pos, attempt) in enumerate(chosen, 1)]
        header = BatchHeader(id=batch_id, incident_id=incident_id, method=method,
                             currency=currency, status=BatchStatus.PREPARED,
                             total=sum((i.amount for i in items), ledger.ZERO), count=len(items),
                             prepared_by=actor.username)
        store.add_batch(header, items, now)
        store.post((ledger.batch(pos, batch_id=batch_id) for _, pos, _ in chosen),
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
    """Items whose claim screening did not clear (where screening has run)."""
    claim_of = {i.award_id.removeprefix("claim:"): i for i in items
                if i.award_id.startswith("claim:")}
    flags = store.screening(sorted(claim_of))
    return [(claim_of[cid], flag) for cid, flag in sorted(flags.items())]


def release(*, engine: sa.Engine, batch_id: str, actor: StaffUser, now: datetime,
            four_eyes_above: Decimal | None) -> BatchHeader:
    """The second person releases the batch; after this nothing in it can change."""
    actor.require(Permission.SUPERVISE)
    with UoW(engine) as uow:
        store = uow.store
        header = store.batch_or_raise(batch_id, lock=True)
        store.lock_incident(header.incident_id)
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
    award_ids = [i.award_id for i in items]
    positions = store.positions(award_ids)
    latest = {aid: its[-1].attempt for aid, its in store.items_of_awards(award_ids).items()}
    return sum((positions[i.award_id].in_batch for i in items
                if i.award_id in positions and latest.get(i.award_id) == i.attempt),
               ledger.ZERO)


def cancel(*, engine: sa.Engine, batch_id: str, actor: StaffUser, now: datetime) -> BatchHeader:
    actor.require(Permission.SUPERVISE)
    with UoW(engine) as uow:
        store = uow.store
        header = store.batch_or_raise(batch_id, lock=True)
        store.lock_incident(header.incident_id)
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
