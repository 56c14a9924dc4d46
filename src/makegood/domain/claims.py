"""Claims: what a person files after an outage, the checks it gets, and the states it moves through.

A claim names a claimant (individual, small business, enterprise), an operator account, a service,
a category of damage, a time range and an amount. Verification (:mod:`makegood.domain.verification`)
turns the facts we hold into checks with reason codes a claimant or a court can read. Staff
(:mod:`makegood.domain.staff`) then decide: approve, deny (with a reason code) or request information
(with a cure deadline); a denied claimant may appeal once, and a supervisor decides the appeal.

The state machine::

    submitted ──approve──▶ approved                   (amount <= second-approval threshold)
        │     ──approve──▶ pending_second_approval ──approve (another person, same amount)──▶ approved
        │                                            ──send_back──▶ submitted (reviewed again)
        │                                            ──deny──▶ denied
        │     ──deny─────▶ denied ──appeal (once)──▶ appealed ──approve/deny (supervisor)──▶ ...
        │                  (an appeal approved above the threshold also waits for a second person)
        └─────request_info──▶ info_requested ──answer (before the deadline)──▶ submitted
                                              ──approve / deny──▶ ...

Standard library only.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from makegood.domain.errors import Conflict, InputError, PermissionDenied
from makegood.domain.money import format_amount
from makegood.domain.windows import Window, require_aware


class ClaimantKind(StrEnum):
    INDIVIDUAL = "individual"
    SMALL_BUSINESS = "small_business"
    ENTERPRISE = "enterprise"


class Category(StrEnum):
    """The kinds of damage reported in 2022 (DOMAIN.md), plus "not a damage claim" (67.8 %)."""

    PAID_SERVICE = "paid_service"  # a paid service was interrupted
    FREE_SERVICE_LOSS = "free_service_loss"  # money lost through a free service
    BUSINESS_SALES = "business_sales"  # a business lost sales
    MISSED_COMMUNICATION = "missed_communication"  # a missed interview invitation, bounced mail
    PAYMENT_FAILED = "payment_failed"
    PARTNER_LOGIN = "partner_login"  # a partner site's login through the operator failed
    OTHER = "other"  # other, or not a damage claim (a question, a complaint)


class Status(StrEnum):
    SUBMITTED = "submitted"
    INFO_REQUESTED = "info_requested"
    PENDING_SECOND_APPROVAL = "pending_second_approval"
    APPROVED = "approved"
    DENIED = "denied"
    APPEALED = "appealed"


class Action(StrEnum):
    APPROVE = "approve"
    DENY = "deny"
    REQUEST_INFO = "request_info"
    SEND_BACK = "send_back"  # a second approver returns the claim to review instead of confirming


class DenyReason(StrEnum):
    """Why a claim is denied; the code goes on the notice and in the audit trail."""

    NOT_A_CUSTOMER = "NOT_A_CUSTOMER"
    SERVICE_NOT_HELD = "SERVICE_NOT_HELD"
    OUTSIDE_OUTAGE = "OUTSIDE_OUTAGE"
    ALREADY_COMPENSATED = "ALREADY_COMPENSATED"
    NO_PROOF_OF_LOSS = "NO_PROOF_OF_LOSS"
    CURE_EXPIRED = "CURE_EXPIRED"
    DUPLICATE = "DUPLICATE"
    FRAUD = "FRAUD"
    NOT_A_CLAIM = "NOT_A_CLAIM"
    OTHER = "OTHER"


class Stage(StrEnum):
    REVIEW = "review"
    SECOND_APPROVAL = "second_approval"
    APPEAL = "appeal"


class IntakeClosed(InputError):
    """A claim arrived outside its incident's intake window."""


class LegalBasis(StrEnum):
    """How counsel groups claimants (DOMAIN.md, lawyers' view in 2022)."""

    PAID_CONTRACT = "paid_contract"  # paid users: a contract claim
    FREE_PROVEN_LOSS = "free_service_proven_loss"  # free users: only with proof of damage
    BUSINESS_SPECIAL_DAMAGES = "business_special_damages"  # needs proof of foreseeability
    NONE = "none"  # not a damage claim, or no basis found


