"""Awards: what one account gets under one rule, and why, in words a person can read."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

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
    ``code`` is the explanation code a batch engine writes in place of the text; ``explanation``
    is the sentence ``makegood explain`` prints.
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
    explanation: str

    @property
    def is_money(self) -> bool:
        return self.kind in MONEY_KINDS and self.currency is not None and self.unit == self.currency

    def describe(self) -> str:
        return f"{self.kind.value} {format_quantity(self.amount, self.unit)}"

    def adjusted(self, amount: Decimal, code: str, note: str) -> Award:
        """This award with a new amount, an extra code and a sentence saying why."""
        return replace(self, amount=amount, code=f"{self.code}+{code}",
                       explanation=f"{self.explanation}; {note}")

    def sort_key(self) -> tuple[int, str, str]:
        return (self.rule_index, self.service, self.subscription_id)
