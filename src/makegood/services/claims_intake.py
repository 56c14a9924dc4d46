"""Claim intake on an asynchronous store: the use case of :func:`makegood.services.claims.submit`
for a server that waits on the database without a thread per request.

The steps and their guarantees are the same ones, shared with the synchronous use case:
validation and NFC normalisation (:func:`~makegood.services.claims.validate`), the incident's
intake window and services (:func:`~makegood.services.claims.check_incident`), every
verification check with its reason code (:func:`~makegood.services.verification.verify_facts`),
the rows to write with the payout account encrypted (:func:`~makegood.services.claims.file_claim`)
and the replay of a reused ``Idempotency-Key`` (:func:`~makegood.services.claims.replay`). The
store writes a filing all at once or not at all.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from makegood.domain.errors import Conflict
from makegood.services.claims import (
    ClaimInput,
    Receipt,
    check_incident,
    file_claim,
    replay,
    validate,
)
from makegood.services.ports import Cipher, IntakeStore, LedgerReader
from makegood.services.verification import read_ledger, verify_facts

__all__ = ["IntakeStore", "submit"]


async def submit(
    *,
    store: IntakeStore,
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
    facts = await store.facts(claim.incident_id, claim.account_id)
    record = check_incident(claim, facts[0] if facts else None, now)
    lines = None
    if record.ledger_path:  # a file read (cached by version): off the event loop
        lines = await asyncio.to_thread(ledger, record.ledger_path, claim.account_id)
    result = verify_facts(record=record, subscriptions=facts[1] if facts else None,
                          ledger=lines, account_id=claim.account_id, service=claim.service,
                          feature=claim.feature, start=claim.start, end=claim.end,
                          kind=claim.claimant_kind, category=claim.category, sales=claim.sales)
    filing = file_claim(claim=claim, result=result, cipher=cipher, now=now, client=client,
                        idempotency_key=idempotency_key, fingerprint=fingerprint, source=source,
                        actor=actor)
    if await store.file(filing.claim, filing.audit, filing.idempotency, filing.notice):
        return filing.receipt
    # The key was taken first (a retry, or two requests racing): answer as the first one did.
    assert idempotency_key is not None
    receipt = replay(await store.idempotency(idempotency_key), fingerprint, cipher, client)
    if receipt is None:
        raise Conflict("this Idempotency-Key is in use by a request that did not finish; retry")
    return receipt