# ---------------------------------------------------------------------------------------------
# Transitions

_TRANSITIONS: dict[tuple[Status, Action], Stage] = {
    (Status.SUBMITTED, Action.APPROVE): Stage.REVIEW,
    (Status.SUBMITTED, Action.DENY): Stage.REVIEW,
    (Status.SUBMITTED, Action.REQUEST_INFO): Stage.REVIEW,
    (Status.INFO_REQUESTED, Action.APPROVE): Stage.REVIEW,
    (Status.INFO_REQUESTED, Action.DENY): Stage.REVIEW,
    (Status.PENDING_SECOND_APPROVAL, Action.APPROVE): Stage.SECOND_APPROVAL,
    (Status.PENDING_SECOND_APPROVAL, Action.DENY): Stage.SECOND_APPROVAL,
    (Status.PENDING_SECOND_APPROVAL, Action.SEND_BACK): Stage.SECOND_APPROVAL,
    (Status.APPEALED, Action.APPROVE): Stage.APPEAL,
    (Status.APPEALED, Action.DENY): Stage.APPEAL,
}


def decision_stage(status: Status, action: Action) -> Stage:
    """The stage a decision belongs to, or :class:`Conflict` when the claim's state forbids it."""
    try:
        return _TRANSITIONS[(status, action)]
    except KeyError:
        raise Conflict(f"a claim in state {status.value!r} cannot take the action {action.value!r}"
                       ) from None


def status_after(action: Action, *, stage: Stage, amount: Decimal | None,
                 second_approval_above: Decimal | None) -> Status:
    """The new status after a permitted decision."""
    if action is Action.DENY:
        return Status.DENIED
    if action is Action.REQUEST_INFO:
        return Status.INFO_REQUESTED
    if action is Action.SEND_BACK:
        return Status.SUBMITTED
    if (stage in (Stage.REVIEW, Stage.APPEAL) and second_approval_above is not None
            and amount is not None and amount > second_approval_above):
        return Status.PENDING_SECOND_APPROVAL
    return Status.APPROVED


def check_second_approval(*, first_amount: Decimal | None, amount: Decimal | None,
                          first_by: int | None, actor_id: int) -> Decimal:
    """The amount a second approval confirms: the first approver's, by another person.

    Four eyes means two people agree on one amount; a second approver who wants another amount
    sends the claim back to review (``send_back``) instead.
    """
    if first_by is not None and first_by == actor_id:
        raise PermissionDenied("the second approval must come from another person")
    if first_amount is None:
        raise Conflict("this claim has no first approval to confirm")
    if amount is not None and amount != first_amount:
        raise Conflict(f"the second approval confirms the reviewed amount "
                       f"{format_amount(first_amount)}; to change it, send the claim back to "
                       "review (send_back)")
    return first_amount


def check_appeal(status: Status, *, appealed_before: bool) -> None:
    if status is not Status.DENIED:
        raise Conflict(f"only a denied claim can be appealed; this claim is {status.value!r}")
    if appealed_before:
        raise Conflict("this claim was already appealed once; a second appeal is not possible")


def check_answer(status: Status, *, deadline: datetime | None, now: datetime) -> None:
    if status is not Status.INFO_REQUESTED:
        raise Conflict(f"no information was requested; this claim is {status.value!r}")
    if deadline is not None and now >= deadline:
        raise Conflict(f"the deadline to answer passed on {deadline.isoformat()}")


def check_intake(now: datetime, *, opens: datetime | None, closes: datetime | None,
                 incident_id: str) -> None:
    if opens is not None and now < opens:
        raise IntakeClosed(f"claims for incident {incident_id!r} are accepted from "
                           f"{opens.isoformat()}", field="incident_id")
    if closes is not None and now >= closes:
        raise IntakeClosed(f"claims for incident {incident_id!r} closed on {closes.isoformat()}; "
                           "late claims are not accepted", field="incident_id")


# ---------------------------------------------------------------------------------------------
# What a claimant types

