"""What the claims store holds, as the use cases see it: stored claims, their decisions, evidence
and messages, staff accounts, audit entries, idempotency records and incidents taken for claims.

Repositories (``adapters/db/``) return these and take them; the services never see a database
row. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from makegood.domain.claims import Action, Category, ClaimantKind, Stage, Status
from makegood.domain.incident import Incident
from makegood.domain.policy import Policy
from makegood.domain.staff import Role
from makegood.domain.verification import Check, SalesReport


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """An incident stored for claims, with the policy that verifies them and its intake window."""

    incident: Incident
    policy_id: str | None
    policy: Policy | None
    ledger_path: str | None
    intake_opens: datetime | None
    intake_closes: datetime | None


@dataclass(frozen=True, slots=True)
class IncidentSummary:
    """An incident as a list shows it (what a claim form offers)."""

    id: str
    title: str
    policy_id: str | None
    intake_opens: datetime | None
    intake_closes: datetime | None


@dataclass(frozen=True, slots=True)
class Claim:
    """A filed claim with its verification, decision state and bookkeeping."""

    id: str
    incident_id: str
    claimant_kind: ClaimantKind
    name: str
    email: str
    phone: str
    account_id: str
    service: str
    feature: str | None
    category: Category
    start: datetime
    end: datetime
    description: str
    amount: Decimal
    currency: str
    sales: SalesReport | None
    consent: bool
    payout_encrypted: str | None
    payout_masked: str | None
    status: Status
    verification: tuple[Check, ...]
    verification_result: str
    paid: bool | None
    loss: Decimal | None
    suggested_award: Decimal | None
    approved_amount: Decimal | None
    assigned_to: int | None
    receipt_hash: str
    client: str | None
    source: str  # api | import
    cure_deadline: datetime | None
    appealed: bool
    created_at: datetime
    updated_at: datetime

    def with_(self, **changes: Any) -> Claim:
        """A copy with ``changes`` (what :meth:`ClaimRepository.update` stores)."""
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class ClaimFilter:
    """The review queue's filters; ``None`` (or ``False``) means no filter on that field."""

    incident_id: str | None = None
    service: str | None = None
    category: str | None = None
    status: str | None = None
    verification: str | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    assigned_to: int | None = None
    unassigned: bool = False
    # Triage and screening (docs/triage.md): the classifier's damage flag and category, the
    # score range, a deduction code, the recommendation; ``order`` "score" puts the lowest first.
    damage: bool | None = None
    triage_category: str | None = None
    score_min: int | None = None
    score_max: int | None = None
    code: str | None = None
    recommendation: str | None = None
    order: str = "created"


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """The first answer to a submission with an ``Idempotency-Key`` (``response`` encrypted)."""

    key: str
    request_hash: str
    claim_id: str
    response: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    """A file attached to a claim, stored by content hash (:class:`EvidenceStore`)."""

    claim_id: str
    sha256: str
    filename: str
    content_type: str
    size: int
    created_at: datetime
    id: int = 0  # given by the store when added
    flags: str | None = None  # for reviewers, e.g. PDF_ACTIVE_CONTENT (space-separated)


@dataclass(frozen=True, slots=True)
class Message:
    """A claimant's answer to a request for information, or an appeal's reason."""

    claim_id: str
    kind: str  # answer | appeal
    text: str
    created_at: datetime
    id: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    """A staff decision on a claim at one stage; ``username`` is the decider's (when read)."""

    claim_id: str
    stage: Stage
    action: Action
    amount: Decimal | None
    currency: str | None
    reason_code: str | None
    note: str
    cure_deadline: datetime | None
    decided_by: int
    decided_at: datetime
    id: int = 0
    username: str = ""


@dataclass(frozen=True, slots=True)
class StaffAccount:
    """A staff user as stored, with the password hash (never shown)."""

    id: int
    username: str
    password_hash: str
    role: Role
    active: bool
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the append-only audit log: who did what to which entity, before and after."""

    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    id: int = 0
