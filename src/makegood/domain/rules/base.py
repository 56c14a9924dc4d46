"""What every rule kind shares: the exposure a rule evaluates, eligibility filters, triggers,
the fee arithmetic, the parsing helpers, and the :class:`Rule` base with its registry of kinds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar, Protocol
from zoneinfo import ZoneInfo

from makegood.domain import award_text as why
from makegood.domain.accounts import Account, Channel, Segment, Subscription
from makegood.domain.awards import Award, AwardKind
from makegood.domain.document import Table
from makegood.domain.errors import InputError
from makegood.domain.incident import Incident
from makegood.domain.local_calendar import WorkingCalendar, month_of
from makegood.domain.money import Rounding, TimeRounding, check_mode, format_amount
from makegood.domain.windows import ZERO, Window, format_duration, longest, total


class Calendars(Protocol):
    """Where working-day rules find a working-day calendar (``"KR"``, ``"GB-ENG"``) by its code."""

    def get(self, country: str) -> WorkingCalendar: ...


@dataclass(frozen=True, slots=True)
class StaticCalendars:
    """Calendars given as data (tests, or a policy run without the ``holidays`` package)."""

    calendars: dict[str, WorkingCalendar]

    def get(self, country: str) -> WorkingCalendar:
        try:
            return self.calendars[country]
        except KeyError:
            raise InputError(f"no working-day calendar {country!r}", field="calendar") from None


@dataclass(frozen=True, slots=True)
class Exposure:
    """One subscription of one account and the outage that counts for it under a policy."""

    account: Account
    subscription: Subscription
    windows: tuple[Window, ...]
    incident: Incident
    tz: ZoneInfo
    currency: str
    calendars: Calendars

    @property
    def counted(self) -> timedelta:
        return total(self.windows)

    @property
    def longest(self) -> timedelta:
        return longest(self.windows)


# ---------------------------------------------------------------------------------------------
# Shared parts: eligibility, triggers, fee arithmetic


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Which subscriptions a rule applies to; an empty tuple means any."""

    services: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    plans: tuple[str, ...] = ()
    paid: bool | None = None
    channels: tuple[Channel, ...] = ()
    segments: tuple[Segment, ...] = ()

    @classmethod
    def parse(cls, t: Table | None) -> Eligibility:
        if t is None:
            return cls()

        def enum_list(key: str, enum: type[Channel] | type[Segment]) -> tuple[str, ...]:
            values: tuple[str, ...] = t.texts(key, ())
            allowed = tuple(e.value for e in enum)
            for v in values:
                if v not in allowed:
                    raise t.fail(f"{v!r} is not one of: {', '.join(allowed)}", key)
            return values

        result = cls(
            services=t.texts("services", ()),
            features=t.texts("features", ()),
            plans=t.texts("plans", ()),
            paid=t.flag("paid", None),
            channels=tuple(Channel(v) for v in enum_list("channels", Channel)),
            segments=tuple(Segment(v) for v in enum_list("segments", Segment)),
        )
        t.finish()
        return result

    def matches(self, account: Account, sub: Subscription) -> bool:
        return (
            (not self.services or sub.service in self.services)
            and (not self.plans or sub.plan in self.plans)
            and (self.paid is None or sub.paid == self.paid)
            and (not self.channels or sub.channel in self.channels)
            and (not self.segments or account.segment in self.segments)
        )

    def describe(self) -> str:
        parts = []
        if self.paid is not None:
            parts.append("paid" if self.paid else "free")
        if self.segments:
            parts.append("/".join(s.value for s in self.segments))
        parts.append("subscriptions to " + (", ".join(self.services) if self.services else "any service"))
        if self.features:
            parts.append("(features " + ", ".join(self.features) + ")")
        if self.plans:
            parts.append("on plans " + ", ".join(self.plans))
        if self.channels:
            parts.append("bought via " + "/".join(c.value for c in self.channels))
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Trigger:
    """When a rule fires: any one of the stated thresholds; none stated means any outage at all."""

    continuous_at_least: timedelta | None = None
    continuous_more_than: timedelta | None = None
    cumulative_at_least: timedelta | None = None
    cumulative_more_than: timedelta | None = None

    @classmethod
    def parse(cls, t: Table | None) -> Trigger:
        if t is None:
            return cls()
        result = cls(
            continuous_at_least=t.duration("continuous_at_least", None),
            continuous_more_than=t.duration("continuous_more_than", None),
            cumulative_at_least=t.duration("cumulative_at_least", None),
            cumulative_more_than=t.duration("cumulative_more_than", None),
        )
        t.finish()
        return result

    @property
    def is_any_outage(self) -> bool:
        return not any(
            (self.continuous_at_least, self.continuous_more_than, self.cumulative_at_least,
             self.cumulative_more_than)
        )

    def fires(self, cumulative: timedelta, continuous: timedelta) -> bool:
        if cumulative <= ZERO:
            return False
        if self.is_any_outage:
            return True
        return (
            (self.continuous_at_least is not None and continuous >= self.continuous_at_least)
            or (self.continuous_more_than is not None and continuous > self.continuous_more_than)
            or (self.cumulative_at_least is not None and cumulative >= self.cumulative_at_least)
            or (self.cumulative_more_than is not None and cumulative > self.cumulative_more_than)
        )

    def describe(self) -> str:
        parts = []
        for label, value in (
            ("at least {} continuous", self.continuous_at_least),
            ("more than {} continuous", self.continuous_more_than),
            ("at least {} in total", self.cumulative_at_least),
            ("more than {} in total", self.cumulative_more_than),
        ):
            if value is not None:
                parts.append(label.format(format_duration(value)))
        return " or ".join(parts) if parts else "any outage"


