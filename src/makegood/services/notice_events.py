"""The notices of single events, written by the caller inside the transaction of the state
change that causes them (the transactional outbox): a claim received, information requested, a
decision, a payout sent or failed.

Usage, inside a unit of work, before ``uow.commit()``::

    uow.outbox.add(payout_notice(payout_id=..., incident_id=..., contact=..., sent=True,
                                 amount=Decimal(30000), currency="KRW"), now=now)

The notice's key names the event, so writing it twice (a retried request) adds nothing.

**Sealed links.** A notice that hands the claimant a secret link (the tracking link with the
receipt token, the resume link of a saved claim) keeps the link's path in its ``sealed`` part,
encrypted with the service's key (:func:`seal`); the worker opens it when it renders the notice,
joins it to ``MAKEGOOD_PUBLIC_URL``, and the outbox wipes it once the notice is final.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from makegood.domain.errors import InputError
from makegood.domain.incident import Incident
from makegood.domain.notices import Contact, NewNotice, NoticeKind, idempotency_key, mask
from makegood.domain.records import Claim
from makegood.services.ports import Cipher, UnitOfWork


def track_path(claim_id: str, token: str) -> str:
    """The portal's tracking page of a claim (the receipt token opens it)."""
    return f"/portal/track/{claim_id}/{token}"


def resume_path(token: str) -> str:
    """The portal's page of a saved claim form (the resume token opens it)."""
    return f"/portal/drafts/{token}"


def seal(cipher: Cipher, path: str) -> str:
    """A link's path as a notice stores it: encrypted with the service's key."""
    return cipher.encrypt(path)


def open_link(cipher: Cipher, sealed: str | None, public_url: str | None) -> str | None:
    """The absolute link of a sealed path; ``None`` without a public address, or when the key
    that sealed it is gone (the notice then says what to do instead)."""
    if not sealed or not public_url:
        return None
    try:
        path = cipher.decrypt(sealed)
    except (InputError, ValueError):  # a key dropped by a rotation: no link, not a crash
        return None
    return public_url.rstrip("/") + path


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
                 incident: Incident | None = None, extra: Mapping[str, Any] | None = None,
                 sealed: str | None = None) -> NewNotice:
    """The notice of one claim event (received, information requested, decision, reminder),
    addressed to the claim's email and phone. ``event`` tells repeated events apart (the
    decision's stage, the cure deadline); ``sealed`` is a link for the claimant (:func:`seal`),
    kept only when the claim has an email or phone to send it to."""
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
                     payload=facts, contact=contact,
                     sealed=sealed if contact.email or contact.phone else None)


def receipt_delivery(uow: UnitOfWork, claim_id: str) -> dict[str, Any]:
    """Where the "claim received" notice of a claim goes (masked addresses, empty when the
    claimant gave none) and its delivery status (``None`` when there is no such notice)."""
    claim = uow.claims.get(claim_id)
    if claim is None:
        return {"to": [], "status": None}
    row = uow.outbox.get(idempotency_key(account_id=claim.account_id,
                                         incident_id=claim.incident_id,
                                         kind=NoticeKind.CLAIM_RECEIVED,
                                         event=f"{claim.id}:received"))
    to = [mask(a) for a in (claim.email, claim.phone) if a]
    return {"to": to, "status": None if row is None else row["status"]}


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


# ---------------------------------------------------------------------------------------------
# Saved claim forms (drafts): the resume link and the reminder


def draft_account(token_hash: str) -> str:
    """The account a draft's notices are addressed to: the draft itself (a draft is not tied to
    an account until it is filed), named by the start of its token's hash."""
    return f"draft-{token_hash[:16]}"


def draft_reminder_key(token_hash: str, incident_id: str) -> str:
    """The key of a draft's reminder: one per draft, whatever the campaign's runs."""
    return idempotency_key(account_id=draft_account(token_hash), incident_id=incident_id,
                           kind=NoticeKind.DRAFT_REMINDER, event="reminder")


def _draft_facts(incident: Incident | None, service: str, expires_at: datetime
                 ) -> dict[str, Any]:
    facts: dict[str, Any] = {"service": service, "expires_at": expires_at.isoformat()}
    if incident is not None:
        facts.update(incident_facts(incident))
    return facts


def resume_link_notice(*, token: str, token_hash: str, incident_id: str, contact: Contact,
                       expires_at: datetime, cipher: Cipher, incident: Incident | None = None,
                       service: str = "") -> NewNotice:
    """The resume link of a saved claim form, sealed, to the contact given on saving: one per
    draft and address (saving again to the same address sends nothing new)."""
    to = hashlib.sha256(f"{contact.email}|{contact.phone}".encode()).hexdigest()[:16]
    account = draft_account(token_hash)
    contact = Contact(account_id=account, email=contact.email, phone=contact.phone,
                      language=contact.language)
    return NewNotice(key=idempotency_key(account_id=account, incident_id=incident_id,
                                         kind=NoticeKind.RESUME_LINK, event=f"to:{to}"),
                     incident_id=incident_id, account_id=account, kind=NoticeKind.RESUME_LINK,
                     payload=_draft_facts(incident, service, expires_at), contact=contact,
                     sealed=seal(cipher, resume_path(token)))


def draft_reminder_notice(*, token_hash: str, sealed_token: str, incident_id: str,
                          contact: Contact, expires_at: datetime, deadline: datetime | None,
                          cipher: Cipher, incident: Incident | None = None, service: str = "",
                          campaign_id: str | None = None) -> NewNotice:
    """A reminder that a saved claim form is not submitted, with its resume link (sealed) and
    the intake deadline when the incident has one. ``sealed_token`` is the draft's stored
    (encrypted) resume token."""
    account = draft_account(token_hash)
    facts = _draft_facts(incident, service, expires_at)
    if deadline is not None:
        facts["deadline"] = deadline.isoformat()
    contact = Contact(account_id=account, email=contact.email, phone=contact.phone,
                      language=contact.language)
    return NewNotice(key=draft_reminder_key(token_hash, incident_id), incident_id=incident_id,
                     account_id=account, kind=NoticeKind.DRAFT_REMINDER, payload=facts,
                     contact=contact, campaign_id=campaign_id,
                     sealed=seal(cipher, resume_path(cipher.decrypt(sealed_token))))
