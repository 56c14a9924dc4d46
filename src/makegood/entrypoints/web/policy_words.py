"""The policies' rules in Korean, for the notice and "check my compensation".

The policies describe themselves in English (:meth:`Rule.describe`); this module says the common
kinds again in Korean from the same fields: who a rule covers (:class:`Eligibility`) and what a
fixed remedy, a goodwill item or a loss bracket gives. A kind it does not know is shown in the
policy's own English words.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from makegood.domain.awards import AwardKind
from makegood.domain.money import format_amount
from makegood.domain.rules import Eligibility, Fixed, Goodwill, LossBrackets, Rule

SEGMENTS = {"individual": "개인", "small_business": "소상공인", "enterprise": "기업"}
CHANNELS = {"web": "웹에서", "app_store": "앱 장터에서", "other": "기타 경로로"}
KINDS = {AwardKind.CREDIT: "크레딧", AwardKind.CASH: "현금", AwardKind.REFUND: "환불",
         AwardKind.EXTENSION: "이용 기간 연장", AwardKind.ITEM: "선물",
         AwardKind.REVIEW: "개별 심사"}
UNITS = {"day": "일", "hour": "시간", "KRW": "원"}
UNIT_NAMES = {"in-app cash": "앱 캐시"}


def _quantity(amount: Decimal, unit: str) -> str:
    suffix = UNITS.get(unit)
    if suffix:
        return f"{format_amount(amount)}{suffix}"
    return f"{UNIT_NAMES.get(unit, unit)} {format_amount(amount)}"


def _span(value: timedelta) -> str:
    """``6일``, ``10시간``, ``1시간 30분``: whole days in days, else hours and minutes."""
    minutes = int(value.total_seconds()) // 60
    if minutes and minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)}일"
    hours, rest = divmod(minutes, 60)
    return f"{hours}시간" + (f" {rest}분" if rest else "")


def who(when: Eligibility) -> str:
    """``웹에서 산 emoticon_plus 유료 구독``."""
    parts = []
    if when.channels:
        parts.append("/".join(CHANNELS.get(c.value, c.value) for c in when.channels) + " 산")
    if when.segments:
        parts.append("/".join(SEGMENTS.get(s.value, s.value) for s in when.segments))
    parts.append(", ".join(when.services) if when.services else "모든 서비스")
    if when.plans:
        parts.append(f"({', '.join(when.plans)} 요금제)")
    if when.paid is True:
        parts.append("유료 구독")
    elif when.paid is False:
        parts.append("무료 이용")
    else:
        parts.append("이용")
    return " ".join(parts)


def terms(rule: Rule) -> str | None:
    """What the rule gives, in Korean; ``None`` for a kind this module does not word."""
    if isinstance(rule, Fixed):
        if rule.extension is not None:
            return f"장애가 있었다면 이용 기간 {_quantity(*rule.extension)} 연장"
        if rule.fee_time is not None:
            return (f"장애가 있었다면 요금 {_span(rule.fee_time)}분의 "
                    f"{KINDS.get(rule.award_kind, rule.award_kind.value)}")
        if rule.amount is not None:
            return (f"장애가 있었다면 {KINDS.get(rule.award_kind, rule.award_kind.value)} "
                    f"{_quantity(rule.amount, rule.unit or 'KRW')}")
    if isinstance(rule, Goodwill):
        return f"영향을 받은 계정마다 {rule.item} {format_amount(rule.quantity)}개 (한 번)"
    if isinstance(rule, LossBrackets):
        steps = ", ".join(f"{format_amount(b.up_to)}원 이하 {format_amount(b.amount)}원"
                          for b in rule.brackets)
        return (f"매출 손실(비교 기간의 가장 좋은 주 매출에서 장애 주간 매출을 뺀 금액)에 따라 "
                f"{steps}, 그보다 크면 개별 심사")
    return None


def describe(rule: Rule, lang: str) -> tuple[str, str]:
    """(text, language) of a rule for a reader of ``lang``."""
    if lang == "ko":
        words = terms(rule)
        if words is not None:
            return f"{who(rule.when)}: {words}", "ko"
    return f"{rule.when.describe()}: {rule.terms()}", "en"
