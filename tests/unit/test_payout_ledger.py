"""The payout ledger's invariants over random sequences of operations (hypothesis stateful)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from makegood.domain import payouts as p
from makegood.domain.bank_details import check_aba_routing, check_korean_account, names_match
from makegood.domain.errors import Conflict, InputError, PermissionDenied
from makegood.domain.payout_batches import (
    Attempt,
    AttemptOutcome,
    BatchHeader,
    BatchStatus,
    check_release,
    next_method,
)
from makegood.domain.payouts import Ledger, Method

amounts = st.integers(min_value=1, max_value=500_000).map(Decimal)


class PayoutLedgerMachine(RuleBasedStateMachine):
    """Awards, top-ups, reserves, batches, bank outcomes and returns in any order."""

    def __init__(self) -> None:
        super().__init__()
        self.book = p.Book()
        self.awards: list[str] = []
        self.batches = 0

    @rule(amount=amounts)
    def add_award(self, amount: Decimal) -> None:
        award_id = f"A{len(self.awards)}"
        self.book.post(p.award(award_id, amount, "KRW"))
        self.awards.append(award_id)

    @rule(amount=amounts)
    def top_up(self, amount: Decimal) -> None:
        self.book.post(p.top_up(amount, "KRW"))

    @rule(amount=st.integers(min_value=-200_000, max_value=200_000).filter(bool).map(Decimal))
    def reserve(self, amount: Decimal) -> None:
        held = self.book.balance(Ledger.RESERVE, "KRW")
        if amount < 0 and -amount > held:
            return
        try:
            self.book.post(p.reserve(amount, "KRW", fund=self.book.balance(Ledger.FUND, "KRW")))
        except Conflict:
            assert amount > self.book.balance(Ledger.FUND, "KRW")

    @precondition(lambda self: self.awards)
    @rule(data=st.data())
    def prepare_batch(self, data: st.DataObject) -> None:
        chosen = data.draw(st.lists(st.sampled_from(self.awards), min_size=1, max_size=4,
                                    unique=True))
        batch_id = f"B{self.batches}"
        self.batches += 1
        for award_id in chosen:
            position = self.book.position(award_id)
            try:
                self.book.post(p.batch(position, batch_id=batch_id))
            except Conflict:
                assert position.in_batch > 0 or position.payable == 0

    @precondition(lambda self: self.awards)
    @rule(data=st.data(), outcome=st.sampled_from(["settle", "reject"]))
    def bank_outcome(self, data: st.DataObject, outcome: str) -> None:
        award_id = data.draw(st.sampled_from(self.awards))
        position = self.book.position(award_id)
        batch_id = next((b for b, members in self.book.open_batches.items()
                         if award_id in members), None)
        if batch_id is None:
            with pytest.raises(Conflict):
                p.settle(position, method=Method.KR_BULK, batch_id="none")
            return
        if outcome == "settle":
            self.book.post(p.settle(position, method=Method.KR_BULK, batch_id=batch_id))
        else:
            self.book.post(p.unbatch(position, batch_id=batch_id, reason="AC01"))

    @precondition(lambda self: self.awards)
    @rule(data=st.data(), part=st.integers(min_value=1, max_value=3))
    def bank_return(self, data: st.DataObject, part: int) -> None:
        award_id = data.draw(st.sampled_from(self.awards))
        position = self.book.position(award_id)
        amount = position.settled * part / 3  # a full or partial return, or too much
        if position.settled == 0:
            return
        self.book.post(p.return_(position, amount, reason="AC04"))
        with pytest.raises(Conflict):
            p.return_(self.book.position(award_id), position.settled + 1, reason="AC04")

    @precondition(lambda self: self.awards)
    @rule(data=st.data())
    def declare_unclaimed(self, data: st.DataObject) -> None:
        position = self.book.position(data.draw(st.sampled_from(self.awards)))
        if position.payable:
            self.book.post(p.unclaim(position, reason="deadline passed"))

    @invariant()
    def ledger_holds(self) -> None:
        p.check_invariants(self.book.entries, money_units=["KRW"])

    @invariant()
    def no_award_in_two_open_batches(self) -> None:
        seen: set[str] = set()
        for members in self.book.open_batches.values():
            assert not (members & seen)
            seen |= members

    @invariant()
    def open_batch_members_are_exactly_the_awards_in_batch(self) -> None:
        in_batch = {a for a, pos in p.positions(self.book.entries).items() if pos.in_batch}
        members = set().union(*self.book.open_batches.values()) if self.book.open_batches else set()
        assert in_batch == members


TestPayoutLedger = PayoutLedgerMachine.TestCase
TestPayoutLedger.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)


def test_an_unbalanced_entry_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="does not balance"):
        p.Entry("award", (p.Line(Ledger.EXPENSE, Decimal(5), "KRW", "A"),
                          p.Line(Ledger.PAYABLE, Decimal(-4), "KRW", "A")))


def test_an_award_cannot_enter_a_second_batch() -> None:
    book = p.Book()
    book.post(p.award("A", Decimal(30000), "KRW"))
    book.post(p.batch(book.position("A"), batch_id="B1"))
    with pytest.raises(Conflict, match="already in an open batch"):
        p.batch(book.position("A"), batch_id="B2")


def test_small_business_bracket_paid_returned_and_repaid_keeps_the_fund_whole() -> None:
    book = p.Book()
    book.post(p.top_up(Decimal(80000), "KRW"))
    book.post(p.award("sb-1", Decimal(30000), "KRW"))  # loss up to 300,000 KRW: 30,000 KRW
    book.post(p.award("sb-2", Decimal(50000), "KRW"))  # over 300,000 up to 500,000: 50,000 KRW
    for aid in ("sb-1", "sb-2"):
        book.post(p.batch(book.position(aid), batch_id="B1"))
        book.post(p.settle(book.position(aid), method=Method.KR_BULK, batch_id="B1"))
    book.post(p.return_(book.position("sb-2"), Decimal(50000), reason="AC04"))
    assert book.position("sb-2").payable == 50000
    assert book.balance(Ledger.FUND, "KRW") == 50000
    p.check_invariants(book.entries, money_units=["KRW"])


def test_a_billing_credit_settles_without_touching_the_fund() -> None:
    book = p.Book()
    book.post(p.award("music-1", Decimal(1500), "KRW"))
    book.post(p.batch(book.position("music-1"), batch_id="C1"))
    book.post(p.settle(book.position("music-1"), method=Method.BILLING_CREDIT, batch_id="C1"))
    assert book.balance(Ledger.FUND, "KRW") == 0
    assert book.balance(Ledger.CREDITS_ISSUED, "KRW") == -1500
    assert book.position("music-1").settled == 1500


def _header(**changes: object) -> BatchHeader:
    values: dict[str, object] = {
        "id": "B1", "incident_id": "kakao-2022", "method": Method.KR_BULK, "currency": "KRW",
        "status": BatchStatus.REVIEWED, "total": Decimal(80000), "count": 2,
        "prepared_by": "kim", "reviewed_by": "kim"}
    values.update(changes)
    return BatchHeader(**values)  # type: ignore[arg-type]


def test_the_reviewer_cannot_release_their_own_batch() -> None:
    with pytest.raises(PermissionDenied, match="four eyes"):
        check_release(_header(), releaser="kim", four_eyes_above=Decimal(0))
    check_release(_header(), releaser="lee", four_eyes_above=Decimal(0))


def test_a_batch_under_the_threshold_may_be_released_by_its_reviewer() -> None:
    check_release(_header(total=Decimal(30000)), releaser="kim", four_eyes_above=Decimal(50000))


def test_a_released_batch_cannot_be_released_again() -> None:
    with pytest.raises(Conflict, match="already released"):
        check_release(_header(status=BatchStatus.RELEASED), releaser="lee",
                      four_eyes_above=None)


T0 = datetime(2023, 3, 2, tzinfo=UTC)


def test_a_returned_transfer_waits_for_new_details_then_is_reissued_once_then_by_check() -> None:
    first = [Attempt(Method.KR_BULK, AttemptOutcome.FAILED, T0)]
    assert next_method(preferred=Method.KR_BULK, attempts=first,
                       details_confirmed_at=None).method is None
    assert next_method(preferred=Method.KR_BULK, attempts=first,
                       details_confirmed_at=T0 + timedelta(days=2)).method is Method.KR_BULK
    second = [*first, Attempt(Method.KR_BULK, AttemptOutcome.FAILED, T0 + timedelta(days=9))]
    assert next_method(preferred=Method.KR_BULK, attempts=second,
                       details_confirmed_at=T0 + timedelta(days=2)).method is Method.CHECK
    third = [*second, Attempt(Method.CHECK, AttemptOutcome.FAILED, T0 + timedelta(days=30))]
    assert next_method(preferred=Method.KR_BULK, attempts=third,
                       details_confirmed_at=T0).method is None


def test_aba_routing_checksum() -> None:
    assert check_aba_routing("021000021") == "021000021"  # JPMorgan Chase, New York
    with pytest.raises(InputError, match="checksum"):
        check_aba_routing("021000022")


def test_korean_account_length_is_checked_per_bank() -> None:
    bank, number = check_korean_account("090", "3333-01-2345678")
    assert (bank.name, number) == ("카카오뱅크", "3333012345678")
    with pytest.raises(InputError, match="13 digits, not 12"):
        check_korean_account("090", "3333-01-234567")
    with pytest.raises(InputError, match="bank_code"):
        check_korean_account("999", "123456789012")


def test_holder_names_compare_without_case_spaces_or_normalization_form() -> None:
    decomposed = "\u1100\u1175\u11b7\u1109\u1165\u11bc\u1112\u1167\u11ab"  # 김성현 as jamo (NFD)
    assert names_match(decomposed, "김 성현")
    assert names_match("Jane  DOE", "jane doe")
    assert not names_match("Jane Doe", "John Doe")
