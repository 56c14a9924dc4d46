"""Saved claim forms (save and resume): a half-filled claim, encrypted with the service's key,
under the hash of its resume token; the token is in the resume link, shown on the page and, when
the claimant asks, sent by email through the notices outbox (sealed: docs/notices.md).

A draft with a contact (the form's email or phone, or the address the link was sent to) keeps
that contact and its resume token, both encrypted, for the draft reminders
(``makegood notify campaign drafts``); submitting or deleting the draft withdraws a reminder not
sent yet."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from makegood.adapters.db.crypto import new_token, token_hash
from makegood.adapters.db.web_store import Drafts
from makegood.domain.errors import NotFound
from makegood.domain.incident import Incident
from makegood.domain.notices import Contact, mask
from makegood.entrypoints.api.deps import Context
from makegood.entrypoints.web.deps import sql
from makegood.services.notice_events import draft_reminder_key, resume_link_notice

DRAFT_DAYS = 30
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class Draft:
    token: str
    incident_id: str
    data: dict[str, Any]
    expires_at: datetime
    link_sent_to: str = ""  # the masked address the resume link is being sent to


def contact_of(data: dict[str, Any], language: str, *, email: str = "") -> Contact | None:
    """The contact a draft keeps: ``email`` when given, else the form's email and phone (each
    only when it looks like one)."""
    address = (email or str(data.get("email") or "")).strip()
    phone = "" if email else str(data.get("phone") or "").strip()
    address = address if _EMAIL.match(address) else ""
    phone = phone if sum(ch.isdigit() for ch in phone) >= 8 else ""
    if not address and not phone:
        return None
    return Contact(account_id="", email=address or None, phone=phone or None,
                   language=language if language in ("ko", "en") else "ko")


def save_draft(ctx: Context, *, incident_id: str, data: dict[str, Any], token: str | None = None,
               contact: Contact | None = None, send_link: bool = False,
               incident: Incident | None = None) -> Draft:
    """Save the form; with ``contact``, keep it for the reminders, and with ``send_link`` also
    write the resume-link notice to it (in the same transaction)."""
    token = token or new_token()
    when = ctx.clock()
    expires = when + timedelta(days=DRAFT_DAYS)
    blob = ctx.cipher.encrypt(json.dumps(data, ensure_ascii=False))
    kept = None if contact is None else ctx.cipher.encrypt(json.dumps(
        {"email": contact.email, "phone": contact.phone, "language": contact.language}))
    sent_to = ""
    with sql(ctx) as uow:
        Drafts(uow.conn).put(token_hash=token_hash(token), incident_id=incident_id, data=blob,
                             now=when, expires_at=expires, contact=kept,
                             sealed=None if kept is None else ctx.cipher.encrypt(token))
        if send_link and contact is not None:
            uow.outbox.add(resume_link_notice(
                token=token, token_hash=token_hash(token), incident_id=incident_id,
                contact=contact, expires_at=expires, cipher=ctx.cipher, incident=incident,
                service=str(data.get("service") or "")), now=when)
            sent_to = mask(contact.email or contact.phone or "")
        uow.commit()
    return Draft(token, incident_id, data, expires, sent_to)


def load_draft(ctx: Context, token: str) -> Draft:
    with sql(ctx) as uow:
        row = Drafts(uow.conn).get(token_hash(token), ctx.clock())
    if row is None:
        raise NotFound("no saved claim with this link; it may have expired or been submitted")
    return Draft(token, row["incident_id"], json.loads(ctx.cipher.decrypt(row["data"])),
                 row["expires_at"])


def delete_draft(ctx: Context, token: str, *, incident_id: str) -> None:
    """Delete a draft (it was submitted) and withdraw its reminder if not sent yet."""
    digest = token_hash(token)
    with sql(ctx) as uow:
        Drafts(uow.conn).delete(digest)
        uow.outbox.cancel(draft_reminder_key(digest, incident_id), now=ctx.clock())
        uow.commit()


def idempotency_key(token: str) -> str:
    """One draft files one claim, however often its submit button is pressed."""
    return "web-draft-" + hashlib.sha256(token.encode()).hexdigest()[:40]
