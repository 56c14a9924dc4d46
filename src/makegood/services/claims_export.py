"""Exports for payment systems (decisions and awards) and for counsel (a roster by legal basis).

Rows only; the API writes them as CSV, Parquet or XLSX. Payout accounts stay masked in every
export: a payment system matches on the claim id.
"""

from __future__ import annotations

from typing import Any

from makegood.adapters.db.repository import UnitOfWork
from makegood.domain.claims import Category, ClaimantKind, LegalBasis, Permission, Status, legal_basis
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
        for row in uow.claims.all_(incident_id):
            if row["status"] not in (Status.APPROVED.value, Status.DENIED.value):
                continue
            last = uow.decisions.of_claim(row["id"])[-1]
            out.append({
                "claim_id": row["id"], "incident_id": row["incident_id"],
                "account_id": row["account_id"], "claimant_kind": row["claimant_kind"],
                "name": row["name"], "email": row["email"], "service": row["service"],
                "category": row["category"], "status": row["status"],
                "amount": row["approved_amount"], "currency": row["currency"],
                "payout_account": row["payout_masked"], "decided_by": last["username"],
                "decided_at": last["decided_at"], "reason_code": last["reason_code"],
            })
    return out


def roster(*, uow: UnitOfWork, actor: StaffUser, incident_id: str | None = None
           ) -> list[dict[str, Any]]:
    """Every claimant, grouped by legal basis (paid contract, free with proven loss, business)."""
    actor.require(Permission.READ)
    out: list[dict[str, Any]] = []
    with uow:
        for row in uow.claims.all_(incident_id):
            files = len(uow.evidence.of_claim(row["id"]))
            basis = legal_basis(category=Category(row["category"]),
                                kind=ClaimantKind(row["claimant_kind"]), paid=row["paid"],
                                has_proof=files > 0 or row["loss"] is not None)
            out.append({
                "legal_basis": basis.value, "claim_id": row["id"],
                "incident_id": row["incident_id"], "name": row["name"], "email": row["email"],
                "phone": row["phone"], "claimant_kind": row["claimant_kind"],
                "category": row["category"], "service": row["service"], "paid": row["paid"],
                "claimed_amount": row["amount"], "currency": row["currency"],
                "evidence_files": files, "status": row["status"],
            })
    order = {b.value: i for i, b in enumerate(LegalBasis)}
    out.sort(key=lambda r: (order[r["legal_basis"]], r["name"], r["claim_id"]))
    return out
