"""Claimant use cases: submit a claim, read it with the receipt token, add evidence, answer a
request for information, appeal a denial.

Each use case takes keyword-only arguments and a unit of work (:mod:`makegood.services.ports`);
it commits once, at the end, so a failure anywhere leaves nothing behind. A submission with an
``Idempotency-Key`` that was seen before returns the first answer and creates nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from makegood.adapters.db.crypto import new_token, token_hash
from makegood.domain.claims import (
    Category,
    ClaimantKind,
    Status,
    check_answer,
    check_appeal,
    check_claimed_period,
    check_intake,
    check_payout,
    claimed_instant,
    is_blank,
    mask_account,
)
from makegood.domain.errors import Conflict, InputError, NotFound
from makegood.domain.evidence import evidence_flags, sniff_evidence
from makegood.domain.incident import nfc
from makegood.domain.notices import NewNotice, NoticeKind
from makegood.domain.records import (
    AuditEntry,
    Claim,
    EvidenceFile,
    IdempotencyRecord,
    IncidentRecord,
    Message,
)
from makegood.domain.verification import SalesReport, Verification
from makegood.domain.windows import Window
from makegood.services.notice_events import claim_notice, seal, track_path
from makegood.services.ports import Cipher, EvidenceStore, LedgerReader, UnitOfWork
from makegood.services.verification import read_ledger, verify_claim

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{6,19}$")
MAX_EVIDENCE_FILES = 20


@dataclass(frozen=True, slots=True)
class ClaimInput:
    """What a claimant submits, already typed; :func:`validate` checks the rules between fields."""

    incident_id: str
    claimant_kind: ClaimantKind
    name: str
    email: str
    phone: str
    account_id: str
    service: str
    category: Category
    start: datetime
    end: datetime
    description: str
    amount: Decimal
    currency: str
    consent: bool
    feature: str | None = None
    payout_account: str | None = None
    sales: SalesReport | None = None

    def fingerprint(self) -> str:
        """A hash of the request, to tell a retry from another claim under the same key."""
        # The same text as json.dumps(dataclasses.asdict(self)), which is slow on this path.
        data: dict[str, Any] = {name: getattr(self, name) for name in _FIELDS}
        if self.sales is not None:
            data["sales"] = {"outage_week": self.sales.outage_week, "baseline": [
                {"week_start": w.week_start, "amount": w.amount} for w in self.sales.baseline]}
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


_FIELDS = tuple(f.name for f in fields(ClaimInput))
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # below 32, except tab, LF and CR


def validate(claim: ClaimInput) -> ClaimInput:
    """Normalize text to NFC and check what types alone cannot; raises :class:`InputError`."""
    for name_ in _FIELDS:
        value = getattr(claim, name_)
        if isinstance(value, str) and _CONTROL.search(value):
            raise InputError("contains control characters", field=name_)
    name = nfc(claim.name)
    if is_blank(name):
        raise InputError("is empty", field="name")
    email = nfc(claim.email)
    if not _EMAIL.match(email):
        raise InputError(f"{email!r} is not an email address", field="email")
    phone = nfc(claim.phone)
    if not _PHONE.match(phone):
        raise InputError(f"{phone!r} is not a phone number", field="phone")
    start = claimed_instant(claim.start, field="start")
    end = claimed_instant(claim.end, field="end")
    if end <= start:
        raise InputError("the claimed time ends at or before it starts", field="end")
    if not claim.consent:
        raise InputError("consent to processing is required to file a claim", field="consent")
    currency = claim.currency.strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise InputError(f"{claim.currency!r} is not an ISO 4217 currency code such as KRW",
                         field="currency")
    if claim.amount < 0 or claim.amount.is_signed() or not claim.amount.is_finite():
        raise InputError("must not be negative", field="amount")
    if claim.claimant_kind is ClaimantKind.SMALL_BUSINESS and claim.category is \
            Category.BUSINESS_SALES and claim.sales is None:
        raise InputError("a small business claiming lost sales must give its weekly sales",
                         field="sales")
    payout = check_payout(claim.payout_account) if claim.payout_account else None
    description = nfc(claim.description)
    if is_blank(description):
        raise InputError("is empty", field="description")
    return ClaimInput(
        incident_id=nfc(claim.incident_id), claimant_kind=claim.claimant_kind, name=name,
        email=email, phone=phone, account_id=nfc(claim.account_id), service=nfc(claim.service),
        category=claim.category, start=start, end=end, description=description,
        amount=claim.amount, currency=currency, consent=True,
        feature=nfc(claim.feature) if claim.feature and nfc(claim.feature) else None,
        payout_account=payout, sales=claim.sales)


@dataclass(frozen=True, slots=True)
class Receipt:
    claim_id: str
    receipt_token: str
    status: str
    verification: str
    checks: list[dict[str, str]] = field(default_factory=list)
    submitted_at: str = ""
    replayed: bool = False
    body: str | None = field(default=None, compare=False, repr=False)  # to_json(), when known

    def content(self) -> dict[str, Any]:
        """The answer's body (the API's ``ReceiptOut``)."""
        return {"claim_id": self.claim_id, "receipt_token": self.receipt_token,
                "status": self.status, "verification": self.verification,
                "checks": self.checks, "submitted_at": self.submitted_at}

    def to_json(self) -> str:
        """The answer's body as compact JSON: sent as it is, and stored (encrypted) for a
        replay, which reads it back with ``replayed`` set."""
        if self.body is not None:
            return self.body
        return json.dumps(self.content(), ensure_ascii=False, separators=(",", ":"))


def submit(
    *,
    uow: UnitOfWork,
    claim: ClaimInput,
    cipher: Cipher,
    now: datetime,
    client: str | None = None,
    idempotency_key: str | None = None,
    source: str = "api",
    actor: str | None = None,
    ledger: LedgerReader = read_ledger,
) -> Receipt:
    """File a claim: validate, verify, store, audit, commit; or replay the first answer."""
    claim = validate(claim)
    fingerprint = claim.fingerprint()
    try:
        return _submit(uow=uow, claim=claim, cipher=cipher, now=now, client=client,
                       idempotency_key=idempotency_key, fingerprint=fingerprint, source=source,
                       actor=actor, ledger=ledger)
    except Conflict:
        # The key was seen before (a retry, or two requests racing): nothing of this attempt
        # was committed; answer as the first one did. No look-up before the attempt: retries
        # are rare and every first submission saves the round trips.
        if idempotency_key is None:
            raise
        replay = _replay(uow, idempotency_key, fingerprint, cipher, client)
        if replay is None:
            raise
        return replay


def _replay(uow: UnitOfWork, key: str, fingerprint: str, cipher: Cipher, client: str | None
            ) -> Receipt | None:
    with uow:
        stored = uow.idempotency.get(key)
    return replay(stored, fingerprint, cipher, client)


@dataclass(frozen=True, slots=True)
class Filing:
    """What one submission writes, all or nothing: the claim, its audit entry and (with an
    ``Idempotency-Key``) the idempotency record; and the receipt the claimant gets."""

    claim: Claim
    audit: AuditEntry
    idempotency: IdempotencyRecord | None
    receipt: Receipt
    notice: NewNotice | None = None  # "claim received", in the outbox with the claim


def check_incident(claim: ClaimInput, record: IncidentRecord | None, now: datetime
                   ) -> IncidentRecord:
    """The incident exists, takes claims now, and affected the claimed service."""
    if record is None:
        raise InputError(f"there is no incident {claim.incident_id!r}", field="incident_id")
    check_intake(now, opens=record.intake_opens, closes=record.intake_closes,
                 incident_id=claim.incident_id)
    check_claimed_period(Window(claim.start, claim.end), incident_span=record.incident.span)
    if claim.service not in record.incident.services:
        raise InputError(f"incident {claim.incident_id!r} did not affect {claim.service!r}; "
                         f"affected: {', '.join(record.incident.services)}", field="service")
    return record


def file_claim(*, claim: ClaimInput, result: Verification, cipher: Cipher, now: datetime,
               client: str | None, idempotency_key: str | None, fingerprint: str, source: str,
               actor: str | None) -> Filing:
    """The rows of a verified claim and its receipt (a new id and receipt token)."""
    claim_id = uuid.uuid4().hex
    token = new_token()
    checks = [c.as_dict() for c in result.checks]
    values = Claim(
        id=claim_id, incident_id=claim.incident_id, claimant_kind=claim.claimant_kind,
        name=claim.name, email=claim.email, phone=claim.phone, account_id=claim.account_id,
        service=claim.service, feature=claim.feature, category=claim.category,
        start=claim.start, end=claim.end, description=claim.description, amount=claim.amount,
        currency=claim.currency, sales=claim.sales, consent=True,
        payout_encrypted=cipher.encrypt(claim.payout_account) if claim.payout_account
        else None,
        payout_masked=mask_account(claim.payout_account) if claim.payout_account else None,
        status=Status.SUBMITTED, verification=result.checks,
        verification_result=result.result, paid=result.paid, loss=result.loss,
        suggested_award=result.suggested_award, approved_amount=None, assigned_to=None,
        receipt_hash=token_hash(token), client=client, source=source, cure_deadline=None,
        appealed=False, created_at=now, updated_at=now)
    audit = AuditEntry(
        at=now, actor=actor or f"claimant@{client or 'unknown'}", action="claim.submit",
        entity="claim", entity_id=claim_id, before=None,
        after={"status": Status.SUBMITTED.value, "verification": result.result,
               "codes": list(result.codes)})
    verification = result.result
    submitted_at = now.isoformat()
    receipt_json = json.dumps(
        {"claim_id": claim_id, "receipt_token": token, "status": Status.SUBMITTED.value,
         "verification": verification, "checks": checks, "submitted_at": submitted_at},
        ensure_ascii=False, separators=(",", ":"))
    receipt = Receipt(claim_id=claim_id, receipt_token=token, status=Status.SUBMITTED.value,
                      verification=verification, checks=checks, submitted_at=submitted_at,
                      body=receipt_json)
    # The stored answer names the client it was given to (a hash of its address): a retry from
    # another client gets a 422, never someone else's receipt token.
    stored = receipt_json[:-1] + f',"{BOUND_TO}":"{client_tag(client)}"}}'
    idempotency = None if idempotency_key is None else IdempotencyRecord(
        key=idempotency_key, request_hash=fingerprint, claim_id=claim_id,
        response=cipher.encrypt(stored), created_at=now)
    # The receipt by email or SMS: the tracking link (it holds the receipt token) is sealed.
    notice = claim_notice(NoticeKind.CLAIM_RECEIVED, values, event="received",
                          sealed=seal(cipher, track_path(claim_id, token)))
    return Filing(values, audit, idempotency, receipt, notice)


BOUND_TO = "bound_to"


def client_tag(client: str | None) -> str:
    """A short hash of the client's address, kept with an idempotency record."""
    return hashlib.sha256(f"makegood-client:{client or 'unknown'}".encode()).hexdigest()[:32]


