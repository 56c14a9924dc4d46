"""The notices of single events, written by the caller inside the transaction of the state
change that causes them (the transactional outbox): a claim received, information requested, a
decision, a payout sent or failed.

Usage, inside a unit of work, before ``uow.commit()``::

    uow.outbox.add(payout_notice(payout_id=..., incident_id=..., contact=..., sent=True,
                                 amount=Decimal(30000), currency="KRW"), now=now)

The notice's key names the event, so writing it twice (a retried request) adds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from makegood.domain.incident import Incident
from makegood.domain.notices import Contact, NewNotice, NoticeKind, idempotency_key
from makegood.domain.records import Claim


def incident_facts(incident: Incident) -> dict[str, Any]:
    """The incident's part of every notice: title, zone, official (or overall) window."""
    window = incident.official_window or incident.span
    return {"incident_id": incident.id, "title": incident.title, "timezone": incident.timezone,
            "window": [window.start.isoformat(), window.end.isoformat()] if window else None}


def guess_language(name: str) -> str:
    """``ko`` when a name has Hangul in it, else ``en`` (claims carry no language field)."""
    return "ko" if any("\uac00" <= ch <= "\ud7a3" or "\u1100" <= ch <= "\u11ff" for ch in name) \
        else "en"


def claim_notice(kind: NoticeKind, claim: Claim, *, event: str,
                 incident: Incident | None = None, extra: Mapping[str, Any] | None = None
                 ) -> NewNotice:
    """The notice of one claim event (received, information requested, decision, reminder),
    addressed to the claim's email and phone. ``event`` tells repeated events apart (the
    decision's stage, the cure deadline)."""
    facts: dict[str, Any] = {"incident_id": claim.incident_id, "claim_id": claim.id,
                             "service": claim.service, "status": claim.status.value}
    if incident is not None:
        facts.update(incident_facts(incident))
    facts.update({k: (str(v) if isinstance(v, Decimal) else
                      v.isoformat() if isinstance(v, datetime) else v)
                  for k, v in (extra or {}).items()})
    contact = Contact(account_id=claim.account_id, email=claim.email or None,
                      phone=claim.phone or None, language=guess_language(claim.name))
    return NewNotice(key=idempotency_key(account_id=claim.account_id,
                                         incident_id=claim.incident_id, kind=kind,
                                         event=f"{claim.id}:{event}"),
                     incident_id=claim.incident_id, account_id=claim.account_id, kind=kind,
                     payload=facts, contact=contact)


def payout_notice(*, payout_id: str, incident_id: str, contact: Contact, sent: bool,
                  amount: Decimal, currency: str, destination: str = "",
                  reason: str = "", incident: Incident | None = None,
                  attempt: str = "1") -> NewNotice:
    """The notice of a payout sent or failed, for the payouts service to write in the same
    transaction as the payout's state change: ``uow.outbox.add(payout_notice(...), now=now)``.
    ``destination`` is already masked; ``attempt`` tells a reissue apart from the first try."""
    kind = NoticeKind.PAYOUT_SENT if sent else NoticeKind.PAYOUT_FAILED
    facts: dict[str, Any] = {"incident_id": incident_id, "payout_id": payout_id,
                             "amount": str(amount), "currency": currency,
                             "destination": destination, "reason": reason}
    if incident is not None:
        facts.update(incident_facts(incident))
    return NewNotice(key=idempotency_key(account_id=contact.account_id, incident_id=incident_id,
                                         kind=kind, event=f"{payout_id}:{attempt}"),
                     incident_id=incident_id, account_id=contact.account_id, kind=kind,
                     payload=facts, contact=contact)


def decision_notice(claim: Claim, *, stage: str, action: str, reason_code: str | None,
                    note: str, now: datetime) -> NewNotice | None:
    """The notice of a reviewer's decision on ``claim`` (as it stands after the decision):
    approved or denied, or information requested with its deadline. A first approval waiting
    for a second one, or a claim sent back for review, tells the claimant nothing yet."""
    status = claim.status.value
    event = f"{stage}:{action}:{now.isoformat()}"
    if status == "info_requested":
        return claim_notice(NoticeKind.INFORMATION_REQUESTED, claim, event=event,
                            extra={"note": note, "deadline": claim.cure_deadline})
    if status not in ("approved", "denied"):
        return None
    extra: dict[str, Any] = {"outcome": status, "reason_code": reason_code}
    if status == "approved":
        extra.update(amount=claim.approved_amount, currency=claim.currency)
    return claim_notice(NoticeKind.DECISION, claim, event=event, extra=extra)
