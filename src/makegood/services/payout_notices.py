"""Payout notices through the outbox: the ``PayoutNotices`` hook of the payouts service.

``payout_files.reconcile(..., notices=OutboxPayoutNotices())`` writes a ``payout_sent`` or
``payout_failed`` notice in the same transaction as the payout's state change. The recipient
is the claimant of the award's claim (its e-mail and phone); an award from the ledger without a
claim gets a notice only when ``contact_of`` names its contact points (for example from the
contacts table of the award campaign).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from makegood.adapters.db.notices import Outbox
from makegood.adapters.db.payout_store import AwardRecord, Item, PayoutStore
from makegood.adapters.db.schema import claims
from makegood.domain.notices import Contact
from makegood.services.notice_events import guess_language, payout_notice

ContactOf = Callable[[PayoutStore, AwardRecord], Contact | None]


def claimant_contact(store: PayoutStore, award: AwardRecord) -> Contact | None:
    """The e-mail and phone of the claim an award pays, if it pays a claim."""
    if award.claim_id is None:
        return None
    row = store.conn.execute(sa.select(claims.c.account_id, claims.c.email, claims.c.phone,
                                       claims.c.name).where(claims.c.id == award.claim_id)
                             ).first()
    if row is None:
        return None
    return Contact(account_id=row.account_id, email=row.email or None, phone=row.phone or None,
                   language=guess_language(row.name))


class OutboxPayoutNotices:
    """Implements ``services.payouts.PayoutNotices`` on the notices outbox."""

    def __init__(self, contact_of: ContactOf = claimant_contact) -> None:
        self.contact_of = contact_of

    def _write(self, store: PayoutStore, *, award: AwardRecord, item: Item, sent: bool,
               reason: str, now: datetime) -> None:
        contact = self.contact_of(store, award)
        if contact is None:
            return
        Outbox(store.conn).add(payout_notice(
            payout_id=item.end_to_end_id, incident_id=award.incident_id, contact=contact,
            sent=sent, amount=item.amount, currency=item.currency, reason=reason,
            attempt=str(item.attempt)), now=now)

    def payout_sent(self, store: PayoutStore, *, award: AwardRecord, item: Item,
                    now: datetime) -> None:
        self._write(store, award=award, item=item, sent=True, reason="", now=now)

    def payout_failed(self, store: PayoutStore, *, award: AwardRecord, item: Item, reason: str,
                      now: datetime) -> None:
        self._write(store, award=award, item=item, sent=False, reason=reason, now=now)