# Years a claimed time may name at all: every database driver reads them back, and moving them to
# UTC cannot overflow (0001-01-01T00:00:00+09:00 would). The incident's own years narrow it further.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2200
# Characters that show nothing: format characters (zero-width space, BOM, bidi marks) are found
# by category; these fillers are letters by category but print as blanks.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


def claimed_instant(value: datetime, *, field: str) -> datetime:
    """A claimed instant in UTC, refused when naive or outside the years any store reads back."""
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise InputError(f"{value.isoformat()} is not a plausible time for a claim (years "
                         f"{EARLIEST_YEAR} to {LATEST_YEAR})", field=field)
    return require_aware(value, field=field)


def check_claimed_period(claimed: Window, *, incident_span: Window | None) -> None:
    """The claimed time lies within the incident's year, give or take a year."""
    if incident_span is None:
        return
    first, last = incident_span.start.year - 1, incident_span.end.year + 1
    if claimed.start.year < first:
        raise InputError(f"the claimed time starts in {claimed.start.year}; claims for this "
                         f"incident name times from {first} to {last}", field="start")
    if claimed.end.year > last:
        raise InputError(f"the claimed time ends in {claimed.end.year}; claims for this "
                         f"incident name times from {first} to {last}", field="end")


def is_blank(text: str) -> bool:
    """True when ``text`` shows nothing: whitespace, zero-width and format characters, fillers."""
    return all(c.isspace() or c in _BLANK_LETTERS or unicodedata.category(c) in ("Cf", "Cc")
               for c in text)


_AMOUNT = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def parse_amount(value: object, *, field: str = "amount") -> Decimal:
    """An amount of money as a claimant may write it: ASCII digits with an optional fraction.

    Refused: signs (``-0`` included), digit group separators (``1_000``), padding, digits of
    other scripts (``٣٤``), exponents, NaN and infinities. JSON numbers are taken as written.
    """
    if isinstance(value, bool):
        raise InputError("is not an amount", field=field)
    if isinstance(value, int):
        if value < 0:
            raise InputError("must not be negative", field=field)
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")) or value < 0 or (
                value == 0 and str(value).startswith("-")):
            raise InputError("is not a non-negative amount", field=field)
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite() or value.is_signed():
            raise InputError("is not a non-negative amount", field=field)
        return value
    if isinstance(value, str) and _AMOUNT.match(value):
        return Decimal(value)
    raise InputError(f"{str(value)[:40]!r} is not an amount (digits, optionally a point and "
                     "more digits, such as 30000 or 12.50)", field=field)


# ---------------------------------------------------------------------------------------------
# Masking


def mask_account(number: str) -> str:
    """A payout account shown to anyone: all but the last four digits/letters hidden."""
    chars = [c for c in number if c.isalnum()]
    if len(chars) <= 4:
        return "*" * len(chars)
    return "*" * (len(chars) - 4) + "".join(chars[-4:])


_PAYOUT = re.compile(r"^[0-9A-Za-z][0-9A-Za-z \-]{4,40}$")


def check_payout(text: str) -> str:
    value = text.strip()
    if not _PAYOUT.match(value) or sum(c.isdigit() for c in value) < 5:
        raise InputError("is not a bank account number (digits, letters, spaces or dashes)",
                         field="payout_account")
    return value


def legal_basis(*, category: Category, kind: ClaimantKind, paid: bool | None,
                has_proof: bool) -> LegalBasis:
    """Group a claim for counsel: paid contract, free service with proven loss, business damages."""
    if category is Category.OTHER:
        return LegalBasis.NONE
    if kind is not ClaimantKind.INDIVIDUAL and category is Category.BUSINESS_SALES:
        return LegalBasis.BUSINESS_SPECIAL_DAMAGES
    if paid:
        return LegalBasis.PAID_CONTRACT
    if has_proof:
        return LegalBasis.FREE_PROVEN_LOSS
    return LegalBasis.NONE


def parse_week(text: str, *, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{text!r} is not a date (YYYY-MM-DD)", field=field) from None
