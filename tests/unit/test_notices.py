"""Notices in the domain: keys, blast radius (the 2022 case), fallback verdicts, back-off,
circuit breaker, throttle, and the words in Korean and English."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from makegood.adapters.scenario import kakao_2022_incident
from makegood.domain.notice_text import SMS_LIMIT, render
from makegood.domain.notices import (
    BlastRadius,
    Channel,
    CircuitBreaker,
    Contact,
    DeliveryStatus,
    NoticeKind,
    Retry,
    Routing,
    Throttle,
    Verdict,
    after_attempt,
    down_services,
    idempotency_key,
    mask,
    provider_key,
)

KST = ZoneInfo("Asia/Seoul")
RADIUS_2022 = BlastRadius(
    channels={"push": ("messenger",), "alimtalk": ("messenger", "biz_channel")},
    email_domains={"kakao.com": ("kakao_mail",), "daum.net": ("daum_mail",),
                   "hanmail.net": ("daum_mail",)})


def test_the_same_event_gives_the_same_key_and_another_run_another() -> None:
    a = idempotency_key(account_id="A1", incident_id="i", kind=NoticeKind.AWARD_GRANTED,
                        event="run1")
    assert a == idempotency_key(account_id="A1", incident_id="i",
                                kind=NoticeKind.AWARD_GRANTED, event="run1")
    assert a != idempotency_key(account_id="A1", incident_id="i",
                                kind=NoticeKind.AWARD_GRANTED, event="run2")
    assert a == "award_granted|i|A1|run1"


def test_long_keys_are_hashed_to_fit_the_column() -> None:
    key = idempotency_key(account_id="A" * 300, incident_id="i", kind=NoticeKind.DECISION,
                          event="e")
    assert len(key) <= 220
    assert key.startswith("decision|sha256:")


def test_provider_key_is_stable_per_channel() -> None:
    assert provider_key("k", Channel.SMS) == provider_key("k", Channel.SMS)
    assert provider_key("k", Channel.SMS) != provider_key("k", Channel.EMAIL)


def test_daum_mail_is_down_on_17_october_2022_and_the_messenger_is_back() -> None:
    down = down_services(kakao_2022_incident(), datetime(2022, 10, 17, 12, tzinfo=KST))
    assert {"kakao_mail", "daum_mail", "biz_channel"} <= down
    assert "messenger" not in down  # text back 16 Oct 01:31, media 16 Oct 22:00


def test_an_address_at_the_operators_own_mail_is_skipped_while_its_mail_is_down() -> None:
    down = down_services(kakao_2022_incident(), datetime(2022, 10, 17, 12, tzinfo=KST))
    assert RADIUS_2022.blocked_by(Channel.EMAIL, "kim@hanmail.net", down) == ("daum_mail",)
    assert RADIUS_2022.blocked_by(Channel.EMAIL, "kim@Kakao.com", down) == ("kakao_mail",)
    assert RADIUS_2022.blocked_by(Channel.EMAIL, "kim@gmail.com", down) == ()
    assert RADIUS_2022.blocked_by(Channel.ALIMTALK, "+821012345678", down) == ("biz_channel",)
    assert RADIUS_2022.blocked_by(Channel.PUSH, "push-1", down) == ()


def test_push_is_skipped_while_the_messenger_is_down() -> None:
    down = down_services(kakao_2022_incident(), datetime(2022, 10, 15, 18, tzinfo=KST))
    assert RADIUS_2022.blocked_by(Channel.PUSH, "push-1", down) == ("messenger",)


def test_everything_is_back_after_the_official_end() -> None:
    assert down_services(kakao_2022_incident(), datetime(2022, 10, 21, tzinfo=KST)) == frozenset()


def test_chain_leaves_out_channels_the_recipient_has_no_address_for() -> None:
    routing = Routing({"default": (Channel.PUSH, Channel.SMS, Channel.EMAIL),
                       "claim_received": (Channel.EMAIL, Channel.SMS)})
    contact = Contact("A1", email="a@b.kr", phone=None, push_id="p")
    assert routing.chain(NoticeKind.AWARD_GRANTED, contact) == (Channel.PUSH, Channel.EMAIL)
    assert routing.chain(NoticeKind.CLAIM_RECEIVED, contact) == (Channel.EMAIL,)


def _verdict(status: DeliveryStatus, *, tries: int = 1, age: float = 0, last: bool = False,
             skipped: bool = False) -> Verdict:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return after_attempt(status, tries=tries, step_started=now - timedelta(seconds=age),
                         now=now, retry=Retry(max_tries=3, step_timeout=timedelta(minutes=1)),
                         last_step=last, skipped_any=skipped)


def test_temporary_failures_retry_then_fall_back() -> None:
    assert _verdict(DeliveryStatus.TEMPORARY_FAILURE, tries=1) is Verdict.RETRY
    assert _verdict(DeliveryStatus.TEMPORARY_FAILURE, tries=3) is Verdict.NEXT
    assert _verdict(DeliveryStatus.TECHNICAL_FAILURE, tries=1, age=61) is Verdict.NEXT


def test_permanent_failure_falls_back_at_once_and_gives_up_at_the_end() -> None:
    assert _verdict(DeliveryStatus.PERMANENT_FAILURE) is Verdict.NEXT
    assert _verdict(DeliveryStatus.PERMANENT_FAILURE, last=True) is Verdict.GIVE_UP
    assert _verdict(DeliveryStatus.PERMANENT_FAILURE, last=True, skipped=True) is Verdict.WAIT
    assert _verdict(DeliveryStatus.DELIVERED, last=True) is Verdict.DONE


def test_backoff_grows_exponentially_within_its_cap_with_jitter() -> None:
    retry = Retry(base=timedelta(seconds=2), cap=timedelta(seconds=300))
    rng = random.Random(1)
    delays = [retry.delay(4, rng) for _ in range(200)]
    assert all(timedelta(milliseconds=200) <= d <= timedelta(seconds=32) for d in delays)
    assert len(set(delays)) > 150  # jittered
    assert max(retry.delay(30, rng) for _ in range(50)) <= timedelta(seconds=300)


def test_circuit_opens_after_the_threshold_and_half_opens_after_the_cool_down() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    breaker = CircuitBreaker(threshold=3, cool_down=timedelta(seconds=30))
    for _ in range(3):
        assert breaker.allows(now)
        breaker.record(DeliveryStatus.TECHNICAL_FAILURE, now)
    assert not breaker.allows(now + timedelta(seconds=29))
    assert breaker.allows(now + timedelta(seconds=30))  # one trial
    assert not breaker.allows(now + timedelta(seconds=30))
    breaker.record(DeliveryStatus.DELIVERED, now + timedelta(seconds=31))
    assert breaker.state == "closed"


def test_a_refused_recipient_does_not_open_the_circuit() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    breaker = CircuitBreaker(threshold=2)
    for _ in range(5):
        breaker.record(DeliveryStatus.PERMANENT_FAILURE, now)
    assert breaker.state == "closed"


def test_throttle_holds_to_its_rate_after_the_burst() -> None:
    bucket = Throttle(rate=10, burst=2, tokens=2, at=0.0)
    assert bucket.wait(0.0) == 0
    assert bucket.wait(0.0) == 0
    assert abs(bucket.wait(0.0) - 0.1) < 1e-9


def test_masked_addresses_keep_domain_and_last_digits() -> None:
    assert mask("kimminsu@daum.net") == "ki***@daum.net"
    assert mask("+821012345678") == "+82******5678"


AWARDS = {"title": "판교 데이터센터 화재", "timezone": "Asia/Seoul",
          "window": ["2022-10-15T06:30:00+00:00", "2022-10-20T14:00:00+00:00"],
          "account_id": "A000000042",
          "awards": [{"service": "taxi_pro", "kind": "credit", "amount": "7550.000000",
                      "unit": "KRW", "currency": "KRW", "code": "R", "counted_seconds": 84600},
                     {"service": "music", "kind": "extension", "amount": "3.000000",
                      "unit": "day", "currency": None, "code": "R", "counted_seconds": 37800}]}


def test_award_notice_in_korean_lists_each_award_from_the_ledger() -> None:
    message = render(NoticeKind.AWARD_GRANTED, "ko", AWARDS)
    # money in won as the web pages say it (DOMAIN.md: Kakao T Pro, 7,550 credit)
    assert "카카오 T 프로 멤버십: 크레딧 7,550원 (장애 23시간 30분 반영)" in message.text
    assert "멜론: 이용 기간 연장 3일" in message.text
    assert "2022-10-15 15:30 KST ~ 2022-10-20 23:00 KST" in message.text
    assert "<li>" in message.html
    assert len(message.short) <= SMS_LIMIT


def test_award_notice_in_english() -> None:
    message = render(NoticeKind.AWARD_GRANTED, "en", AWARDS)
    assert message.subject == "[판교 데이터센터 화재] Your compensation"
    assert "Melon: extension 3 days (outage counted 10 h 30 min)" in message.text


def test_html_escapes_what_people_typed() -> None:
    message = render(NoticeKind.INFORMATION_REQUESTED, "en", {
        "claim_id": "c1", "note": "<script>x</script>", "deadline": "2022-11-01T00:00:00+00:00",
        "timezone": "Asia/Seoul"})
    assert "<script>" not in message.html
    assert "&lt;script&gt;" in message.html
    assert "2022-11-01 09:00 KST" in message.text


def test_decision_notice_says_the_amount() -> None:
    message = render(NoticeKind.DECISION, "ko", {"claim_id": "c9", "outcome": "approved",
                                                 "amount": "30000", "currency": "KRW"})
    assert "승인" in message.text
    assert "30,000원" in message.text
    english = render(NoticeKind.DECISION, "en", {"claim_id": "c9", "outcome": "approved",
                                                 "amount": "30000", "currency": "KRW"})
    assert "30,000 KRW" in english.text


LINK = "https://claims.example.com/portal/track/" + "c" * 32 + "/" + "t" * 32


def test_a_receipt_carries_its_tracking_link_whole_in_every_form() -> None:
    message = render(NoticeKind.CLAIM_RECEIVED, "ko", {
        "title": "카카오 서비스 장애", "claim_id": "c" * 32, "service": "messenger"}, LINK)
    assert f"신청 진행 상황 보기: {LINK}" in message.text
    assert f'<a href="{LINK}">' in message.html
    assert message.short.endswith(" " + LINK)  # never cut, even past the short limit
    assert message.short.startswith("[카카오 서비스 장애]")
    assert "포털의 신청 조회 페이지" not in message.text


def test_without_a_link_a_receipt_says_where_to_follow_the_claim() -> None:
    message = render(NoticeKind.CLAIM_RECEIVED, "en", {"claim_id": "c1", "service": "music"})
    assert "claim tracking page with the claim number and the receipt code" in message.text
    assert "http" not in message.text + message.short
    assert len(message.short) <= SMS_LIMIT


def test_a_draft_reminder_says_the_deadline_or_how_long_the_draft_is_kept() -> None:
    facts = {"title": "Kakao outage", "timezone": "Asia/Seoul",
             "expires_at": "2022-11-19T01:00:00+00:00"}
    due = render(NoticeKind.DRAFT_REMINDER, "en", {**facts,
                                                   "deadline": "2022-11-06T15:00:00+00:00"},
                 "https://x.example/portal/drafts/abc")
    assert "Please submit it by 2022-11-07 00:00 KST." in due.text
    assert "Continue your claim: https://x.example/portal/drafts/abc" in due.text
    kept = render(NoticeKind.DRAFT_REMINDER, "ko", facts)
    assert "2022-11-19 10:00 KST까지 보관됩니다" in kept.text
    assert "화면에 표시된 링크로" in kept.text  # no link: where to find it instead
    resume = render(NoticeKind.RESUME_LINK, "ko", {**facts, "service": "music"}, "https://x/y")
    assert "멜론 피해 신청서는 2022-11-19 10:00 KST까지" in resume.text
    assert resume.subject == "[Kakao outage] 저장한 피해 신청서 이어서 작성하기"
