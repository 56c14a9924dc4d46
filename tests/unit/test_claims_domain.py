"""Claim rules without a database: transitions, loss brackets (DOMAIN.md 2022), masking, checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from makegood.domain.accounts import BillingPeriod, Channel, Subscription, WeeklySales
from makegood.domain.claims import (
    Action,
    Category,
    ClaimantKind,
    IntakeClosed,
    LegalBasis,
    Stage,
    Status,
    check_appeal,
    check_intake,
    decision_stage,
    legal_basis,
    mask_account,
    status_after,
)
from makegood.domain.errors import Conflict, InputError
from makegood.domain.evidence import sniff_evidence
from makegood.domain.policy import load_policy
from makegood.domain.rules import LossBrackets
from makegood.domain.staff import Permission, Role, allowed
from makegood.domain.verification import SalesReport, assess_loss, verify
from makegood.domain.windows import Window
from makegood.services.claims import ClaimInput, validate

RULE_DOC = """
[policy]
id = "sb"
version = 1
name = "2022 small business"
currency = "KRW"

[[rules]]
id = "small-business"
kind = "loss_brackets"
source = "computed"
baseline = { from = "2022-09-03", to = "2022-10-08" }
outage_week = "2022-10-15"
brackets = [ { up_to = "300000", amount = "30000" }, { up_to = "500000", amount = "50000" } ]
"""


@pytest.fixture(scope="module")
def rule() -> LossBrackets:
    found = load_policy(RULE_DOC).rules[0]
    assert isinstance(found, LossBrackets)
    return found


def sales(outage: int, *weeks: tuple[str, int]) -> SalesReport:
    return SalesReport(Decimal(outage), tuple(WeeklySales(date.fromisoformat(d), Decimal(a))
                                              for d, a in weeks))


def test_loss_of_250000_earns_30000(rule: LossBrackets) -> None:
    found = assess_loss(rule, sales(950_000, ("2022-09-03", 1_200_000), ("2022-09-10", 900_000)))
    assert found is not None
    assert (found.loss, found.award, found.code) == (Decimal(250_000), Decimal(30_000),
                                                     "LOSS_BRACKET")


def test_loss_of_exactly_300000_stays_in_the_lower_bracket(rule: LossBrackets) -> None:
    found = assess_loss(rule, sales(700_000, ("2022-09-03", 1_000_000)))
    assert found is not None
    assert found.award == Decimal(30_000)


def test_loss_of_400000_earns_50000(rule: LossBrackets) -> None:
    found = assess_loss(rule, sales(600_000, ("2022-09-03", 1_000_000)))
    assert found is not None
    assert found.award == Decimal(50_000)


def test_loss_above_500000_goes_to_individual_review(rule: LossBrackets) -> None:
    found = assess_loss(rule, sales(100_000, ("2022-09-03", 1_000_000)))
    assert found is not None
    assert (found.award, found.code) == (None, "LOSS_REVIEW")


def test_baseline_weeks_outside_the_policy_range_do_not_count(rule: LossBrackets) -> None:
    assert assess_loss(rule, sales(100_000, ("2022-08-27", 1_000_000))) is None


def test_higher_outage_week_sales_mean_no_loss(rule: LossBrackets) -> None:
    found = assess_loss(rule, sales(2_000_000, ("2022-09-03", 1_000_000)))
    assert found is not None
    assert found.code == "LOSS_NONE"


def test_a_decided_claim_cannot_be_approved_again() -> None:
    with pytest.raises(Conflict):
        decision_stage(Status.APPROVED, Action.APPROVE)


def test_an_appealed_claim_is_decided_at_the_appeal_stage() -> None:
    assert decision_stage(Status.APPEALED, Action.DENY) is Stage.APPEAL


def test_approval_above_the_threshold_needs_a_second_approver() -> None:
    assert status_after(Action.APPROVE, stage=Stage.REVIEW, amount=Decimal(600_000),
                        second_approval_above=Decimal(500_000)) is Status.PENDING_SECOND_APPROVAL
    assert status_after(Action.APPROVE, stage=Stage.REVIEW, amount=Decimal(500_000),
                        second_approval_above=Decimal(500_000)) is Status.APPROVED


def test_a_second_appeal_is_refused() -> None:
    with pytest.raises(Conflict, match="already appealed"):
        check_appeal(Status.DENIED, appealed_before=True)


def test_intake_closes_at_its_deadline() -> None:
    closes = datetime(2022, 11, 6, 15, 0, tzinfo=UTC)
    check_intake(closes - timedelta(seconds=1), opens=None, closes=closes, incident_id="i")
    with pytest.raises(IntakeClosed, match="late claims are not accepted"):
        check_intake(closes, opens=None, closes=closes, incident_id="i")


def test_payout_account_shows_only_its_last_four_characters() -> None:
    assert mask_account("110-123-456789") == "********6789"
    assert mask_account("123") == "***"


def test_auditor_reads_but_does_not_review() -> None:
    assert allowed(Role.AUDITOR, Permission.READ)
    assert not allowed(Role.AUDITOR, Permission.REVIEW)
    assert not allowed(Role.REVIEWER, Permission.SUPERVISE)
    assert allowed(Role.ADMIN, Permission.SUPERVISE)


def test_evidence_type_is_judged_by_content_not_by_name() -> None:
    assert sniff_evidence(b"%PDF-1.7 ...", max_bytes=100) == "application/pdf"
    assert sniff_evidence(b"\x89PNG\r\n\x1a\n....", max_bytes=100) == "image/png"
    with pytest.raises(InputError, match="only PDF"):
        sniff_evidence(b"<html>", max_bytes=100)
    with pytest.raises(InputError, match="limit"):
        sniff_evidence(b"%PDF-" + b"0" * 200, max_bytes=100)


def test_legal_basis_puts_paid_users_under_contract_and_businesses_under_special_damages() -> None:
    assert legal_basis(category=Category.PAID_SERVICE, kind=ClaimantKind.INDIVIDUAL, paid=True,
                       has_proof=False) is LegalBasis.PAID_CONTRACT
    assert legal_basis(category=Category.BUSINESS_SALES, kind=ClaimantKind.SMALL_BUSINESS,
                       paid=False, has_proof=True) is LegalBasis.BUSINESS_SPECIAL_DAMAGES
    assert legal_basis(category=Category.FREE_SERVICE_LOSS, kind=ClaimantKind.INDIVIDUAL,
                       paid=False, has_proof=True) is LegalBasis.FREE_PROVEN_LOSS
    assert legal_basis(category=Category.FREE_SERVICE_LOSS, kind=ClaimantKind.INDIVIDUAL,
                       paid=False, has_proof=False) is LegalBasis.NONE


def at(hour: int, day: int = 15) -> datetime:
    return datetime(2022, 10, day, hour, tzinfo=UTC)


def test_verification_flags_a_claim_for_a_service_the_account_does_not_hold() -> None:
    sub = Subscription(id="s", account_id="a", service="music", plan="p", paid=True,
                       fee=Decimal(10900), currency="KRW", billing_period=BillingPeriod.MONTH,
                       channel=Channel.WEB, start=at(0, 1))
    result = verify(account_id="a", service="messenger", claimed=Window(at(7), at(9)),
                    kind=ClaimantKind.INDIVIDUAL, category=Category.OTHER, subscriptions=[sub],
                    service_windows=(Window(at(6), at(16)),), incident_services=("messenger",),
                    ledger=None, loss_rule=None, sales=None)
    assert result.codes == ("ACCOUNT_FOUND", "SERVICE_NOT_HELD", "OVERLAP", "LEDGER_UNAVAILABLE")
    assert result.result == "flagged"


# ---------------------------------------------------------------------------------------------
# The submission's request fingerprint and control-character check (services/claims.py)


def _claim_input(**changes: object) -> ClaimInput:
    values: dict[str, object] = dict(
        incident_id="kakao-2022-10-15", claimant_kind=ClaimantKind.SMALL_BUSINESS,
        name="가게 주인", email="shop@example.com", phone="010-1234-5678", account_id="acct-shop",
        service="payments", category=Category.BUSINESS_SALES,
        start=datetime(2022, 10, 15, 7, 0, tzinfo=UTC), end=datetime(2022, 10, 15, 9, 0, tzinfo=UTC),
        description="결제가 안 됐습니다", amount=Decimal("250000.5"), currency="KRW", consent=True,
        payout_account="110-123-456789",
        sales=SalesReport(Decimal(950000), (WeeklySales(date(2022, 9, 24), Decimal(1200000)),)))
    values.update(changes)
    return ClaimInput(**values)


@pytest.mark.parametrize("changes", [{}, {"sales": None, "feature": "login"}])
def test_request_fingerprint_is_the_hash_of_the_whole_request(changes: dict[str, object]) -> None:
    import dataclasses
    import hashlib
    import json

    claim = _claim_input(**changes)
    expected = hashlib.sha256(json.dumps(dataclasses.asdict(claim), sort_keys=True,
                                         default=str).encode()).hexdigest()
    assert claim.fingerprint() == expected
    assert _claim_input(**changes, amount=1).fingerprint() != expected


@pytest.mark.parametrize("char", [chr(c) for c in range(32)])
def test_control_characters_are_refused_except_tab_and_line_breaks(char: str) -> None:
    claim = _claim_input(description=f"결제가{char}안 됐습니다")
    if char in "\t\n\r":
        assert validate(claim).description == f"결제가{char}안 됐습니다"
    else:
        with pytest.raises(InputError) as caught:
            validate(claim)
        assert caught.value.field == "description"
