"""Screening: every claim starts at 1,000 points and loses a documented weight per failed criterion.

Claims administrators screen the same way (DOMAIN.md): a score per claim, a reason code per
deduction that a claimant or a court can read, rejection recommended below 700 points and never
on one criterion alone. Here every code has a weight and a sentence in English and Korean, the
weights are chosen so that no single code can bring a claim below 700 (the largest is 300), and
:func:`screen` refuses to recommend rejection on fewer than two distinct codes even if the
weights are changed. A shared network address is weak on its own (one case had 5,400 claims from
one address, about 1,000 of them from one house), so it weighs least.

Also here, pure helpers for identities: an e-mail address reduced to the mailbox it reaches, and
the "one deletion" keys that find addresses one typed character apart.

Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

START = 1000
REJECT_BELOW = 700


@dataclass(frozen=True, slots=True)
class Deduction:
    code: str
    weight: int
    en: str
    ko: str


DEDUCTIONS: dict[str, Deduction] = {d.code: d for d in (
    Deduction("IP_BURST", 50,
              "Five or more claims came from the same network address within one hour. Shared "
              "networks (offices, cafés, mobile carriers) do this too, so it counts little alone.",
              "같은 네트워크 주소에서 1시간 안에 5건 이상이 접수되었습니다. 회사·카페·통신사처럼 여럿이 쓰는 "
              "네트워크에서도 생기므로 이것만으로는 작게 반영합니다."),
    Deduction("DEVICE_BURST", 100,
              "Five or more claims came from the same device within one hour.",
              "같은 기기에서 1시간 안에 5건 이상이 접수되었습니다."),
    Deduction("SHARED_PAYOUT", 200,
              "The bank account for the payment is also given on a claim of another person.",
              "지급받을 계좌가 다른 사람의 신청서에도 적혀 있습니다."),
    Deduction("SHARED_EVIDENCE", 200,
              "The same evidence file (identical content) is attached to another claim.",
              "같은 증빙 파일(내용이 똑같은 파일)이 다른 신청서에도 첨부되어 있습니다."),
    Deduction("NEAR_DUPLICATE_TEXT", 150,
              "The description is nearly the same as another claim's, apart from small edits.",
              "피해 내용이 다른 신청서와 몇 글자만 다르고 거의 같습니다."),
    Deduction("IDENTITY_VARIANT", 150,
              "The e-mail address or phone number is a variant of another claim's (dots, a +tag, "
              "capitals or one character changed; the same phone number written another way).",
              "이메일 주소나 전화번호가 다른 신청서의 것과 사실상 같습니다"
              "(점, +태그, 대소문자, 한 글자 차이, 다르게 적은 같은 전화번호)."),
    Deduction("DISPOSABLE_EMAIL", 100,
              "The e-mail address is at a throwaway mail service.",
              "이메일 주소가 일회용 메일 서비스의 주소입니다."),
    Deduction("SERVICE_NOT_HELD", 200,
              "The account held no subscription to the claimed service at the claimed time.",
              "신청한 시간에 해당 계정이 신청한 서비스를 이용하고 있지 않았습니다."),
    Deduction("OUTSIDE_WINDOWS", 200,
              "The claimed time lies outside every outage window of the incident for that service.",
              "신청한 시간이 해당 서비스의 장애 시간 어디에도 걸치지 않습니다."),
    Deduction("AMOUNT_OUTLIER", 100,
              "The amount claimed is far above what claims of the same kind usually state.",
              "신청 금액이 같은 종류의 신청서들이 보통 적는 금액보다 훨씬 큽니다."),
    Deduction("LEDGER_COVERED", 150,
              "The loss is already compensated automatically (the compensation ledger).",
              "이 손해는 이미 자동 보상(보상 원장)으로 지급되었습니다."),
    Deduction("DUPLICATE_CONFIRMED", 300,
              "A reviewer found this claim to be a duplicate of another claim.",
              "심사자가 이 신청서를 다른 신청서와 중복이라고 판단했습니다."),
)}


class Recommendation(StrEnum):
    CLEAR = "clear"  # no deduction
    REVIEW = "review"  # deductions, but not enough to recommend rejection
    REJECT = "reject"  # below 700 on two or more distinct criteria


@dataclass(frozen=True, slots=True)
class Screening:
    score: int
    codes: tuple[str, ...]  # in the order of DEDUCTIONS
    recommendation: Recommendation


def screen(codes: Iterable[str]) -> Screening:
    """The score and recommendation for a claim's deduction codes (each code counts once).

    Worked example: SHARED_PAYOUT (200) + NEAR_DUPLICATE_TEXT (150) + IP_BURST (50) -> 600
    points, three criteria -> ``reject``; DUPLICATE_CONFIRMED alone -> 700 -> ``review``.
    """
    found = set(codes)
    unknown = found - DEDUCTIONS.keys()
    if unknown:
        raise ValueError(f"unknown deduction codes: {sorted(unknown)}")
    ordered = tuple(code for code in DEDUCTIONS if code in found)
    score = START - sum(DEDUCTIONS[c].weight for c in ordered)
    if not ordered:
        return Screening(score, ordered, Recommendation.CLEAR)
    if score < REJECT_BELOW and len(ordered) >= 2:  # never on one criterion alone
        return Screening(score, ordered, Recommendation.REJECT)
    return Screening(score, ordered, Recommendation.REVIEW)


# ---------------------------------------------------------------------------------------------
# Identities

# Mail domains that deliver to the same mailboxes.
_SAME_MAILBOX = {"googlemail.com": "gmail.com", "hanmail.net": "daum.net"}


def mailbox(email: str) -> str:
    """The mailbox an address reaches, for matching: lower case, ``+tag`` and dots dropped from
    the name, known alias domains folded (``Kim.Min+kakao@Hanmail.net`` -> ``kimmin@daum.net``).

    Dots and tags are dropped for every domain, not only those that ignore them: a screener
    looks for one person behind several addresses, and ``k.im`` next to ``ki.m`` is a signal
    either way.
    """
    text = email.strip().lower()
    name, at, domain = text.rpartition("@")
    if not at:
        return text
    name = name.split("+", 1)[0].replace(".", "")
    return f"{name}@{_SAME_MAILBOX.get(domain, domain)}"


def email_domain(email: str) -> str:
    return email.strip().lower().rpartition("@")[2]


def deletion_keys(text: str) -> set[str]:
    """``text`` and every string with one character removed: two strings one edit apart
    (a changed, added or dropped character) always share one of these keys."""
    return {text} | {text[:i] + text[i + 1:] for i in range(len(text))}


def one_edit_apart(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by exactly one inserted, deleted or replaced character
    that is not a digit: ``kim.minsu7`` and ``kim.minsu8`` are usually two people, numbered by
    the mail service, while ``kimminsu`` and ``kimminsoo`` is the typo a variant is made of."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
        return len(diff) == 1 and not (diff[0][0].isdigit() or diff[0][1].isdigit())
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1:] and not long_[i].isdigit()
