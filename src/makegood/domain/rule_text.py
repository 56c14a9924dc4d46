"""A policy's rules in the reader's language, for the notice, "check my compensation" and the
console.

English is each rule's own :meth:`~makegood.domain.rules.Rule.terms` and
:meth:`~makegood.domain.rules.Eligibility.describe` (what ``makegood policy show`` prints).
Korean is said here from the same fields, every rule kind: who a rule covers, what triggers it,
what it gives and how it rounds. Amounts, durations and roundings are worded by
:mod:`makegood.domain.award_text` and service names by :mod:`makegood.domain.notice_text`, so a
rule, an award's explanation and a notice read alike.

Pure: standard library only.
"""

from __future__ import annotations

from makegood.domain.award_text import money, quantity, rounding, span, time_rounding
from makegood.domain.money import format_amount
from makegood.domain.names import kind_word, service_name
from makegood.domain.policy import Policy
from makegood.domain.rules import (
    DayStep,
    Eligibility,
    ExtensionMultiple,
    FeeMultiple,
    Fixed,
    Goodwill,
    LossBrackets,
    PerDay,
    Rule,
    SlaTiers,
    Trigger,
)

SEGMENTS = {"individual": "개인", "small_business": "소상공인", "enterprise": "기업"}
CHANNELS = {"web": "웹에서", "app_store": "앱 장터에서", "other": "기타 경로로"}
_MEASURE = {"cumulative": "합계 장애 시간", "continuous": "가장 긴 연속 장애 시간"}


def who(when: Eligibility) -> str:
    """``웹에서 산 이모티콘 플러스 유료 구독``."""
    parts = []
    if when.channels:
        parts.append("/".join(CHANNELS.get(c.value, c.value) for c in when.channels) + " 산")
    if when.segments:
        parts.append("/".join(SEGMENTS.get(s.value, s.value) for s in when.segments))
    parts.append(", ".join(service_name(s, "ko") for s in when.services) if when.services
                 else "모든 서비스")
    if when.features:
        parts.append(f"({', '.join(when.features)} 기능)")
    if when.plans:
        parts.append(f"({', '.join(when.plans)} 요금제)")
    if when.paid is True:
        parts.append("유료 구독")
    elif when.paid is False:
        parts.append("무료 이용")
    else:
        parts.append("이용")
    return " ".join(parts)


def trigger(t: Trigger) -> str:
    """``연속 2시간 이상 장애가 있었다면``; no threshold: ``장애가 있었다면``."""
    parts = []
    for label, value in (("연속 {} 이상", t.continuous_at_least), ("연속 {} 초과", t.continuous_more_than),
                         ("합계 {} 이상", t.cumulative_at_least), ("합계 {} 초과", t.cumulative_more_than)):
        if value is not None:
            parts.append(label.format(span(value, "ko")))
    return (" 또는 ".join(parts) + " 장애가 있었다면") if parts else "장애가 있었다면"


def _kind(rule: Fixed | FeeMultiple | PerDay) -> str:
    return kind_word(rule.award_kind.value, "ko")


def _ro(word: str) -> str:
    """``크레딧으로``, ``환불로``: the particle after the word's last syllable."""
    last = ord(word[-1]) - 0xAC00
    final = last % 28 if 0 <= last < 11172 else 0
    return word + ("으로" if final not in (0, 8) else "로")