def parse_rounding(t: Table, key: str, default: Rounding) -> Rounding:
    sub = t.table(key)
    if sub is None:
        return default
    result = Rounding(step=sub.decimal("step", default.step),
                      mode=sub.convert("mode", check_mode, default.mode))
    if result.step <= 0:
        raise sub.fail("must be positive", "step")
    sub.finish()
    return result


def parse_time_rounding(t: Table, key: str, default: TimeRounding) -> TimeRounding:
    sub = t.table(key)
    if sub is None:
        return default
    result = TimeRounding(
        unit=sub.text("unit", default.unit, choices=("day", "hour", "minute", "second")),
        mode=sub.convert("mode", check_mode, default.mode),
    )
    sub.finish()
    return result


def parse_fee_days(t: Table) -> int | None:
    """``fee_days``: a fixed month length (30), or ``"calendar"`` (days in the outage's month)."""
    value = t.convert("fee_days", lambda v: v, "calendar")
    if value == "calendar":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 31:
        raise t.fail(f"{value!r} must be \"calendar\" or a number of days from 1 to 31", "fee_days")
    return value


def month_days(fee_days: int | None, e: Exposure) -> int:
    """The month length of a fee: ``fee_days``, or the days of the local month in which the
    (first counted) outage starts."""
    if fee_days is not None:
        return fee_days
    return month_of(e.windows[0].start, e.tz).days


def fee_worth(monthly: Fraction, hours: Decimal | Fraction, days: int) -> Fraction:
    """The fee worth ``hours`` of a month of ``days`` days: monthly fee x hours / (days x 24).

    Exact (a fraction): the policy's stated rounding is the only rounding applied to money.
    """
    return monthly * Fraction(hours) / (days * 24)


def fee_share(e: Exposure, time: timedelta, fee_days: int | None, rounding: Rounding
              ) -> why.FeeShare:
    """The fee worth ``time`` of the subscription, in the month length used, rounded."""
    days = month_days(fee_days, e)
    monthly = e.subscription.monthly_fee()
    exact = fee_worth(monthly, Fraction(int(time.total_seconds()), 3600), days)
    return why.FeeShare(time, monthly, e.currency, days, exact, rounding.apply(exact), rounding)


# ---------------------------------------------------------------------------------------------
# Rule base


@dataclass(frozen=True, kw_only=True)
class Rule(ABC):
    """Common to every kind: an id, its place in the policy, a filter, a cap, a description."""

    id: str
    index: int
    when: Eligibility
    description: str = ""
    cap: Decimal | None = None

    kind: ClassVar[str]
    scope: ClassVar[str] = "subscription"
    parsers: ClassVar[dict[str, Callable[[Table, dict[str, object]], Rule]]] = {}

    @classmethod
    @abstractmethod
    def parse(cls, t: Table, common: dict[str, object]) -> Rule:
        """Build the rule from its table; ``common`` holds the fields every kind shares."""

    @abstractmethod
    def evaluate(self, e: Exposure) -> Award | None:
        """The award for this exposure, before caps; ``None`` when nothing is due."""

    @abstractmethod
    def terms(self) -> str:
        """What the rule gives, in words."""

    def describe(self) -> str:
        text = f"{self.id} ({self.kind}): for {self.when.describe()}, {self.terms()}"
        if self.cap is not None:
            text += f"; at most {format_amount(self.cap)} per award"
        return text

    def award(self, e: Exposure, kind: AwardKind, amount: Decimal, unit: str, body: why.Fact,
              code: str) -> Award:
        sub = e.subscription
        outage = why.Outage(sub.service, e.windows, e.tz, e.counted, self.id)
        money = kind in (AwardKind.CREDIT, AwardKind.REFUND, AwardKind.CASH, AwardKind.REVIEW)
        return Award(
            account_id=e.account.id,
            subscription_id=sub.id,
            service=sub.service,
            rule_id=self.id,
            rule_index=self.index,
            kind=kind,
            amount=amount,
            unit=unit,
            currency=e.currency if money and unit == e.currency else None,
            counted_seconds=int(e.counted.total_seconds()),
            code=code,
            why=(outage, body),
        )


KINDS: dict[str, type[Rule]] = {}


def kind(cls: type[Rule]) -> type[Rule]:
    KINDS[cls.kind] = cls
    return cls
