"""Request and response bodies of the API (Pydantic), kept apart from the routes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from makegood.domain.claims import Action, Category, ClaimantKind, DenyReason, parse_amount
from makegood.domain.errors import InputError
from makegood.domain.staff import Role

Text = Annotated[str, Field(min_length=1, max_length=200)]


def _amount(value: object) -> Decimal:
    try:
        return parse_amount(value)
    except InputError as exc:
        raise ValueError(exc.problem) from None


# ASCII digits only: "-0", "1_000", " 5 " and "٣٤" are refused (domain.claims.parse_amount).
Money = Annotated[Decimal, BeforeValidator(_amount), Field(ge=0, max_digits=20, decimal_places=4)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WeekSales(Strict):
    week_start: date
    amount: Money


class SalesIn(Strict):
    """Weekly sales: the outage week's total and the weeks of the baseline range."""

    outage_week: Money
    baseline: list[WeekSales] = Field(min_length=1, max_length=30)


class ClaimIn(Strict):
    incident_id: Annotated[str, Field(min_length=1, max_length=100)]
    claimant_kind: ClaimantKind
    name: Text
    email: Annotated[str, Field(min_length=3, max_length=254)]
    phone: Annotated[str, Field(min_length=7, max_length=30)]
    account_id: Annotated[str, Field(min_length=1, max_length=100)]
    service: Annotated[str, Field(min_length=1, max_length=100)]
    feature: Annotated[str, Field(max_length=100)] | None = None
    category: Category
    start: AwareDatetime
    end: AwareDatetime
    description: Annotated[str, Field(min_length=1, max_length=5000)]
    amount: Money
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    consent: bool
    payout_account: Annotated[str, Field(max_length=60)] | None = None
    sales: SalesIn | None = None


class Check(BaseModel):
    name: str
    outcome: str
    code: str
    detail: str


class ReceiptOut(BaseModel):
    claim_id: str
    receipt_token: str
    status: str
    verification: str
    checks: list[Check]
    submitted_at: str


class DecisionOut(BaseModel):
    stage: str
    action: str
    amount: Decimal | None
    currency: str | None
    reason_code: str | None
    note: str
    cure_deadline: datetime | None
    decided_at: datetime


class EvidenceOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    flags: str | None = None  # PDF_ACTIVE_CONTENT: JavaScript, launch actions, embedded files


class MessageOut(BaseModel):
    kind: str
    text: str
    at: datetime


class ClaimOut(BaseModel):
    """What a claimant reads with the receipt token."""

    claim_id: str
    incident_id: str
    status: str
    claimant_kind: str
    category: str
    service: str
    feature: str | None
    start: datetime
    end: datetime
    amount: Decimal
    currency: str
    payout_account: str | None
    verification: str
    checks: list[Check]
    cure_deadline: datetime | None
    appealed: bool
    approved_amount: Decimal | None
    submitted_at: datetime
    decisions: list[DecisionOut]
    evidence: list[EvidenceOut]
    messages: list[MessageOut]


class AnswerIn(Strict):
    text: Annotated[str, Field(min_length=1, max_length=5000)]


class AppealIn(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=5000)]


class LoginIn(Strict):
    username: Text
    password: Annotated[str, Field(min_length=1, max_length=200)]


class PasswordIn(Strict):
    current_password: Annotated[str, Field(min_length=1, max_length=200)]
    new_password: Annotated[str, Field(min_length=1, max_length=200)]


class RevokedOut(BaseModel):
    revoked: int


class LoginOut(BaseModel):
    token: str
    username: str
    role: str


class UserIn(Strict):
    username: Text
    password: Annotated[str, Field(min_length=10, max_length=200)]
    role: Role


class UserOut(BaseModel):
    id: int
    username: str
    role: str


class IncidentIn(Strict):
    document: Annotated[str, Field(min_length=1, max_length=2_000_000)]
    policy_id: str | None = None
    ledger_path: str | None = None
    intake_opens: AwareDatetime | None = None
    intake_closes: AwareDatetime | None = None


class IntakeIn(Strict):
    closes: AwareDatetime | None
    opens: AwareDatetime | None = None


class PolicyIn(Strict):
    document: Annotated[str, Field(min_length=1, max_length=2_000_000)]


class AssignIn(Strict):
    username: str | None


class DecisionIn(Strict):
    action: Action
    amount: Money | None = None
    reason_code: DenyReason | None = None
    note: Annotated[str, Field(max_length=5000)] = ""
    cure_days: Annotated[int, Field(ge=1, le=120)] | None = None


class ScreeningOut(BaseModel):
    """Triage and screening of a claim (docs/triage.md)."""

    label: str | None
    damage: bool | None
    predicted_category: str | None
    probability: float | None
    drivers: list[str] | None
    score: int
    codes: list[str]
    recommendation: str
    group_id: str | None
    screened_at: datetime


class StaffClaimOut(BaseModel):
    """A claim as staff see it: everything but the encrypted payout account."""

    id: str
    incident_id: str
    claimant_kind: str
    name: str
    email: str
    phone: str
    account_id: str
    service: str
    feature: str | None
    category: str
    start: datetime
    end: datetime
    description: str
    amount: Decimal
    currency: str
    sales: dict[str, Any] | None
    payout_masked: str | None
    status: str
    verification: list[Check]
    verification_result: str
    paid: bool | None
    loss: Decimal | None
    suggested_award: Decimal | None
    approved_amount: Decimal | None
    assigned_to: int | None
    source: str
    cure_deadline: datetime | None
    appealed: bool
    created_at: datetime
    updated_at: datetime
    screening: ScreeningOut | None = None  # the queue attaches it; None until screened


class DeductionOut(BaseModel):
    code: str
    weight: int
    en: str
    ko: str


class DuplicateDecisionIn(BaseModel):
    other_claim_id: str = Field(min_length=1, max_length=40)
    duplicate: bool
    note: str = Field(default="", max_length=2000)


class QueueOut(BaseModel):
    total: int
    limit: int
    offset: int
    claims: list[StaffClaimOut]


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class StaffClaimDetail(BaseModel):
    claim: StaffClaimOut
    decisions: list[dict[str, Any]]
    evidence: list[EvidenceOut]
    messages: list[MessageOut]
    audit: list[AuditOut]


class ImportRow(BaseModel):
    row: int
    status: Literal["accepted", "refused"]
    claim_id: str | None = None
    receipt_token: str | None = None
    verification: str | None = None
    errors: list[dict[str, Any]] = []


class ImportReport(BaseModel):
    accepted: int
    refused: int
    rows: list[ImportRow]


class FieldError(BaseModel):
    field: str | None
    message: str


class ErrorOut(BaseModel):
    """Every 4xx body: a code, a message in the caller's language, and field-level errors."""

    code: str
    message: str
    detail: str
    errors: list[FieldError] = []
