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

    def monthly_fee(self) -> Decimal:
        """The fee expressed per month (a yearly fee / 12, a weekly fee x 52 / 12 ...)."""
        return {
            BillingPeriod.MONTH: self.fee,
            BillingPeriod.YEAR: self.fee / 12,
            BillingPeriod.WEEK: self.fee * 52 / 12,
            BillingPeriod.DAY: self.fee * 365 / 12,
        }[self.billing_period]


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
