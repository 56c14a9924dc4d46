"""Account-scoped kinds, evaluated once per account on its first affected matching
subscription: a flat goodwill item and loss brackets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import ClassVar

from makegood.domain import award_text as why
from makegood.domain.accounts import Account
from makegood.domain.awards import Award, AwardKind
from makegood.domain.document import Table
from makegood.domain.money import format_amount, format_quantity
from makegood.domain.rules.base import Exposure, Rule, kind
from makegood.domain.windows import ZERO

# ---------------------------------------------------------------------------------------------
# 6. A flat goodwill item


@kind
@dataclass(frozen=True, kw_only=True)
class Goodwill(Rule):
    """A flat goodwill item for every affected account (2022: a 3-emoticon pack, coupons).

    Source: DOMAIN.md, free users: "a 3-emoticon pack for every user (17.3 million downloads)".
    Worked example: a free messenger user down 10 h -> 1 emoticon-pack-3.
    """

    kind: ClassVar[str] = "goodwill"
    scope: ClassVar[str] = "account"
    item: str
    quantity: Decimal

    @classmethod
    def parse(cls, t: Table, common: dict[str, object]) -> Rule:
        return cls(item=t.text("item"), quantity=t.decimal("quantity", Decimal(1)),
                   **common)  # type: ignore[arg-type]

    def evaluate(self, e: Exposure) -> Award | None:
        if e.counted <= ZERO:
            return None
        body = why.Goodwill(self.quantity, self.item)
        return self.award(e, AwardKind.ITEM, self.quantity, self.item, body, "GOODWILL")

    def terms(self) -> str:
        return f"{format_quantity(self.quantity, self.item)} once per affected account"


# ---------------------------------------------------------------------------------------------
# 7. Loss brackets


@dataclass(frozen=True, slots=True)
class Bracket:
    up_to: Decimal
    amount: Decimal


@kind
@dataclass(frozen=True, kw_only=True)
class LossBrackets(Rule):
    """A fixed payment by bracket of a reported or computed loss; above the top, a review.

    Source: the 2022 small-business plan (DOMAIN.md): loss <= 300,000 KRW -> 30,000;
    <= 500,000 -> 50,000; above -> individual review. The computed loss is the best
    Saturday-to-Friday week of the baseline range minus the outage week.
    Worked example: best September week 1,200,000, outage week 950,000 -> loss 250,000
    -> 30,000 KRW.
    """

    kind: ClassVar[str] = "loss_brackets"
    scope: ClassVar[str] = "account"
    source: str
    baseline_from: date | None
    baseline_to: date | None
    outage_week: date | None
    brackets: tuple[Bracket, ...]

    @classmethod
    def parse(cls, t: Table, common: dict[str, object]) -> Rule:
        source = t.text("source", "computed", choices=("computed", "reported"))
        baseline = t.table("baseline", required=source == "computed")
        b_from = baseline.date("from") if baseline else None
        b_to = baseline.date("to") if baseline else None
        if baseline:
            baseline.finish()
            if b_to is not None and b_from is not None and b_to < b_from:
                raise t.fail("baseline ends before it starts", "baseline.to")
        brackets = []
        for sub in t.tables("brackets", required=True):
            brackets.append(Bracket(sub.decimal("up_to"), sub.decimal("amount")))
            sub.finish()
        if not brackets:
            raise t.fail("needs at least one bracket", "brackets")
        return cls(
            source=source,
            baseline_from=b_from,
            baseline_to=b_to,
            outage_week=t.date("outage_week") if source == "computed" else None,
            brackets=tuple(sorted(brackets, key=lambda b: b.up_to)),
            **common,  # type: ignore[arg-type]
        )

    def loss(self, account: Account) -> tuple[Decimal, str] | None:
        """The loss and how it was found, in English (claims review)."""
        found = self.measured_loss(account, "")
        return None if found is None else (found.loss, why.loss_text(found, "en"))

    def measured_loss(self, account: Account, currency: str) -> why.Loss | None:
        """The account's loss: as reported, or the best baseline week minus the outage week."""
        if self.source == "reported":
            if account.reported_loss is None:
                return None
            return why.Loss(account.reported_loss, currency)
        assert self.outage_week is not None
        assert self.baseline_from is not None
        assert self.baseline_to is not None
        baseline = [w for w in account.weekly_sales
                    if self.baseline_from <= w.week_start <= self.baseline_to]
        outage = account.sales_of_week(self.outage_week)
        if not baseline or outage is None:
            return None
        best = max(baseline, key=lambda w: (w.amount, w.week_start))
        return why.Loss(best.amount - outage, currency, best.week_start, best.amount,
                        self.outage_week, outage)

    def evaluate(self, e: Exposure) -> Award | None:
        if e.counted <= ZERO:
            return None
        found = self.measured_loss(e.account, e.currency)
        if found is None or found.loss <= 0:
            return None
        for bracket in self.brackets:
            if found.loss <= bracket.up_to:
                body = why.Bracketed(found, bracket.up_to, bracket.amount)
                return self.award(e, AwardKind.CASH, bracket.amount, e.currency, body, "LOSS_BRACKET")
        body = why.Bracketed(found, self.brackets[-1].up_to, None)
        return self.award(e, AwardKind.REVIEW, found.loss, e.currency, body, "LOSS_REVIEW")

    def terms(self) -> str:
        brackets = ", ".join(f"<= {format_amount(b.up_to)} -> {format_amount(b.amount)}"
                             for b in self.brackets)
        what = ("best baseline week minus the outage week" if self.source == "computed"
                else "the reported loss")
        return f"cash by bracket of the loss ({what}): {brackets}; above: individual review"