def replay(stored: IdempotencyRecord | None, fingerprint: str, cipher: Cipher,
           client: str | None = None) -> Receipt | None:
    """The first answer given for an idempotency record; ``None`` when there is no record.

    Refused: a key first used by another client (:class:`InputError` on the header: the key is
    bound to its first client), and a key used for a different claim (:class:`Conflict`).
    """
    if stored is None:
        return None
    data = json.loads(cipher.decrypt(stored.response))
    bound = data.pop(BOUND_TO, None)
    if bound is not None and bound != client_tag(client):
        raise InputError("this Idempotency-Key was first used by another client; use a new key",
                         field="Idempotency-Key")
    if stored.request_hash != fingerprint:
        raise Conflict("this Idempotency-Key was used for a different claim; use a new key for a "
                       "new claim")
    data["replayed"] = True
    return Receipt(**data)


def _submit(*, uow: UnitOfWork, claim: ClaimInput, cipher: Cipher, now: datetime,
            client: str | None, idempotency_key: str | None, fingerprint: str, source: str,
            actor: str | None, ledger: LedgerReader) -> Receipt:
    with uow:
        record = check_incident(claim, uow.incidents.get(claim.incident_id), now)
        result = verify_claim(uow=uow, record=record, account_id=claim.account_id,
                              service=claim.service, feature=claim.feature, start=claim.start,
                              end=claim.end, kind=claim.claimant_kind, category=claim.category,
                              sales=claim.sales, ledger=ledger)
        filing = file_claim(claim=claim, result=result, cipher=cipher, now=now, client=client,
                            idempotency_key=idempotency_key, fingerprint=fingerprint,
                            source=source, actor=actor)
        uow.claims.add(filing.claim)
        uow.audit.add(filing.audit)
        if filing.notice is not None:
            uow.outbox.add(filing.notice, now=now)
        if filing.idempotency is not None:
            uow.idempotency.add(filing.idempotency)
        uow.commit()
    return filing.receipt


