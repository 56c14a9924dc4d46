"""The domain's records as the API's JSON bodies (the fields of the ``schemas`` models)."""

from __future__ import annotations

from typing import Any

from makegood.adapters.db.rows import sales_json
from makegood.domain.records import AuditEntry, Claim, Decision, EvidenceFile, Message
from makegood.services.staff import ClaimFile


def staff_claim(c: Claim) -> dict[str, Any]:
    """A claim as staff see it (``StaffClaimOut``: everything but the encrypted payout)."""
    return {
        "id": c.id, "incident_id": c.incident_id, "claimant_kind": c.claimant_kind.value,
        "name": c.name, "email": c.email, "phone": c.phone, "account_id": c.account_id,
        "service": c.service, "feature": c.feature, "category": c.category.value,
        "start": c.start, "end": c.end, "description": c.description, "amount": c.amount,
        "currency": c.currency, "sales": sales_json(c.sales), "payout_masked": c.payout_masked,
        "status": c.status.value, "verification": [ch.as_dict() for ch in c.verification],
        "verification_result": c.verification_result, "paid": c.paid, "loss": c.loss,
        "suggested_award": c.suggested_award, "approved_amount": c.approved_amount,
        "assigned_to": c.assigned_to, "source": c.source, "cure_deadline": c.cure_deadline,
        "appealed": c.appealed, "created_at": c.created_at, "updated_at": c.updated_at,
    }


def decision(d: Decision) -> dict[str, Any]:
    return {"id": d.id, "claim_id": d.claim_id, "stage": d.stage.value, "action": d.action.value,
            "amount": d.amount, "currency": d.currency, "reason_code": d.reason_code,
            "note": d.note, "cure_deadline": d.cure_deadline, "decided_by": d.decided_by,
            "decided_at": d.decided_at, "username": d.username}


def evidence(e: EvidenceFile) -> dict[str, Any]:
    return {"id": e.id, "filename": e.filename, "content_type": e.content_type, "size": e.size,
            "sha256": e.sha256, "flags": e.flags}


def message(m: Message) -> dict[str, Any]:
    return {"kind": m.kind, "text": m.text, "at": m.created_at}


def audit(a: AuditEntry) -> dict[str, Any]:
    return {"id": a.id, "at": a.at, "actor": a.actor, "action": a.action, "entity": a.entity,
            "entity_id": a.entity_id, "before": a.before, "after": a.after}


def claim_file(f: ClaimFile) -> dict[str, Any]:
    """A claim with its decisions, evidence, messages and audit trail (``StaffClaimDetail``)."""
    return {"claim": staff_claim(f.claim), "decisions": [decision(d) for d in f.decisions],
            "evidence": [evidence(e) for e in f.evidence],
            "messages": [message(m) for m in f.messages], "audit": [audit(a) for a in f.audit]}
