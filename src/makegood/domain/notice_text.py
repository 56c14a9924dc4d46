"""The words of a notice, in Korean and English: subject, plain text and HTML for email, and a
short text for SMS, push and AlimTalk.

A notice stores its facts (the payload: the awards from the ledger, or the claim's state), not
its words; the words are rendered when it is sent, in the recipient's language. Award lines come
from the ledger's explanation columns (service, kind, amount, unit, counted seconds, code).

Pure: standard library only.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from makegood.domain import award_text
from makegood.domain.money import format_amount
from makegood.domain.names import kind_word, service_name
from makegood.domain.notices import NoticeKind

SMS_LIMIT = 140  # characters of a short notice; the rest is cut with an ellipsis

_UNITS = {"day": {"ko": "일", "en": "days"}, "hour": {"ko": "시간", "en": "hours"}}

_SUBJECT = {
    NoticeKind.AWARD_GRANTED: {"ko": "[{title}] 장애 보상 안내", "en": "[{title}] Your compensation"},
    NoticeKind.CLAIM_RECEIVED: {"ko": "[{title}] 피해 접수 완료 ({claim_id})",
                                "en": "[{title}] We received your claim ({claim_id})"},
    NoticeKind.INFORMATION_REQUESTED: {"ko": "[{title}] 추가 자료 요청 ({claim_id})",
                                       "en": "[{title}] More information needed ({claim_id})"},
    NoticeKind.DECISION: {"ko": "[{title}] 피해 신청 결과 ({claim_id})",
                          "en": "[{title}] Decision on your claim ({claim_id})"},
    NoticeKind.PAYOUT_SENT: {"ko": "[{title}] 보상금 지급 완료", "en": "[{title}] Payment sent"},
    NoticeKind.PAYOUT_FAILED: {"ko": "[{title}] 보상금 지급 실패: 계좌 확인 필요",
                               "en": "[{title}] Payment failed: please check your account"},
    NoticeKind.DEADLINE_REMINDER: {"ko": "[{title}] 마감 안내: {deadline}까지",
                                   "en": "[{title}] Reminder: due by {deadline}"},
    NoticeKind.RESUME_LINK: {"ko": "[{title}] 저장한 피해 신청서 이어서 작성하기",
                             "en": "[{title}] Continue the claim you saved"},
    NoticeKind.DRAFT_REMINDER: {"ko": "[{title}] 작성 중인 피해 신청서가 아직 제출되지 않았습니다",
                                "en": "[{title}] Your saved claim is not submitted yet"},
}
_BODY = {
    NoticeKind.AWARD_GRANTED: {
        "ko": "{incident_window} 장애로 불편을 드려 죄송합니다. 계정 {account_id}에 다음 보상이 "
              "지급됩니다. 별도 신청은 필요하지 않습니다.",
        "en": "We are sorry for the outage ({incident_window}). Account {account_id} receives "
              "the following; you need not apply."},
    NoticeKind.CLAIM_RECEIVED: {
        "ko": "{service} 피해 신청({claim_id})이 접수되었습니다. 심사 결과를 알려 드리겠습니다.",
        "en": "Your claim {claim_id} about {service} was received. We will tell you the decision."},
    NoticeKind.INFORMATION_REQUESTED: {
        "ko": "신청 {claim_id} 심사를 위해 추가 자료가 필요합니다: {note} "
              "{deadline}까지 제출해 주세요.",
        "en": "To decide claim {claim_id} we need more information: {note} "
              "Please send it by {deadline}."},
    NoticeKind.DECISION: {
        "ko": "신청 {claim_id} 결과: {outcome}. {detail}",
        "en": "Claim {claim_id}: {outcome}. {detail}"},
    NoticeKind.PAYOUT_SENT: {
        "ko": "{amount_text}이(가) {destination}(으)로 지급되었습니다 (지급 번호 {payout_id}).",
        "en": "{amount_text} was sent to {destination} (payment {payout_id})."},
    NoticeKind.PAYOUT_FAILED: {
        "ko": "{amount_text} 지급이 실패했습니다 ({reason}). 계좌 정보를 확인해 주세요 "
              "(지급 번호 {payout_id}).",
        "en": "Payment of {amount_text} failed ({reason}). Please check your account details "
              "(payment {payout_id})."},
    NoticeKind.DEADLINE_REMINDER: {
        "ko": "신청 {claim_id}의 마감은 {deadline}입니다. 기한이 지나면 심사를 진행할 수 없습니다.",
        "en": "Claim {claim_id} is due by {deadline}. After that we cannot go on with it."},
    NoticeKind.RESUME_LINK: {
        "ko": "저장하신 {service}피해 신청서는 {expires}까지 이어서 작성할 수 있습니다. 링크를 가진 "
              "사람은 누구나 신청서를 볼 수 있으니 공유하지 마세요.",
        "en": "You can continue the {service}claim you saved until {expires}. Anyone with the "
              "link can see the claim, so do not share it."},
    NoticeKind.DRAFT_REMINDER: {
        "ko": "저장하신 {service}피해 신청서가 아직 제출되지 않았습니다. {due}",
        "en": "The {service}claim you saved is not submitted yet. {due}"},
}
# Kinds whose notice carries a secret link (sealed in the outbox): what introduces the link,
# and what is said instead when no link can be given (no public address configured).
_LINK = {
    NoticeKind.CLAIM_RECEIVED: {"ko": "신청 진행 상황 보기", "en": "Follow your claim"},
    NoticeKind.RESUME_LINK: {"ko": "이어서 작성하기", "en": "Continue your claim"},
    NoticeKind.DRAFT_REMINDER: {"ko": "이어서 작성하기", "en": "Continue your claim"},
}
_NO_LINK = {
    NoticeKind.CLAIM_RECEIVED: {
        "ko": "접수증의 신청 번호와 접수 코드로 포털의 신청 조회 페이지에서 진행 상황을 확인할 수 "
              "있습니다.",
        "en": "Follow it on the portal's claim tracking page with the claim number and the "
              "receipt code from your receipt."},
    NoticeKind.RESUME_LINK: {
        "ko": "신청서를 저장할 때 화면에 표시된 링크로 이어서 작성할 수 있습니다.",
        "en": "Continue from the link shown on the page when you saved the claim."},
    NoticeKind.DRAFT_REMINDER: {
        "ko": "신청서를 저장할 때 화면에 표시된 링크로 이어서 작성할 수 있습니다.",
        "en": "Continue from the link shown on the page when you saved the claim."},
}
_DUE = {"ko": "{deadline}까지 제출해 주세요.", "en": "Please submit it by {deadline}."}
_KEPT = {"ko": "저장된 신청서는 {expires}까지 보관됩니다.",
         "en": "The saved claim is kept until {expires}."}
_OUTCOME = {"approved": {"ko": "승인", "en": "approved"}, "denied": {"ko": "거절", "en": "denied"},
            "pending_second_approval": {"ko": "승인 검토 중", "en": "approved, pending a second check"}}


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str
    html: str
    short: str


def quantity(amount: Decimal | str, unit: str, language: str) -> str:
    """``3일``, ``7,550원`` (as the web pages say it) / ``3 days``, ``7,550 KRW``."""
    if language == "ko":
        return award_text.quantity(Decimal(str(amount)), unit, "ko")
    value = format_amount(Decimal(str(amount)))
    if unit in _UNITS:
        word = _UNITS[unit][language]
        if language == "en" and unit == "day" and Decimal(str(amount)) == 1:
            word = "day"
        return f"{value}{word}" if language == "ko" else f"{value} {word}"
    return f"{value} {unit}"


def award_line(award: Mapping[str, Any], language: str) -> str:
    """One ledger row in words: ``Melon: extension 3 days (outage counted 10 h 30 min)``."""
    kind = kind_word(str(award["kind"]), language)
    seconds = int(award.get("counted_seconds") or 0)
    hours, minutes = divmod(seconds // 60, 60)
    counted = (f"장애 {hours}시간 {minutes}분 반영" if language == "ko"
               else f"outage counted {hours} h {minutes} min")
    return (f"{service_name(str(award['service']), language)}: {kind} "
            f"{quantity(award['amount'], str(award['unit']), language)} ({counted})")


def _local(value: Any, tz: ZoneInfo, language: str) -> str:
    if not value:
        return ""
    instant = datetime.fromisoformat(str(value)).astimezone(tz)
    return instant.strftime("%Y-%m-%d %H:%M") + (" KST" if str(tz) == "Asia/Seoul" else f" {tz}")


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def render(kind: NoticeKind, language: str, payload: Mapping[str, Any],
           link: str | None = None) -> Message:
    """The notice in ``language`` (``ko`` or ``en``; anything else reads English).

    ``link``: the notice's secret link (opened from its sealed part when it is sent), shown in
    the text, the HTML and, never cut, at the end of the short text. A kind that carries a link
    says what to do instead when there is none.
    """
    lang = language if language in ("ko", "en") else "en"
    tz = ZoneInfo(str(payload.get("timezone") or "UTC"))
    facts = _Blank({k: str(v) for k, v in payload.items() if isinstance(v, str | int)})
    facts["title"] = str(payload.get("title") or payload.get("incident_id") or "")
    facts["service"] = service_name(str(payload.get("service", "")), lang)
    facts["deadline"] = _local(payload.get("deadline"), tz, lang)
    facts["expires"] = _local(payload.get("expires_at"), tz, lang)
    if kind in (NoticeKind.RESUME_LINK, NoticeKind.DRAFT_REMINDER):
        facts["service"] = facts["service"] + " " if payload.get("service") else ""
        facts["due"] = (_DUE if facts["deadline"] else _KEPT)[lang].format_map(facts)
    window = payload.get("window")
    if isinstance(window, list | tuple) and len(window) == 2:
        facts["incident_window"] = f"{_local(window[0], tz, lang)} ~ {_local(window[1], tz, lang)}"
    if "amount" in payload and "currency" in payload:
        facts["amount_text"] = quantity(payload["amount"], str(payload["currency"]), lang)
    if kind is NoticeKind.DECISION:
        outcome = str(payload.get("outcome", ""))
        facts["outcome"] = _OUTCOME.get(outcome, {}).get(lang, outcome)
        if payload.get("amount") is not None and payload.get("currency"):
            facts["detail"] = (f"지급액 {facts['amount_text']}" if lang == "ko"
                               else f"Amount: {facts['amount_text']}")
        elif payload.get("reason_code"):
            facts["detail"] = (f"사유 코드 {payload['reason_code']}" if lang == "ko"
                               else f"Reason code {payload['reason_code']}")
    subject = _SUBJECT[kind][lang].format_map(facts)
    body = _BODY[kind][lang].format_map(facts)
    lines = [award_line(a, lang) for a in payload.get("awards", ())]
    link_text = link_html = ""
    if kind in _LINK and link:
        label = _LINK[kind][lang]
        link_text = f"\n{label}: {link}\n"
        link_html = (f'<p><a href="{html.escape(link, quote=True)}">{html.escape(label)}</a><br>'
                     f"{html.escape(link)}</p>")
    elif kind in _NO_LINK:
        body = f"{body} {_NO_LINK[kind][lang]}"
    text = "\n".join([body, "", *(f"- {line}" for line in lines)]).rstrip() + "\n" + link_text
    html_body = ("<!doctype html><html lang=\"{lang}\"><meta charset=\"utf-8\"><body>"
                 "<p>{body}</p>{items}{link}</body></html>").format(
        lang=lang, body=html.escape(body), link=link_html,
        items=("<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>")
        if lines else "")
    short = f"[{facts['title']}] {body}" if not lines else \
        f"[{facts['title']}] " + ("보상: " if lang == "ko" else "Awarded: ") + "; ".join(lines)
    room = SMS_LIMIT - (len(link) + 1 if link_text and link else 0)
    if len(short) > room:
        short = short[:max(room, 20) - 1] + "…"
    if link_text and link:
        short = f"{short} {link}"
    return Message(subject=subject, text=text, html=html_body, short=short)