def _claim_for_token(uow: UnitOfWork, claim_id: str, token: str | None, *, lock: bool = False
                     ) -> Claim:
    found = uow.claims.get(claim_id) if not lock else None
    if lock:
        try:
            found = uow.claims.lock(claim_id)
        except NotFound:
            found = None
    if found is None or not token or found.receipt_hash != token_hash(token):
        raise NotFound("no claim with this id and receipt token")
    return found


def claimant_view(claim: Claim, *, uow: UnitOfWork) -> dict[str, Any]:
    """What a claimant sees: status, checks, decisions (without staff names), evidence."""
    return {
        "claim_id": claim.id, "incident_id": claim.incident_id, "status": claim.status.value,
        "claimant_kind": claim.claimant_kind.value, "category": claim.category.value,
        "service": claim.service, "feature": claim.feature, "start": claim.start,
        "end": claim.end, "amount": claim.amount, "currency": claim.currency,
        "payout_account": claim.payout_masked, "verification": claim.verification_result,
        "checks": [c.as_dict() for c in claim.verification],
        "cure_deadline": claim.cure_deadline, "appealed": claim.appealed,
        "approved_amount": claim.approved_amount, "submitted_at": claim.created_at,
        "decisions": [{"stage": d.stage.value, "action": d.action.value, "amount": d.amount,
                       "currency": d.currency, "reason_code": d.reason_code, "note": d.note,
                       "cure_deadline": d.cure_deadline, "decided_at": d.decided_at}
                      for d in uow.decisions.of_claim(claim.id)],
        "evidence": [{"id": e.id, "filename": e.filename, "content_type": e.content_type,
                      "size": e.size, "sha256": e.sha256}
                     for e in uow.evidence.of_claim(claim.id)],
        "messages": [{"kind": m.kind, "text": m.text, "at": m.created_at}
                     for m in uow.messages.of_claim(claim.id)],
    }


