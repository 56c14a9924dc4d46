"""Remedies measured over calendar periods: SLA credit tiers by monthly uptime, and an amount
per local day after a grace period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar

from makegood.domain import award_text as why
from makegood.domain.awards import Award, AwardKind
from makegood.domain.document import Table
from makegood.domain.local_calendar import (
    GRACES,
    WorkingCalendar,
    days_after_grace,
    grace_end,
    last_date,
    local_date,
    split_months,
)
from makegood.domain.money import Rounding, format_amount
from makegood.domain.rules.base import Exposure, Rule, kind, parse_rounding
from makegood.domain.windows import ZERO

# ---------------------------------------------------------------------------------------------
# 4. SLA credit tiers by monthly uptime


@dataclass(frozen=True, slots=True)
class Tier:
    below: Decimal  # uptime percentage strictly below which the tier applies
    percent: Decimal  # credit as a percentage of the month's bill


@kind
@dataclass(frozen=True, kw_only=True)
class SlaTiers(Rule):
    """Service credit as a share of the monthly bill by monthly uptime tier (cloud SLAs).

    Source: AWS compute (< 99.99 -> 10 %, < 99.0 -> 30 %, < 95.0 -> 100 %), AWS S3 Standard
    (< 99.9 -> 10 %, < 99.0 -> 25 %, < 95.0 -> 100 %), Google Cloud (10 / 25 / 50 %, capped at
    50 %); AWS pays no credit under 1 USD (DOMAIN.md). Each calendar month of the policy's time
    zone is judged on its own. Worked example: 10 h down in a 30-day month: uptime
    98.6111 % < 99.0 -> 30 % of a 200 USD bill = 60 USD (AWS compute).
    """

    kind: ClassVar[str] = "sla_tiers"
    tiers: tuple[Tier, ...]
    max_percent: Decimal | None
    min_credit: Decimal
    rounding: Rounding

    @classmethod
    def parse(cls, t: Table, common: dict[str, object]) -> Rule:
        tiers = []
        for sub in t.tables("tiers", required=True):
            below = sub.decimal("below")
            percent = sub.decimal("percent")
            if not Decimal(0) < below <= Decimal(100):
                raise sub.fail(f"{below} must be a percentage above 0 and at most 100", "below")
            sub.finish()
            tiers.append(Tier(below, percent))
        if not tiers:
            raise t.fail("needs at least one tier", "tiers")
        return cls(
            tiers=tuple(sorted(tiers, key=lambda x: x.below, reverse=True)),
            max_percent=t.decimal("max_percent", None),
            min_credit=t.decimal("min_credit", Decimal(0)),
            rounding=parse_rounding(t, "round", Rounding(Decimal("0.01"), "half_up")),
            **common,  # type: ignore[arg-type]
        )

    def percent_for(self, down_seconds: int, month_seconds: int) -> Decimal:
        """The credit percentage; ``uptime < below`` is tested exactly, without division."""
        up = (month_seconds - down_seconds) * 100
        percent = Decimal(0)
        for tier in self.tiers:  # most lenient first; the last one that holds wins
            if up < tier.below * month_seconds:
                percent = tier.percent
        if self.max_percent is not None:
            percent = min(percent, self.max_percent)
        return percent

    def evaluate(self, e: Exposure) -> Award | None:
        if e.counted <= ZERO:
            return None
        fee = e.subscription.monthly_fee()
        total_credit = Decimal(0)
        parts: list[why.SlaMonth] = []
        for month, down in sorted(split_months(e.windows, e.tz).items()):
            month_seconds = month.seconds
            down_seconds = int(down.total_seconds())
            percent = self.percent_for(down_seconds, month_seconds)
            uptime = (Decimal(month_seconds - down_seconds) * 100 / month_seconds).quantize(
                Decimal("0.0001"))
            credit = self.month_credit(fee, percent)
            total_credit += credit
            parts.append(why.SlaMonth(month.first, down, uptime, percent, fee, e.currency, credit))
        if total_credit <= 0:
            return None
        body = why.SlaCredit(tuple(parts))
        if total_credit < self.min_credit:
            return None
        return self.award(e, AwardKind.CREDIT, total_credit, e.currency, body, "SLA_TIER")

    def month_credit(self, monthly: Fraction, percent: Decimal) -> Decimal:
        """One month's credit: ``percent`` % of the month's bill, rounded."""
        return self.rounding.apply(monthly * Fraction(percent) / 100)

    def terms(self) -> str:
        tiers = ", ".join(f"< {t.below} % -> {format_amount(t.percent)} %" for t in self.tiers)
        cap = f", at most {format_amount(self.max_percent)} %" if self.max_percent is not None else ""
        low = (f"; no credit under {format_amount(self.min_credit)}" if self.min_credit else "")
        return f"a credit by monthly uptime: {tiers} of the month's bill{cap}{low}"


# ---------------------------------------------------------------------------------------------
# 5. An amount per day after a grace period


@dataclass(frozen=True, slots=True)
class DayStep:
    from_day: int  # first compensable day (1 = the first day after the grace period)
    amount: Decimal  # fixed amount per day
    fee_share: Decimal  # share of the monthly fee per day; the higher of the two is paid


@kind
@dataclass(frozen=True, kw_only=True)
class PerDay(Rule):
    """An amount per day of outage after a grace period (UK Ofcom; German TKG section 58).

    Source (DOMAIN.md): Ofcom pays a fixed amount per calendar day once a loss of service is not
    repaired after 2 full working days; TKG section 58 pays, once a total outage is not repaired
    within 2 calendar days, for days 3 and 4 the higher of 5 EUR or 10 % of the monthly fee, from
    day 5 the higher of 10 EUR or 20 %. Each continuous outage is counted on its own; a started
    day counts as a day. Worked example (TKG): 5 days 12 h down, fee 40 EUR: days 3-4 at 5 EUR,
    days 5-6 at max(10, 8) = 10 EUR -> 30 EUR.

    ``grace``: ``working`` (full local working days of the working-day calendar ``calendar``),
    ``calendar`` (full local calendar days) or ``elapsed`` (periods of 24 h from the start). After
    a ``working`` or ``calendar`` grace, each local calendar day the outage touches is one day
    (holidays included; 23- and 25-hour days alike); the exact rule is in
    :mod:`makegood.domain.local_calendar`. Worked example (Ofcom, GB-ENG): down Wed 25 Mar 2026
    10:00 GMT to Mon 30 Mar 00:30 BST; the grace counts Thu 26 and Fri 27 and ends Sat 28
    00:00 GMT; Sat, Sun (23 h) and Mon are touched -> 3 x 10.34 = 31.02 GBP.
    """

    kind: ClassVar[str] = "per_day"
    grace_days: int
    grace: str
    calendar: str | None
    steps: tuple[DayStep, ...]
    rounding: Rounding
    award_kind: AwardKind

    @classmethod
    def parse(cls, t: Table, common: dict[str, object]) -> Rule:
        grace = t.text("grace", "elapsed", choices=GRACES)
        calendar = t.text("calendar", None)
        if grace == "working" and not calendar:
            raise t.fail("a working-day grace needs a working-day calendar such as \"GB-ENG\" "
                         "or \"KR\"", "calendar")
        steps = []
        for sub in t.tables("steps", required=True):
            steps.append(DayStep(
                from_day=sub.integer("from_day", 1, minimum=1),
                amount=sub.decimal("amount", Decimal(0)),
                fee_share=sub.decimal("fee_share", Decimal(0)),
            ))
            sub.finish()
        if not steps:
            raise t.fail("needs at least one step", "steps")
        steps.sort(key=lambda s: s.from_day)
        if steps[0].from_day != 1:
            raise t.fail("the first step must start at from_day = 1", "steps")
        return cls(
            grace_days=t.integer("grace_days", 0, minimum=0),
            grace=grace,
            calendar=calendar,
            steps=tuple(steps),
            rounding=parse_rounding(t, "round", Rounding(Decimal("0.01"), "half_up")),
            award_kind=AwardKind(t.text("award", "credit", choices=("credit", "cash", "refund"))),
            **common,  # type: ignore[arg-type]
        )

    def working(self, e: Exposure) -> WorkingCalendar | None:
        """The working-day calendar a ``working`` grace counts in (``None`` otherwise)."""
        if self.grace == "working" and self.calendar:
            return e.calendars.get(self.calendar)
        return None

    def grace_end(self, start: datetime, e: Exposure) -> datetime:
        """When the grace of an outage starting at ``start`` ends (:mod:`~makegood.domain.
        local_calendar` states the rule)."""
        return grace_end(start, grace=self.grace, days=self.grace_days, tz=e.tz,
                         working=self.working(e))

    def day_amount(self, step: DayStep, monthly: Fraction) -> Decimal:
        """The amount for one day of ``step``: the higher of the fixed amount or the fee share."""
        return self.rounding.apply(max(Fraction(step.amount), Fraction(step.fee_share) * monthly))

    def evaluate(self, e: Exposure) -> Award | None:
        fee = e.subscription.monthly_fee()
        total_amount = Decimal(0)
        parts: list[why.PaidDays] = []
        for window in e.windows:
            ends = self.grace_end(window.start, e)
            days = days_after_grace(ends, window.end, grace=self.grace, tz=e.tz)
            if days <= 0:
                continue
            pieces: list[tuple[int, Decimal]] = []
            for i, step in enumerate(self.steps):
                last = self.steps[i + 1].from_day - 1 if i + 1 < len(self.steps) else days
                n = min(last, days) - step.from_day + 1
                if n <= 0:
                    continue
                each = self.day_amount(step, fee)
                total_amount += each * n
                pieces.append((n, each))
            since = until = None
            if self.grace != "elapsed":
                since = local_date(max(ends, window.start), e.tz)
                until = last_date(window.end, e.tz)
            parts.append(why.PaidDays(window.duration, window.start, e.tz, self.grace_days,
                                      self.grace, ends, days, since, until, tuple(pieces)))
        if total_amount <= 0:
            return None
        body = why.PerDayTotal(tuple(parts), total_amount, e.currency)
        return self.award(e, self.award_kind, total_amount, e.currency, body, "PER_DAY")

    def terms(self) -> str:
        steps = ", ".join(
            f"from day {s.from_day}: the higher of {format_amount(s.amount)} or "
            f"{format_amount(s.fee_share * 100)} % of the monthly fee" if s.fee_share
            else f"from day {s.from_day}: {format_amount(s.amount)}"
            for s in self.steps
        )
        cal = f" ({self.calendar})" if self.grace == "working" else ""
        per = ("per started period of 24 h" if self.grace == "elapsed"
               else "per local calendar day the outage touches")
        return f"after a grace of {self.grace_days} {self.grace} days{cal}, {per}: {steps}"
