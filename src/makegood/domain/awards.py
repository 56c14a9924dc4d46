"""Awards: what one account gets under one rule, and why, in words a person can read."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum

from makegood.domain.award_text import Capped, Fact, explain
from makegood.domain.money import format_quantity


class AwardKind(StrEnum):
    EXTENSION = "extension"  # more subscription time, in days or hours
    CREDIT = "credit"  # money or points on a future bill / in the account
    REFUND = "refund"  # money back
    CASH = "cash"  # money paid out (the only kind a fund cap scales)
    ITEM = "item"  # a goodwill item: an emoticon pack, a coupon
    REVIEW = "review"  # no automatic award: a person must decide (amount = the loss at stake)


MONEY_KINDS = frozenset({AwardKind.CREDIT, AwardKind.REFUND, AwardKind.CASH})


@dataclass(frozen=True, slots=True)
class Award:
    """One line of a compensation ledger.

    ``counted_seconds`` is the counted outage of the subscription (after clipping to its period);
    ``code`` is the explanation code a batch engine writes in place of the text; ``why`` holds
    the facts the rule found (:mod:`makegood.domain.award_text`), which :meth:`explain` words in
    Korean or English; ``explanation`` is the English sentence ``makegood explain`` prints.
    """

    account_id: str
    subscription_id: str
    service: str
    rule_id: str
    rule_index: int
    kind: AwardKind
    amount: Decimal
    unit: str
    currency: str | None
    counted_seconds: int
    code: str
    why: tuple[Fact, ...] = field(default=(), compare=False)

    @property
    def explanation(self) -> str:
        return explain(self.why, "en")

    def explain(self, lang: str) -> str:
        """Why this award is what it is, in ``lang`` (``ko`` or ``en``)."""
        return explain(self.why, lang)

    @property
    def is_money(self) -> bool:
        return self.kind in MONEY_KINDS and self.currency is not None and self.unit == self.currency

    def describe(self) -> str:
        return f"{self.kind.value} {format_quantity(self.amount, self.unit)}"

    def adjusted(self, amount: Decimal, code: str, by: str, **limits: Decimal) -> Award:
        """This award with a new amount, an extra code and the cap that changed it (``by``:
        ``rule``, ``account`` or ``fund``; ``limit=`` the cap, ``factor=`` the fund's factor)."""
        note = Capped(by, amount, self.unit, limits.get("limit"), limits.get("factor"))
        return replace(self, amount=amount, code=f"{self.code}+{code}", why=(*self.why, note))

    def sort_key(self) -> tuple[int, str, str]:
        return (self.rule_index, self.service, self.subscription_id)