def get_by_token(*, uow: UnitOfWork, claim_id: str, token: str | None) -> dict[str, Any]:
    with uow:
        return claimant_view(_claim_for_token(uow, claim_id, token), uow=uow)


def add_evidence(*, uow: UnitOfWork, store: EvidenceStore, claim_id: str, token: str | None,
                 filename: str, data: bytes, max_bytes: int, now: datetime) -> dict[str, Any]:
    """Attach a PDF or image; the file is stored by content hash before the row commits."""
    content_type = sniff_evidence(data, max_bytes=max_bytes)
    flags = " ".join(evidence_flags(data, content_type)) or None
    with uow:
        found = _claim_for_token(uow, claim_id, token, lock=True)
        if found.status is Status.APPROVED:
            raise Conflict("this claim is approved; no more evidence is needed")
        if len(uow.evidence.of_claim(claim_id)) >= MAX_EVIDENCE_FILES:
            raise Conflict(f"a claim holds at most {MAX_EVIDENCE_FILES} files")
        digest = store.put(data)
        name = nfc(filename)[:200] or "evidence"
        evidence_id = uow.evidence.add(EvidenceFile(
            claim_id=found.id, sha256=digest, filename=name, content_type=content_type,
            size=len(data), created_at=now, flags=flags))
        uow.audit.record(actor=f"claimant:{claim_id}", action="claim.evidence", entity="claim",
                         entity_id=claim_id, before=None,
                         after={"evidence_id": evidence_id, "sha256": digest, "filename": name,
                                "flags": flags},
                         now=now)
        uow.commit()
    return {"id": evidence_id, "filename": name, "content_type": content_type, "size": len(data),
            "sha256": digest, "flags": flags}


def answer(*, uow: UnitOfWork, claim_id: str, token: str | None, text: str, now: datetime
           ) -> dict[str, Any]:
    """Answer a request for information before its deadline; the claim returns to review."""
    body = nfc(text)
    if not body:
        raise InputError("is empty", field="text")
    with uow:
        found = _claim_for_token(uow, claim_id, token, lock=True)
        check_answer(found.status, deadline=found.cure_deadline, now=now)
        uow.messages.add(Message(claim_id=found.id, kind="answer", text=body, created_at=now))
        updated = found.with_(status=Status.SUBMITTED, cure_deadline=None, updated_at=now)
        uow.claims.update(updated)
        uow.audit.record(actor=f"claimant:{claim_id}", action="claim.answer", entity="claim",
                         entity_id=claim_id, before={"status": found.status.value,
                                                     "cure_deadline": found.cure_deadline},
                         after={"status": Status.SUBMITTED.value}, now=now)
        view = claimant_view(updated, uow=uow)
        uow.commit()
    return view


def appeal(*, uow: UnitOfWork, claim_id: str, token: str | None, reason: str, now: datetime
           ) -> dict[str, Any]:
    """Appeal a denial, once; a supervisor decides the appeal."""
    body = nfc(reason)
    if not body:
        raise InputError("is empty", field="reason")
    with uow:
        found = _claim_for_token(uow, claim_id, token, lock=True)
        check_appeal(found.status, appealed_before=found.appealed)
        uow.messages.add(Message(claim_id=found.id, kind="appeal", text=body, created_at=now))
        updated = found.with_(status=Status.APPEALED, appealed=True, updated_at=now)
        uow.claims.update(updated)
        uow.audit.record(actor=f"claimant:{claim_id}", action="claim.appeal", entity="claim",
                         entity_id=claim_id,
                         before={"status": found.status.value, "appealed": False},
                         after={"status": Status.APPEALED.value, "appealed": True}, now=now)
        view = claimant_view(updated, uow=uow)
        uow.commit()
    return view
