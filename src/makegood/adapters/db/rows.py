"""Rows of the claims tables to the domain's records and back.

One place for the translation, shared by the SQLAlchemy repositories and the asyncpg intake
store, so that both write exactly the same row for the same claim.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from makegood.domain.accounts import WeeklySales
from makegood.domain.claims import Action, Category, ClaimantKind, Stage, Status
from makegood.domain.records import (
    AuditEntry,
    Claim,
    Decision,
    EvidenceFile,
    IdempotencyRecord,
    IncidentSummary,
    Message,
    StaffAccount,
)
from makegood.domain.staff import Role
from makegood.domain.verification import Check, Outcome, SalesReport

CLAIM_COLUMNS = (
    "id", "incident_id", "claimant_kind", "name", "email", "phone", "account_id", "service",
    "feature", "category", "start", "end", "description", "amount", "currency", "sales",
    "consent", "payout_encrypted", "payout_masked", "status", "verification",
    "verification_result", "paid", "loss", "suggested_award", "approved_amount", "assigned_to",
    "receipt_hash", "client", "source", "cure_deadline", "appealed", "created_at", "updated_at")


def sales_json(sales: SalesReport | None) -> dict[str, Any] | None:
    """A sales report as stored (JSON): amounts as exact decimal text, weeks as ISO dates."""
    if sales is None:
        return None
    return {"outage_week": str(sales.outage_week),
            "baseline": [{"week_start": w.week_start.isoformat(), "amount": str(w.amount)}
                         for w in sales.baseline]}


def sales_report(data: Mapping[str, Any] | None) -> SalesReport | None:
    if not data:
        return None
    return SalesReport(Decimal(data["outage_week"]), tuple(
        WeeklySales(date.fromisoformat(w["week_start"]), Decimal(w["amount"]))
        for w in data["baseline"]))


def checks_json(checks: tuple[Check, ...]) -> list[dict[str, str]]:
    return [c.as_dict() for c in checks]


def checks(data: list[Mapping[str, str]]) -> tuple[Check, ...]:
    return tuple(Check(c["name"], Outcome(c["outcome"]), c["code"], c["detail"]) for c in data)


def claim_values(c: Claim) -> dict[str, Any]:
    """The claim's row: every column, JSON columns as their JSON data, enums as text.

    Written out field by field: this runs on every claim submission."""
    return {
        "id": c.id, "incident_id": c.incident_id, "claimant_kind": c.claimant_kind.value,
        "name": c.name, "email": c.email, "phone": c.phone, "account_id": c.account_id,
        "service": c.service, "feature": c.feature, "category": c.category.value,
        "start": c.start, "end": c.end, "description": c.description, "amount": c.amount,
        "currency": c.currency, "sales": None if c.sales is None else sales_json(c.sales),
        "consent": c.consent, "payout_encrypted": c.payout_encrypted,
        "payout_masked": c.payout_masked, "status": c.status.value,
        "verification": [ch.as_dict() for ch in c.verification],
        "verification_result": c.verification_result, "paid": c.paid, "loss": c.loss,
        "suggested_award": c.suggested_award, "approved_amount": c.approved_amount,
        "assigned_to": c.assigned_to, "receipt_hash": c.receipt_hash, "client": c.client,
        "source": c.source, "cure_deadline": c.cure_deadline, "appealed": c.appealed,
        "created_at": c.created_at, "updated_at": c.updated_at,
    }


def claim_changes(before: Claim, after: Claim) -> dict[str, Any]:
    """The columns whose values differ between two versions of a claim."""
    old, new = claim_values(before), claim_values(after)
    return {c: v for c, v in new.items() if old[c] != v}


def claim(row: Mapping[Any, Any]) -> Claim:
    return Claim(
        id=row["id"], incident_id=row["incident_id"],
        claimant_kind=ClaimantKind(row["claimant_kind"]), name=row["name"], email=row["email"],
        phone=row["phone"], account_id=row["account_id"], service=row["service"],
        feature=row["feature"], category=Category(row["category"]), start=row["start"],
        end=row["end"], description=row["description"], amount=row["amount"],
        currency=row["currency"], sales=sales_report(row["sales"]), consent=row["consent"],
        payout_encrypted=row["payout_encrypted"], payout_masked=row["payout_masked"],
        status=Status(row["status"]), verification=checks(row["verification"]),
        verification_result=row["verification_result"], paid=row["paid"], loss=row["loss"],
        suggested_award=row["suggested_award"], approved_amount=row["approved_amount"],
        assigned_to=row["assigned_to"], receipt_hash=row["receipt_hash"], client=row["client"],
        source=row["source"], cure_deadline=row["cure_deadline"], appealed=row["appealed"],
        created_at=row["created_at"], updated_at=row["updated_at"])


def idempotency(row: Mapping[Any, Any]) -> IdempotencyRecord:
    return IdempotencyRecord(key=row["key"], request_hash=row["request_hash"],
                             claim_id=row["claim_id"], response=row["response"],
                             created_at=row["created_at"])


def evidence(row: Mapping[Any, Any]) -> EvidenceFile:
    return EvidenceFile(id=row["id"], claim_id=row["claim_id"], sha256=row["sha256"],
                        filename=row["filename"], content_type=row["content_type"],
                        size=row["size"], created_at=row["created_at"], flags=row["flags"])


def message(row: Mapping[Any, Any]) -> Message:
    return Message(id=row["id"], claim_id=row["claim_id"], kind=row["kind"], text=row["text"],
                   created_at=row["created_at"])


def decision(row: Mapping[Any, Any]) -> Decision:
    return Decision(id=row["id"], claim_id=row["claim_id"], stage=Stage(row["stage"]),
                    action=Action(row["action"]), amount=row["amount"], currency=row["currency"],
                    reason_code=row["reason_code"], note=row["note"],
                    cure_deadline=row["cure_deadline"], decided_by=row["decided_by"],
                    decided_at=row["decided_at"], username=row.get("username") or "")


def decision_values(d: Decision) -> dict[str, Any]:
    return {"claim_id": d.claim_id, "stage": d.stage.value, "action": d.action.value,
            "amount": d.amount, "currency": d.currency, "reason_code": d.reason_code,
            "note": d.note, "cure_deadline": d.cure_deadline, "decided_by": d.decided_by,
            "decided_at": d.decided_at}


def staff(row: Mapping[Any, Any]) -> StaffAccount:
    return StaffAccount(id=int(row["id"]), username=row["username"],
                        password_hash=row.get("password_hash", ""), role=Role(row["role"]),
                        active=bool(row["active"]), created_at=row.get("created_at"))


def audit(row: Mapping[Any, Any]) -> AuditEntry:
    return AuditEntry(id=row["id"], at=row["at"], actor=row["actor"], action=row["action"],
                      entity=row["entity"], entity_id=row["entity_id"], before=row["before"],
                      after=row["after"])


def incident_summary(row: Mapping[Any, Any]) -> IncidentSummary:
    return IncidentSummary(id=row["id"], title=row["title"], policy_id=row["policy_id"],
                           intake_opens=row["intake_opens"], intake_closes=row["intake_closes"])


def jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    """An audit entry's before/after as JSON data: instants as ISO text, money as text."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, datetime):
            out[k] = v.isoformat()
        elif isinstance(v, Decimal):
            out[k] = str(v)
        else:
            out[k] = v
    return out
