"""The rule kinds a policy is written in, one small class each, with the reference semantics.

Each kind says where it comes from (a regime in DOMAIN.md) and carries a worked example. A rule
has an eligibility filter (``when``), an optional per-award cap, and evaluates one *exposure*
(one subscription and the outage windows that count for it) into at most one :class:`Award`.
Account-scoped kinds (goodwill, loss brackets) are evaluated once per account, on the account's
first affected matching subscription (lowest subscription id).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar, Protocol
from zoneinfo import ZoneInfo

from makegood.domain import award_text as why
from makegood.domain.accounts import Account, Channel, Segment, Subscription
from makegood.domain.awards import Award, AwardKind
from makegood.domain.document import Table
from makegood.domain.errors import InputError
from makegood.domain.incident import Fault, Incident
from makegood.domain.local_calendar import (
    GRACES,
    WorkingCalendar,
    days_after_grace,
    grace_end,
    last_date,
    local_date,
    month_of,
    split_months,
)
from makegood.domain.money import (
    Rounding,
    TimeRounding,
    check_mode,
    format_amount,
    format_quantity,
)
from makegood.domain.windows import (
    ZERO,
    Window,
    format_duration,
    longest,
    total,
)


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


# ---------------------------------------------------------------------------------------------
# 1. Free extension as a multiple of outage time


@kind
@dataclass(frozen=True, kw_only=True)
class ExtensionMultiple(Rule):
    """Free extension of N x the outage time (online content services: 3x; 1x under force majeure).

    Source: the content-service terms quoted in DOMAIN.md ("free extension of 3 x the outage
    time (1 x under force majeure)"; some terms require >= 4 h in a day).
    Worked example: music down 15 Oct 15:30 - 16 Oct 02:00 KST = 10 h 30 min;
    3 x 10 h 30 min = 31 h 30 min -> +2 days (rounded up to whole days).
    """

    kind: ClassVar[str] = "extension_multiple"
    multiplier: Decimal
    force_majeure_multiplier: Decimal
    trigger: Trigger
    measure: str
    rounding: TimeRounding

    @classmethod
    def parse(cls, t: Table, common: dict[str, object]) -> Rule:
        multiplier = t.decimal("multiplier")
        return cls(
            multiplier=multiplier,
            force_majeure_multiplier=t.decimal("force_majeure_multiplier", multiplier),
            trigger=Trigger.parse(t.table("trigger")),
            measure=t.text("measure", "cumulative", choices=("cumulative", "continuous")),
            rounding=parse_time_rounding(t, "round", TimeRounding("day", "up")),
            **common,  # type: ignore[arg-type]
        )

    def evaluate(self, e: Exposure) -> Award | None:
        if not self.trigger.fires(e.counted, e.longest):
            return None
        base = e.counted if self.measure == "cumulative" else e.longest
        force_majeure = e.incident.fault is Fault.FORCE_MAJEURE
        factor = self.force_majeure_multiplier if force_majeure else self.multiplier
        extended = timedelta(seconds=int(Decimal(int(base.total_seconds())) * factor))
        units = self.rounding.units(extended)
        if units <= 0:
            return None
        body = why.Extended(factor, base, force_majeure, extended, units, self.rounding)
        return self.award(e, AwardKind.EXTENSION, units, self.rounding.unit, body, "EXT_MULTIPLE")

    def terms(self) -> str:
        fm = ""
        if self.force_majeure_multiplier != self.multiplier:
            fm = f" ({format_amount(self.force_majeure_multiplier)} x under force majeure)"
        return (f"when {self.trigger.describe()}: a free extension of "
                f"{format_amount(self.multiplier)} x the {self.measure} outage{fm}, "
                f"{self.rounding.describe()}")


# ---------------------------------------------------------------------------------------------
# 2. Credit as a multiple of the fee for the outage time


@kind
@dataclass(frozen=True, kw_only=True)
class FeeMultiple(Rule):
    """Credit of N x the fee for the outage time (Korean telecom terms: 10x for >= 2 h continuous).

    Source: Korean telecom terms since mid-2022 (DOMAIN.md); the older FTC broadband standard
    (6x for >= 3 h continuous or > 12 h in a month) is the same kind with other numbers.
    Worked example: KT 2021, 89 minutes: 10 x 89 min = 14 h 50 min -> 15 h (rounded up to whole
    hours) of the monthly fee: 33,000 KRW x 15 / (30 x 24) = 687.5 -> 688 KRW.
    """

    kind: ClassVar[str] = "fee_multiple"
    multiplier: Decimal
    trigger: Trigger
    measure: str
    time_rounding: TimeRounding
    fee_days: int | None
    rounding: Rounding
    award_kind: AwardKind

    @classmethod
    def parse(cls, t: Table, common: dict[str, object]) -> Rule:
        return cls(
            multiplier=t.decimal("multiplier"),
            trigger=Trigger.parse(t.table("trigger")),
            measure=t.text("measure", "cumulative", choices=("cumulative", "continuous")),
            time_rounding=parse_time_rounding(t, "time_round", TimeRounding("hour", "up")),
            fee_days=parse_fee_days(t),
            rounding=parse_rounding(t, "round", Rounding()),
            award_kind=AwardKind(t.text("award", "credit", choices=("credit", "refund", "cash"))),
            **common,  # type: ignore[arg-type]
        )

    def evaluate(self, e: Exposure) -> Award | None:
        if not self.trigger.fires(e.counted, e.longest):
            return None
        base = e.counted if self.measure == "cumulative" else e.longest
        multiplied = timedelta(seconds=int(Decimal(int(base.total_seconds())) * self.multiplier))
        fee = fee_share(e, self.time_rounding.apply(multiplied), self.fee_days, self.rounding)
        if fee.amount <= 0:
            return None
        body = why.Multiplied(self.multiplier, base, multiplied, self.time_rounding, fee)
        return self.award(e, self.award_kind, fee.amount, e.currency, body, "FEE_MULTIPLE")

    def amount_for(self, monthly: Fraction, rounded_seconds: int, days: int) -> Decimal:
        """The credit for an already multiplied and rounded outage time (batch engines)."""
        return self.rounding.apply(fee_worth(monthly, Fraction(rounded_seconds, 3600), days))

    def terms(self) -> str:
        return (f"when {self.trigger.describe()}: {self.award_kind.value} of "
                f"{format_amount(self.multiplier)} x the fee for the {self.measure} outage, "
                f"time {self.time_rounding.describe()}, money {self.rounding.describe()}")


# ---------------------------------------------------------------------------------------------
# 3. Fixed extension or credit by product and sales channel


@kind
@dataclass(frozen=True, kw_only=True)
class Fixed(Rule):
    """A fixed remedy for being a subscriber during the outage, by product and sales channel.

    Source: the operator's 2022 remedies (DOMAIN.md): emoticon subscription +3 days on the web or
    a credit worth 72 hours in the app store; music +3 days or 1,500 in-app cash; taxi Pro
    membership 6 days of the fee. Worked example: 39,000 KRW a month / 31 days x 6 days
    = 7,548.39 -> 7,550 points (rounded half up to 10 won).

    Exactly one of ``extension`` ("3d", "72h"), ``fee_time`` ("72h", "6d": a credit worth that
    much of the fee) or ``amount`` (a fixed amount, in ``unit``, default the policy currency).
    """

    kind: ClassVar[str] = "fixed"
    extension: tuple[Decimal, str] | None
    fee_time: timedelta | None
    amount: Decimal | None
    unit: str | None
    fee_days: int | None
    rounding: Rounding
    award_kind: AwardKind

    @classmethod
    def parse(cls, t: Table, common: dict[str, object]) -> Rule:
        extension = None
        if t.has("extension"):
            # "3d" stays in days and "72h" in hours, as the remedy was announced.
            duration: timedelta = t.duration("extension")
            seconds = int(duration.total_seconds())
            in_days = str(t.data["extension"]).strip().lower().endswith("d") and seconds % 86400 == 0
            extension = ((Decimal(seconds // 86400), "day") if in_days
                         else (Decimal(seconds) / 3600, "hour"))
        fee_time = t.duration("fee_time", None)
        amount = t.decimal("amount", None)
        given = [k for k, v in (("extension", extension), ("fee_time", fee_time),
                                ("amount", amount)) if v is not None]
        if len(given) != 1:
            raise t.fail("give exactly one of extension, fee_time or amount",
                         given[1] if len(given) > 1 else "amount")
        default_kind = "extension" if extension else "credit"
        award_kind = AwardKind(t.text("award", default_kind, choices=tuple(k.value for k in AwardKind)))
        if extension and award_kind is not AwardKind.EXTENSION:
            raise t.fail("an extension rule awards an extension", "award")
        return cls(
            extension=extension,
            fee_time=fee_time,
            amount=amount,
            unit=t.text("unit", None),
            fee_days=parse_fee_days(t),
            rounding=parse_rounding(t, "round", Rounding()),
            award_kind=award_kind,
            **common,  # type: ignore[arg-type]
        )

    def evaluate(self, e: Exposure) -> Award | None:
        if e.counted <= ZERO:
            return None
        if self.extension is not None:
            amount, unit = self.extension
            body = why.Subscribed(amount, unit, extension=True)
            return self.award(e, AwardKind.EXTENSION, amount, unit, body, "FIXED_EXTENSION")
        if self.fee_time is not None:
            fee = fee_share(e, self.fee_time, self.fee_days, self.rounding)
            if fee.amount <= 0:
                return None
            body = why.Subscribed(fee.amount, e.currency, fee=fee)
            return self.award(e, self.award_kind, fee.amount, e.currency, body, "FIXED_FEE_TIME")
        assert self.amount is not None
        unit = self.unit or e.currency
        body = why.Subscribed(self.amount, unit)
        return self.award(e, self.award_kind, self.amount, unit, body, "FIXED_AMOUNT")

    def fee_time_amount(self, monthly: Fraction, days: int) -> Decimal:
        """The credit worth ``fee_time`` of a monthly fee in a month of ``days`` (batch engines)."""
        assert self.fee_time is not None
        hours = Fraction(int(self.fee_time.total_seconds()), 3600)
        return self.rounding.apply(fee_worth(monthly, hours, days))

    def terms(self) -> str:
        if self.extension is not None:
            return f"+{format_quantity(*self.extension)} for any outage"
        if self.fee_time is not None:
            return (f"a {self.award_kind.value} worth {format_duration(self.fee_time)} of the fee "
                    f"for any outage, {self.rounding.describe()}")
        assert self.amount is not None
        return (f"{self.award_kind.value} of {format_amount(self.amount)} "
                f"{self.unit or 'in the policy currency'} for any outage")


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
