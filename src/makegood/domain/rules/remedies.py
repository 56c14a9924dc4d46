"""Remedies measured by the outage itself: a free extension as a multiple of the outage time,
a credit as a multiple of the fee for it, and fixed remedies by product and sales channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar

from makegood.domain import award_text as why
from makegood.domain.awards import Award, AwardKind
from makegood.domain.document import Table
from makegood.domain.incident import Fault
from makegood.domain.money import Rounding, TimeRounding, format_amount, format_quantity
from makegood.domain.rules.base import (
    Exposure,
    Rule,
    Trigger,
    fee_share,
    fee_worth,
    kind,
    parse_fee_days,
    parse_rounding,
    parse_time_rounding,
)
from makegood.domain.windows import ZERO, format_duration

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
