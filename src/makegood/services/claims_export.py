"""Exports for payment systems (decisions and awards) and for counsel (a roster by legal basis).

Rows only; the API writes them as CSV, Parquet or XLSX. Payout accounts stay masked in every
export: a payment system matches on the claim id.
"""

from __future__ import annotations

from typing import Any

from makegood.domain.claims import LegalBasis, Status, legal_basis
from makegood.domain.staff import Permission
from makegood.services.ports import UnitOfWork
from makegood.services.staff import StaffUser

DECISION_COLUMNS = ("claim_id", "incident_id", "account_id", "claimant_kind", "name", "email",
                    "service", "category", "status", "amount", "currency", "payout_account",
                    "decided_by", "decided_at", "reason_code")
ROSTER_COLUMNS = ("legal_basis", "claim_id", "incident_id", "name", "email", "phone",
                  "claimant_kind", "category", "service", "paid", "claimed_amount", "currency",
                  "evidence_files", "status")


def decisions(*, uow: UnitOfWork, actor: StaffUser, incident_id: str | None = None
              ) -> list[dict[str, Any]]:
    """One row per decided claim (approved or denied), with the final decision."""
    actor.require(Permission.READ)
    out: list[dict[str, Any]] = []
    with uow:
        for claim in uow.claims.all_(incident_id):
            if claim.status not in (Status.APPROVED, Status.DENIED):
                continue
            last = uow.decisions.of_claim(claim.id)[-1]
            out.append({
                "claim_id": claim.id, "incident_id": claim.incident_id,
                "account_id": claim.account_id, "claimant_kind": claim.claimant_kind.value,
                "name": claim.name, "email": claim.email, "service": claim.service,
                "category": claim.category.value, "status": claim.status.value,
                "amount": claim.approved_amount, "currency": claim.currency,
                "payout_account": claim.payout_masked, "decided_by": last.username,
                "decided_at": last.decided_at, "reason_code": last.reason_code,
            })
    return out


def roster(*, uow: UnitOfWork, actor: StaffUser, incident_id: str | None = None
           ) -> list[dict[str, Any]]:
    """Every claimant, grouped by legal basis (paid contract, free with proven loss, business)."""
    actor.require(Permission.READ)
    out: list[dict[str, Any]] = []
    with uow:
        for claim in uow.claims.all_(incident_id):
            files = len(uow.evidence.of_claim(claim.id))
            basis = legal_basis(category=claim.category, kind=claim.claimant_kind,
                                paid=claim.paid, has_proof=files > 0 or claim.loss is not None)
            out.append({
                "legal_basis": basis.value, "claim_id": claim.id,
                "incident_id": claim.incident_id, "name": claim.name, "email": claim.email,
                "phone": claim.phone, "claimant_kind": claim.claimant_kind.value,
                "category": claim.category.value, "service": claim.service, "paid": claim.paid,
                "claimed_amount": claim.amount, "currency": claim.currency,
                "evidence_files": files, "status": claim.status.value,
            })
    order = {b.value: i for i, b in enumerate(LegalBasis)}
    out.sort(key=lambda r: (order[r["legal_basis"]], r["name"], r["claim_id"]))
    return out
