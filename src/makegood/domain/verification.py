"""Verification of a claim: the facts we hold (accounts and their subscriptions, the incident's
windows, the automatic-compensation ledger, the policy's loss brackets) turned into a list of
:class:`Check` results, each with a reason code a claimant or a court can read, and a suggested
amount.

Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from makegood.domain.accounts import Account, Segment, Subscription, WeeklySales
from makegood.domain.claims import (
    Category,
    ClaimantKind,
)
from makegood.domain.money import format_amount
from makegood.domain.rules import LossBrackets
from makegood.domain.windows import Window, intersect, total

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
