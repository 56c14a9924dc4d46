"""Accounts and their subscriptions: who was a customer of what, on which terms, when.

An account holds subscriptions (service, plan, paid or free, fee and billing period, sales
channel, subscription period) and a segment. A small-business account may carry weekly sales
figures, from which a policy computes its loss (best baseline week minus the outage week), and
a loss it reported itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from makegood.domain.errors import DataError
from makegood.domain.incident import nfc
from makegood.domain.windows import require_aware


class Segment(StrEnum):
    INDIVIDUAL = "individual"
    SMALL_BUSINESS = "small_business"
    ENTERPRISE = "enterprise"


class Channel(StrEnum):
    WEB = "web"
    APP_STORE = "app_store"
    OTHER = "other"


class BillingPeriod(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


@dataclass(frozen=True, slots=True)
class Subscription:
    """One subscription of one account to one service; ``end`` ``None`` means still running."""

    id: str
    account_id: str
    service: str
    plan: str
    paid: bool
    fee: Decimal
    currency: str
    billing_period: BillingPeriod
    channel: Channel
    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.fee < 0:
            raise DataError(f"fee {self.fee} is negative", field="fee")
        if self.paid is False and self.fee != 0:
            raise DataError(f"a free subscription has fee {self.fee}; free means fee 0",
                            field="fee")
        object.__setattr__(self, "service", nfc(self.service))
        object.__setattr__(self, "plan", nfc(self.plan))
        object.__setattr__(self, "start", require_aware(self.start, field="start"))
        if self.end is not None:
            end = require_aware(self.end, field="end")
            if end <= self.start:
                raise DataError(
                    f"subscription ends ({end.isoformat()}) at or before it starts "
                    f"({self.start.isoformat()})",
                    field="end",
                )
            object.__setattr__(self, "end", end)

    def monthly_fee(self) -> Fraction:
        """The fee per month, exactly (a yearly fee / 12, a weekly fee x 52 / 12 ...)."""
        return monthly_fee(self.fee, self.billing_period)


MONTHS_PER_PERIOD: dict[BillingPeriod, Fraction] = {
    BillingPeriod.MONTH: Fraction(1),
    BillingPeriod.YEAR: Fraction(1, 12),
    BillingPeriod.WEEK: Fraction(52, 12),
    BillingPeriod.DAY: Fraction(365, 12),
}


def monthly_fee(fee: Decimal, period: BillingPeriod | str) -> Fraction:
    """A fee per billing period expressed per month, as an exact fraction.

    Kept exact so that the one rounding a policy states is the only rounding: a yearly fee of
    1,116 KRW is 93 a month, and 15 days of it in a 31-day month is exactly 45 (not 44.999...).
    """
    return Fraction(fee) * MONTHS_PER_PERIOD[BillingPeriod(period)]


@dataclass(frozen=True, slots=True)
class WeeklySales:
    """Sales of the week starting on ``week_start`` (a Saturday in the 2022 plan)."""

    week_start: date
    amount: Decimal

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    segment: Segment
    subscriptions: tuple[Subscription, ...]
    weekly_sales: tuple[WeeklySales, ...] = field(default=())
    reported_loss: Decimal | None = None

    def sales_of_week(self, week_start: date) -> Decimal | None:
        for week in self.weekly_sales:
            if week.week_start == week_start:
                return week.amount
        return None
