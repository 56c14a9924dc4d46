"""Claims: what a person files after an outage, the checks it gets, and the states it moves through.

A claim names a claimant (individual, small business, enterprise), an operator account, a service,
a category of damage, a time range and an amount. Verification turns the facts we hold (accounts
and their subscriptions, the incident's windows, the automatic-compensation ledger, the policy's
loss brackets) into a list of :class:`Check` results, each with a reason code a claimant or a
court can read. Staff then decide: approve, deny (with a reason code) or request information
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from makegood.domain.accounts import Account, Segment, Subscription, WeeklySales
from makegood.domain.errors import Conflict, InputError, PermissionDenied
from makegood.domain.money import format_amount
from makegood.domain.rules import LossBrackets
from makegood.domain.windows import Window, intersect, require_aware, total


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


# ---------------------------------------------------------------------------------------------
# Verification


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Check:
    """One verification check: what was checked, the result, a reason code and a sentence."""

    name: str
    outcome: Outcome
    code: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "outcome": self.outcome.value, "code": self.code,
                "detail": self.detail}


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """One row of the automatic-compensation ledger for this account."""

    subscription_id: str
    service: str
    rule_id: str
    kind: str
    amount: Decimal
    unit: str
    code: str


@dataclass(frozen=True, slots=True)
class SalesReport:
    """Weekly sales a small business reports: the outage week and weeks of a baseline range."""

    outage_week: Decimal
    baseline: tuple[WeeklySales, ...]


@dataclass(frozen=True, slots=True)
class LossAssessment:
    loss: Decimal
    award: Decimal | None  # None: above the top bracket, individual review
    code: str
    detail: str


def assess_loss(rule: LossBrackets, sales: SalesReport, *, account_id: str = "claimant"
                ) -> LossAssessment | None:
    """The loss from reported sales and its bracket under the policy's :class:`LossBrackets` rule.

    The outage-week figure is taken for the rule's outage week; baseline weeks outside the rule's
    baseline range are ignored. Worked example (2022): best baseline week 1,200,000 KRW, outage
    week 950,000 -> loss 250,000 <= 300,000 -> 30,000 KRW. ``None`` when no baseline week counts.
    """
    if rule.source != "computed" or rule.outage_week is None:
        return None
    weeks = (*sales.baseline, WeeklySales(rule.outage_week, sales.outage_week))
    account = Account(id=account_id, segment=Segment.SMALL_BUSINESS, subscriptions=(),
                      weekly_sales=weeks)
    found = rule.loss(account)
    if found is None:
        return None
    loss, text = found
    if loss <= 0:
        return LossAssessment(loss, Decimal(0), "LOSS_NONE", f"{text}: no loss")
    for bracket in rule.brackets:
        if loss <= bracket.up_to:
            return LossAssessment(
                loss, bracket.amount, "LOSS_BRACKET",
                f"{text} <= {format_amount(bracket.up_to)} -> {format_amount(bracket.amount)}")
    return LossAssessment(loss, None, "LOSS_REVIEW",
                          f"{text} > {format_amount(rule.brackets[-1].up_to)} -> individual review")


@dataclass(frozen=True, slots=True)
class Verification:
    checks: tuple[Check, ...]
    paid: bool | None
    suggested_award: Decimal | None
    loss: Decimal | None

    @property
    def result(self) -> str:
        """``verified`` when no check failed, else ``flagged``."""
        return "flagged" if any(c.outcome is Outcome.FAIL for c in self.checks) else "verified"

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.checks)


def verify(
    *,
    account_id: str,
    service: str,
    claimed: Window,
    kind: ClaimantKind,
    category: Category,
    subscriptions: Sequence[Subscription] | None,
    service_windows: Sequence[Window],
    incident_services: Iterable[str],
    ledger: Sequence[LedgerLine] | None,
    loss_rule: LossBrackets | None,
    sales: SalesReport | None,
) -> Verification:
    """Every check for one claim, from facts gathered by the caller.

    ``subscriptions`` is ``None`` when the account does not exist; ``ledger`` is ``None`` when the
    incident has no ledger to compare against.
    """
    checks: list[Check] = []
    held: list[Subscription] = []
    if subscriptions is None:
        checks.append(Check("account", Outcome.FAIL, "ACCOUNT_UNKNOWN",
                            f"no account {account_id!r} in the operator's records"))
    else:
        checks.append(Check("account", Outcome.PASS, "ACCOUNT_FOUND",
                            f"account {account_id!r} exists"))
        held = [s for s in subscriptions if s.service == service
                and s.start < claimed.end and (s.end is None or s.end > claimed.start)]
        if held:
            checks.append(Check("service", Outcome.PASS, "SERVICE_HELD",
                                f"the account held {service!r} during the claimed time "
                                f"(subscription {held[0].id})"))
        else:
            checks.append(Check("service", Outcome.FAIL, "SERVICE_NOT_HELD",
                                f"the account held no subscription to {service!r} during the "
                                "claimed time"))
    if service not in set(incident_services):
        checks.append(Check("overlap", Outcome.FAIL, "SERVICE_NOT_AFFECTED",
                            f"the incident did not affect {service!r}"))
    else:
        overlap = total(intersect([claimed], service_windows))
        if overlap.total_seconds() > 0:
            checks.append(Check("overlap", Outcome.PASS, "OVERLAP",
                                f"the claimed time overlaps the outage by "
                                f"{int(overlap.total_seconds()) // 60} min"))
        else:
            checks.append(Check("overlap", Outcome.FAIL, "NO_OVERLAP",
                                "the claimed time does not overlap the service's outage"))
    paid: bool | None = None
    if held:
        paid = any(s.paid for s in held)
        checks.append(Check("paid", Outcome.INFO, "PAID" if paid else "FREE",
                            "a paid subscription" if paid else "a free service"))
    if ledger is None:
        checks.append(Check("ledger", Outcome.INFO, "LEDGER_UNAVAILABLE",
                            "no automatic-compensation ledger for this incident"))
    else:
        lines = [line for line in ledger if line.service == service and line.kind != "review"]
        if lines:
            given = ", ".join(f"{line.kind} {format_amount(line.amount)} {line.unit} "
                              f"(rule {line.rule_id})" for line in lines)
            outcome = Outcome.FAIL if category is Category.PAID_SERVICE else Outcome.INFO
            checks.append(Check("ledger", outcome, "LEDGER_COVERED",
                                f"already compensated automatically: {given}"))
        else:
            checks.append(Check("ledger", Outcome.PASS, "LEDGER_NOT_COVERED",
                                "no automatic compensation for this service"))
    suggested: Decimal | None = None
    loss: Decimal | None = None
    if kind is ClaimantKind.SMALL_BUSINESS:
        if loss_rule is None:
            checks.append(Check("loss", Outcome.INFO, "LOSS_NO_RULE",
                                "the policy has no loss brackets"))
        elif sales is None:
            checks.append(Check("loss", Outcome.FAIL, "LOSS_NO_SALES",
                                "no weekly sales were submitted"))
        else:
            assessment = assess_loss(loss_rule, sales, account_id=account_id)
            if assessment is None:
                checks.append(Check("loss", Outcome.FAIL, "LOSS_NO_BASELINE",
                                    "no submitted week falls in the policy's baseline range"))
            else:
                loss = assessment.loss
                suggested = assessment.award
                outcome = Outcome.FAIL if assessment.code == "LOSS_NONE" else Outcome.PASS
                if assessment.code == "LOSS_REVIEW":
                    outcome = Outcome.INFO
                checks.append(Check("loss", outcome, assessment.code, assessment.detail))
    return Verification(tuple(checks), paid, suggested, loss)


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


# ---------------------------------------------------------------------------------------------
# Staff roles


class Role(StrEnum):
    REVIEWER = "reviewer"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"  # reads everything, changes nothing
    ADMIN = "admin"


class Permission(StrEnum):
    READ = "read"  # the queue, claims, the audit trail, exports
    REVIEW = "review"  # assign to oneself, verify, approve, deny, request information
    SUPERVISE = "supervise"  # appeals, second approvals, assigning others, bulk import
    ADMIN = "admin"  # users, incidents, policies, accounts, intake windows


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.AUDITOR: frozenset({Permission.READ}),
    Role.REVIEWER: frozenset({Permission.READ, Permission.REVIEW}),
    Role.SUPERVISOR: frozenset({Permission.READ, Permission.REVIEW, Permission.SUPERVISE}),
    Role.ADMIN: frozenset(Permission),
}


def allowed(role: Role, permission: Permission) -> bool:
    return permission in _GRANTS[role]


# ---------------------------------------------------------------------------------------------
# Sign-in throttling

FREE_SIGN_IN_FAILURES = 5  # failures within the window before back-off starts
SIGN_IN_WINDOW_SECONDS = 15 * 60
MAX_SIGN_IN_WAIT_SECONDS = 15 * 60


def sign_in_wait(failures: Sequence[datetime], now: datetime) -> int:
    """Seconds a user name must wait before the next sign-in attempt, from its recent failures.

    Five failures within 15 minutes are free (typos); then each further failure doubles the wait
    from 1 s, up to 15 minutes, counted from the last failure. The same for a known and an
    unknown name, so the wait tells nothing about which names exist.
    """
    recent = sorted(f for f in failures if (now - f).total_seconds() < SIGN_IN_WINDOW_SECONDS)
    extra = len(recent) - FREE_SIGN_IN_FAILURES
    if extra < 0:
        return 0
    wait = min(2 ** extra, MAX_SIGN_IN_WAIT_SECONDS)
    left = wait - (now - recent[-1]).total_seconds()
    return max(0, int(left + 0.999))