def terms(rule: Rule, currency: str) -> str | None:
    """What the rule gives, in Korean, amounts in ``currency`` (the policy's); ``None`` for a
    kind not worded here yet."""
    ko = "ko"
    if isinstance(rule, Fixed):
        if rule.extension is not None:
            return f"장애가 있었다면 이용 기간 {quantity(*rule.extension, ko)} 연장"
        if rule.fee_time is not None:
            return (f"장애가 있었다면 요금 {span(rule.fee_time, ko)}분의 {_kind(rule)} "
                    f"({rounding(rule.rounding, currency, ko)})")
        assert rule.amount is not None
        return f"장애가 있었다면 {_kind(rule)} {quantity(rule.amount, rule.unit or currency, ko)}"
    if isinstance(rule, ExtensionMultiple):
        fm = ""
        if rule.force_majeure_multiplier != rule.multiplier:
            fm = f" (불가항력이면 {format_amount(rule.force_majeure_multiplier)}배)"
        return (f"{trigger(rule.trigger)} {_MEASURE[rule.measure]}의 "
                f"{format_amount(rule.multiplier)}배만큼 이용 기간 무료 연장{fm}, "
                f"{time_rounding(rule.rounding, ko)}")
    if isinstance(rule, FeeMultiple):
        return (f"{trigger(rule.trigger)} {_MEASURE[rule.measure]}의 "
                f"{format_amount(rule.multiplier)}배에 해당하는 요금을 {_ro(_kind(rule))}, "
                f"시간은 {time_rounding(rule.time_rounding, ko)}, "
                f"금액은 {rounding(rule.rounding, currency, ko)}")
    if isinstance(rule, SlaTiers):
        tiers = ", ".join(f"{t.below}% 미만이면 {format_amount(t.percent)}%" for t in rule.tiers)
        text = f"그 달의 가용률에 따라 그 달 요금의 일정 비율을 크레딧으로: {tiers}"
        if rule.max_percent is not None:
            text += f", 최대 {format_amount(rule.max_percent)}%"
        if rule.min_credit:
            text += f"; {money(rule.min_credit, currency, ko)} 미만은 지급하지 않음"
        return text
    if isinstance(rule, PerDay):
        return _per_day(rule, currency)
    if isinstance(rule, Goodwill):
        return f"영향을 받은 계정마다 {quantity(rule.quantity, rule.item, ko)} (한 번)"
    if isinstance(rule, LossBrackets):
        steps = ", ".join(f"{money(b.up_to, currency, ko)} 이하 {money(b.amount, currency, ko)}"
                          for b in rule.brackets)
        what = ("비교 기간의 가장 좋은 주 매출에서 장애 주간 매출을 뺀 금액"
                if rule.source == "computed" else "신고한 손실")
        return (f"매출 손실({what})에 따라 {kind_word('cash', 'ko')}: {steps}, "
                "그보다 크면 개별 심사")
    return None


def _per_day(rule: PerDay, currency: str) -> str:
    n = rule.grace_days
    grace = {"working": f"영업일 {n}일({rule.calendar} 휴일 달력) 안에 복구되지 않으면",
             "calendar": f"만 {n}일 안에 복구되지 않으면",
             "elapsed": f"{n * 24}시간 안에 복구되지 않으면"}[rule.grace]
    per = ("그 뒤 시작된 24시간마다" if rule.grace == "elapsed"
           else "그 뒤 장애가 걸친 현지 날짜마다")

    def step(s: DayStep) -> str:
        fixed = money(s.amount, currency, "ko")
        if s.fee_share:
            return (f"{s.from_day}일째부터 하루 {fixed} 또는 월 요금의 "
                    f"{format_amount(s.fee_share * 100)}% 중 큰 금액")
        return f"{s.from_day}일째부터 하루 {fixed}"

    steps = ", ".join(step(s) for s in rule.steps)
    return f"{grace} {per} {_kind(rule)}: 유예 뒤 {steps}"


def describe(rule: Rule, lang: str, currency: str = "") -> tuple[str, str]:
    """(text, language) of a rule for a reader of ``lang``; amounts in ``currency``."""
    words = terms(rule, currency) if lang == "ko" else None
    if words is not None:  # a kind added later reads in the policy's English until worded here
        text = f"{who(rule.when)}: {words}"
        if rule.cap is not None:
            text += f"; 한 번에 최대 {money(rule.cap, currency, 'ko')}"
        return text, "ko"
    text = f"{rule.when.describe()}: {rule.terms()}"
    if rule.cap is not None:
        text += f"; at most {format_amount(rule.cap)} per award"
    return text, "en"


def policy_lines(policy: Policy, lang: str) -> list[str]:
    """The policy's rules and caps, one line each, in ``lang``."""
    lines = [describe(rule, lang, policy.currency)[0] for rule in policy.rules]
    cur = policy.currency
    if policy.caps.per_account is not None:
        lines.append(f"계정당 금전 보상은 최대 {money(policy.caps.per_account, cur, 'ko')}"
                     if lang == "ko" else
                     f"cap: at most {format_amount(policy.caps.per_account)} {cur} "
                     "of money awards per account")
    if policy.caps.fund is not None:
        reserve = format_amount(policy.caps.reserve * 100)
        lines.append(f"기금 {money(policy.caps.fund, cur, 'ko')}, 예비금 {reserve}%; 현금 보상이 "
                     "지급 가능액을 넘으면 모두 같은 비율로 줄어듦"
                     if lang == "ko" else
                     f"fund: {format_amount(policy.caps.fund)} {cur}, reserve {reserve} %; cash "
                     "awards scale pro rata when they exceed what is available")
    return lines
