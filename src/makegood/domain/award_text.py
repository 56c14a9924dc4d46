"""Why an award is what it is: the facts a rule found, and the same facts in Korean and English.

A rule does not write its explanation as a sentence; it records the facts it used (the counted
outage, the multiple, the fee, the rounding, the days paid, the cap that cut it) as the small
records below, and :func:`explain` words them in the reader's language. The English wording is
the one ``makegood explain`` prints (:attr:`Award.explanation`); the Korean says the same facts,
it is not a translation of the English string. The words of the rules themselves are in
:mod:`makegood.domain.rule_text`; service names and award kinds come from
:mod:`makegood.domain.notice_text`, so a notice and a page name them alike.

Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from fractions import Fraction
from functools import partial

from makegood.domain.money import (
    Rounding,
    TimeRounding,
    format_amount,
    format_quantity,
    to_decimal_places,
)
from makegood.domain.names import service_name
from makegood.domain.windows import Window, format_duration, format_local, format_windows

# Units a person reads in Korean; other units (currency codes, ids) are shown as written.
UNIT_NAMES_KO = {"in-app cash": "앱 캐시", "emoticon-pack-3": "이모티콘 3종 팩",
                 "points": "포인트"}
_TIME_UNITS_KO = {"day": "일", "hour": "시간", "minute": "분", "second": "초"}
_MODES_KO = {"half_up": "반올림", "up": "올림", "down": "버림", "half_even": "오사오입"}
_WEEKDAYS_KO = "월화수목금토일"


# ---------------------------------------------------------------------------------------------
# Words both explanations and rule terms use


def duration(value: timedelta, lang: str) -> str:
    """``10 h 30 min`` / ``10시간 30분``; whole days stay in hours, as outages are reported."""
    if lang != "ko":
        return format_duration(value)
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = ([f"{hours:,}시간"] if hours else []) + ([f"{minutes}분"] if minutes else []) + \
        ([f"{secs}초"] if secs else [])
    return " ".join(parts) or "0분"


def span(value: timedelta, lang: str) -> str:
    """A remedy's length as announced: ``6일`` / ``6 days`` when whole days, else a duration."""
    seconds = int(value.total_seconds())
    if seconds and seconds % 86400 == 0:
        return quantity(Decimal(seconds // 86400), "day", lang)
    return duration(value, lang)


def money(amount: Decimal | Fraction, currency: str, lang: str) -> str:
    """``7,550원`` / ``7,550 KRW``; ``60 USD`` in both. A fraction is shown to the cent."""
    value = amount if isinstance(amount, Decimal) else to_decimal_places(amount)
    if lang == "ko" and currency == "KRW":
        return f"{format_amount(value)}원"
    return f"{format_amount(value)} {currency}".rstrip()


def quantity(amount: Decimal, unit: str, lang: str) -> str:
    """``3일``, ``15시간``, ``7,550원``, ``앱 캐시 1,500``, ``이모티콘 3종 팩 1개``; English as
    :func:`~makegood.domain.money.format_quantity`."""
    if lang != "ko":
        return format_quantity(amount, unit)
    if unit in _TIME_UNITS_KO:
        return f"{format_amount(amount)}{_TIME_UNITS_KO[unit]}"
    if unit == "KRW":
        return money(amount, unit, lang)
    if unit.startswith("emoticon-pack"):
        return f"{UNIT_NAMES_KO.get(unit, unit)} {format_amount(amount)}개"
    if unit in UNIT_NAMES_KO:
        return f"{UNIT_NAMES_KO[unit]} {format_amount(amount)}"
    return f"{format_amount(amount)} {unit}"


def rounding(r: Rounding, currency: str, lang: str) -> str:
    """``rounded half up to 10`` / ``10원 단위로 반올림``."""
    if lang != "ko":
        return r.describe()
    return f"{money(r.step, currency, lang)} 단위로 {_MODES_KO.get(r.mode, r.mode)}"


def time_rounding(r: TimeRounding, lang: str) -> str:
    """``rounded up to whole days`` / ``일 단위로 올림``."""
    if lang != "ko":
        return r.describe()
    return f"{_TIME_UNITS_KO[r.unit]} 단위로 {_MODES_KO.get(r.mode, r.mode)}"


def local(instant: datetime, tz: tzinfo, lang: str, *, zone: bool = False) -> str:
    """``15 Oct 15:30`` / ``10월 15일 15:30`` in the zone (with its abbreviation if ``zone``)."""
    if lang != "ko":
        return format_local(instant, tz, zone=zone)
    at = instant.astimezone(tz)
    text = f"{at.month}월 {at.day}일 {at:%H:%M}"
    return f"{text} {at.tzname() or tz}" if zone else text


def windows(found: Sequence[Window], tz: tzinfo, lang: str) -> str:
    """``15 Oct 15:30 - 16 Oct 02:00 KST`` / ``10월 15일 15:30 ~ 10월 16일 02:00 KST``."""
    if lang != "ko":
        return format_windows(found, tz)
    return format_windows(found, tz, local=partial(local, lang=lang), dash=" ~ ", none="장애 없음")


def day(value: date, lang: str) -> str:
    """``Sat 28 Mar`` / ``3월 28일(토)``."""
    if lang != "ko":
        return f"{value:%a %d %b}"
    return f"{value.month}월 {value.day}일({_WEEKDAYS_KO[value.weekday()]})"


def _week(value: date, lang: str) -> str:
    return f"{value:%d %b}" if lang != "ko" else f"{value.month}월 {value.day}일"


# ---------------------------------------------------------------------------------------------
# The facts a rule records


@dataclass(frozen=True, slots=True)
class Outage:
    """What every explanation starts with: the service, its counted windows, the rule."""

    service: str
    windows: tuple[Window, ...]
    tz: tzinfo
    counted: timedelta
    rule_id: str


@dataclass(frozen=True, slots=True)
class Extended:
    """N x the outage time, rounded to whole days or hours (``extension_multiple``)."""

    factor: Decimal
    base: timedelta
    force_majeure: bool
    extended: timedelta
    units: Decimal
    rounding: TimeRounding


@dataclass(frozen=True, slots=True)
class FeeShare:
    """The fee worth ``time`` of a monthly fee in a month of ``days`` days, rounded."""

    time: timedelta
    monthly: Fraction
    currency: str
    days: int
    exact: Fraction
    amount: Decimal
    rounding: Rounding


@dataclass(frozen=True, slots=True)
class Multiplied:
    """N x the outage time, rounded, then the fee for that time (``fee_multiple``)."""

    multiplier: Decimal
    base: timedelta
    multiplied: timedelta
    time_rounding: TimeRounding
    fee: FeeShare


@dataclass(frozen=True, slots=True)
class Subscribed:
    """A fixed remedy for being a subscriber during the outage (``fixed``): an extension or an
    amount (``unit``), or a share of the fee (``fee``)."""

    amount: Decimal
    unit: str
    extension: bool = False
    fee: FeeShare | None = None


@dataclass(frozen=True, slots=True)
class SlaMonth:
    """One local month of an SLA credit."""

    first: date
    down: timedelta
    uptime: Decimal
    percent: Decimal
    fee: Fraction
    currency: str
    credit: Decimal


@dataclass(frozen=True, slots=True)
class SlaCredit:
    months: tuple[SlaMonth, ...]


@dataclass(frozen=True, slots=True)
class PaidDays:
    """One continuous outage under a per-day rule: its grace and the days paid at each rate."""

    duration: timedelta
    start: datetime
    tz: tzinfo
    grace_days: int
    grace: str
    grace_ends: datetime
    days: int
    first_day: date | None  # local days paid (``None`` for an elapsed grace)
    last_day: date | None
    pieces: tuple[tuple[int, Decimal], ...]  # (days, amount each)


@dataclass(frozen=True, slots=True)
class PerDayTotal:
    outages: tuple[PaidDays, ...]
    total: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class Goodwill:
    quantity: Decimal
    item: str


@dataclass(frozen=True, slots=True)
class Loss:
    """A loss as reported, or computed from the best baseline week and the outage week."""

    loss: Decimal
    currency: str
    best_week: date | None = None
    best: Decimal | None = None
    outage_week: date | None = None
    outage: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Bracketed:
    """A loss placed in a bracket (``amount``), or above the top one (``amount`` is ``None``)."""

    loss: Loss
    bound: Decimal
    amount: Decimal | None


@dataclass(frozen=True, slots=True)
class Capped:
    """A cap that changed the award: ``rule`` (the rule's cap), ``account`` (the per-account cap,
    ``limit``) or ``fund`` (scaled pro rata by ``factor``); ``amount`` is what is left."""

    by: str
    amount: Decimal
    unit: str
    limit: Decimal | None = None
    factor: Decimal | None = None


Fact = (Outage | Extended | Multiplied | Subscribed | SlaCredit | PerDayTotal | Goodwill
        | Bracketed | Capped)


# ---------------------------------------------------------------------------------------------
# The facts in words


def explain(facts: Sequence[Fact], lang: str) -> str:
    """The facts of one award as a sentence in ``lang`` (``ko``; anything else reads English)."""
    lang = "ko" if lang == "ko" else "en"
    text = ""
    for i, fact in enumerate(facts):
        part = _word(fact, lang)
        text += part if i == 0 or isinstance(facts[i - 1], Outage) else "; " + part
    return text


def _word(fact: Fact, lang: str) -> str:
    ko = lang == "ko"
    if isinstance(fact, Outage):
        name = service_name(fact.service, lang) if ko else fact.service
        if ko:
            return (f"{name}: {windows(fact.windows, fact.tz, lang)} 장애, "
                    f"{duration(fact.counted, lang)}; 규칙 {fact.rule_id}; ")
        return (f"{name}: down {windows(fact.windows, fact.tz, lang)}, "
                f"{duration(fact.counted, lang)}; rule {fact.rule_id}; ")
    if isinstance(fact, Extended):
        return _extended(fact, lang)
    if isinstance(fact, Multiplied):
        m = format_amount(fact.multiplier)
        rounded = fact.fee.time
        how = time_rounding(fact.time_rounding, lang)
        return (f"{duration(fact.base, lang)} × {m} = {duration(fact.multiplied, lang)} → "
                f"{duration(rounded, lang)} ({how}); {_fee(fact.fee, lang)}" if ko else
                f"{m} x {duration(fact.base, lang)} = {duration(fact.multiplied, lang)} -> "
                f"{duration(rounded, lang)} ({how}); {_fee(fact.fee, lang)}")
    if isinstance(fact, Subscribed):
        if fact.fee is not None:
            given = _fee(fact.fee, lang)
        elif fact.extension:
            given = (f"이용 기간 {quantity(fact.amount, fact.unit, lang)} 연장" if ko
                     else f"+{quantity(fact.amount, fact.unit, lang)}")
        else:
            given = quantity(fact.amount, fact.unit, lang)
        return f"장애 기간 중 구독 → {given}" if ko else f"subscriber during the outage -> {given}"
    if isinstance(fact, SlaCredit):
        return "; ".join(_sla_month(m, lang) for m in fact.months)
    if isinstance(fact, PerDayTotal):
        return ("; ".join(_paid_days(p, lang) for p in fact.outages)
                + f" = {money(fact.total, fact.currency, lang)}")
    if isinstance(fact, Goodwill):
        given = quantity(fact.quantity, fact.item, lang)
        return f"영향을 받은 계정 → {given}" if ko else f"affected account -> {given}"
    if isinstance(fact, Bracketed):
        return _bracketed(fact, lang)
    return _capped(fact, lang)


def _extended(fact: Extended, lang: str) -> str:
    factor = format_amount(fact.factor)
    given = quantity(fact.units, fact.rounding.unit, lang)
    how = time_rounding(fact.rounding, lang)
    if lang == "ko":
        note = " (불가항력)" if fact.force_majeure else ""
        return (f"{duration(fact.base, lang)} × {factor}{note} = {duration(fact.extended, lang)}"
                f" → 이용 기간 {given} 연장 ({how})")
    note = " (force majeure)" if fact.force_majeure else ""
    return (f"{factor} x {duration(fact.base, lang)}{note} = {duration(fact.extended, lang)} -> "
            f"+{given} ({how})")


def _fee(fee: FeeShare, lang: str) -> str:
    monthly = money(fee.monthly, fee.currency, lang)
    exact = money(fee.exact, fee.currency, lang)
    amount = money(fee.amount, fee.currency, lang)
    how = rounding(fee.rounding, fee.currency, lang)
    if lang == "ko":
        return (f"월 {monthly} 요금({fee.days}일 기준)의 {span(fee.time, lang)}분 = {exact} → "
                f"{amount} ({how})")
    exact_en = format_amount(to_decimal_places(fee.exact))
    return (f"{duration(fee.time, lang)} of {monthly} a month ({fee.days}-day month) = "
            f"{exact_en} -> {amount} ({how})")


def _sla_month(m: SlaMonth, lang: str) -> str:
    percent = format_amount(m.percent)
    fee = money(m.fee, m.currency, lang)
    credit = money(m.credit, m.currency, lang)
    if lang == "ko":
        return (f"{m.first.year}년 {m.first.month}월: 장애 {duration(m.down, lang)}, "
                f"가용률 {m.uptime}% → {fee}의 {percent}% = {credit}")
    return (f"{m.first:%b %Y}: {duration(m.down, lang)} down, uptime {m.uptime} % -> "
            f"{percent} % of {fee} = {credit}")


_GRACE_KO = {"working": "영업일 {n}일", "calendar": "만 {n}일(날짜 기준)",
             "elapsed": "{n}일(24시간 단위)"}


def _paid_days(p: PaidDays, lang: str) -> str:
    ko = lang == "ko"
    if p.first_day is None or p.last_day is None:
        counted = (f"시작된 24시간 단위 {p.days}개" if ko
                   else f"{p.days} started period(s) of 24 h")
    else:
        until = ((f"~{day(p.last_day, lang)}" if ko else f" to {day(p.last_day, lang)}")
                 if p.last_day != p.first_day else "")
        counted = (f"현지 날짜 {p.days}일({day(p.first_day, lang)}{until})" if ko
                   else f"{p.days} local day(s), {day(p.first_day, lang)}{until}")
    pieces = " + ".join(f"{n} {'×' if ko else 'x'} {format_amount(each)}" for n, each in p.pieces)
    start = local(p.start, p.tz, lang, zone=True)
    ends = local(p.grace_ends, p.tz, lang, zone=True)
    if ko:
        grace = _GRACE_KO.get(p.grace, "{n}일").format(n=p.grace_days)
        return (f"{start}부터 {duration(p.duration, lang)}; 유예({grace})는 {ends}에 끝남; "
                f"{counted}: {pieces}")
    return (f"{duration(p.duration, lang)} from {start}; grace of {p.grace_days} {p.grace} days "
            f"ends {ends}; {counted}: {pieces}")


def loss_text(loss: Loss, lang: str) -> str:
    """``best baseline week 24 Sep 1,200,000 - outage week 15 Oct 950,000 = loss 250,000``."""
    ko = lang == "ko"

    def amount(value: Decimal) -> str:
        return money(value, loss.currency, lang) if ko else format_amount(value)

    if loss.best_week is None or loss.best is None or loss.outage_week is None \
            or loss.outage is None:
        return f"신고한 손실 {amount(loss.loss)}" if ko else f"reported loss {amount(loss.loss)}"
    if ko:
        return (f"비교 기간 최고 주({_week(loss.best_week, lang)}) {amount(loss.best)} - "
                f"장애 주({_week(loss.outage_week, lang)}) {amount(loss.outage)} = "
                f"손실 {amount(loss.loss)}")
    return (f"best baseline week {_week(loss.best_week, lang)} {amount(loss.best)} - "
            f"outage week {_week(loss.outage_week, lang)} {amount(loss.outage)} = "
            f"loss {amount(loss.loss)}")


def _bracketed(fact: Bracketed, lang: str) -> str:
    text = loss_text(fact.loss, lang)
    currency = fact.loss.currency
    if lang == "ko":
        bound = money(fact.bound, currency, lang)
        if fact.amount is None:
            return f"{text} > {bound} → 증빙 서류로 개별 심사"
        return f"{text} ≤ {bound} → {money(fact.amount, currency, lang)}"
    if fact.amount is None:
        return f"{text} > {format_amount(fact.bound)} -> individual review against documents"
    return f"{text} <= {format_amount(fact.bound)} -> {money(fact.amount, currency, lang)}"


def _capped(fact: Capped, lang: str) -> str:
    left = quantity(fact.amount, fact.unit, lang) if lang == "ko" else \
        f"{format_amount(fact.amount)} {fact.unit}"
    factor = format_amount((fact.factor or Decimal(1)).quantize(Decimal("0.000001")))
    limit = format_amount(fact.limit or Decimal(0))
    if lang == "ko":
        if fact.by == "rule":
            return f"규칙 상한 적용 → {left}"
        if fact.by == "account":
            return f"계정당 상한 {quantity(fact.limit or Decimal(0), fact.unit, lang)} 적용 → {left}"
        return f"기금 상한에 따라 비례 감액({factor}) → {left}"
    if fact.by == "rule":
        return f"capped at {left} by the rule"
    if fact.by == "account":
        return f"cut to {left} by the per-account cap of {limit}"
    return f"scaled pro rata by the fund cap ({factor}) -> {left}"
