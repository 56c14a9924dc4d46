"""Rules and awards in Korean and English: every shipped policy's rules, and the DOMAIN.md worked
examples explained with the right numbers in both languages."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from tests.factories import UTC, account, at, incident, subscription

from makegood import policies
from makegood.domain.accounts import Channel, Segment
from makegood.domain.awards import Award
from makegood.domain.compensation import compensate, compensate_all
from makegood.domain.local_calendar import WorkingCalendar
from makegood.domain.policy import Policy, read_policy
from makegood.domain.rule_text import describe, policy_lines
from makegood.domain.rules import StaticCalendars

SHIPPED = sorted(p.stem for p in policies.path("content-3x").parent.glob("*.toml"))
# Kept as written on purpose: currency codes, time-zone abbreviations, a holiday calendar's code.
OFFICIAL = ("2022-10-15 15:30", "2022-10-20 23:00")  # the operator's 127 h 30 min
KEPT = {"USD", "EUR", "GBP", "KRW", "KST", "GMT", "BST", "CET", "CEST", "UTC", "GB", "ENG"}


def shipped(policy_id: str) -> Policy:
    return read_policy(policies.path(policy_id))


def english_words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z]{2,}", text)) - KEPT


@pytest.mark.parametrize("policy_id", SHIPPED)
def test_every_shipped_rule_reads_in_korean_without_english_words(policy_id: str) -> None:
    policy = shipped(policy_id)
    for rule in policy.rules:
        text, lang = describe(rule, "ko", policy.currency)
        assert lang == "ko"
        assert re.search("[가-힣]", text), text
        assert english_words(text) == set(), f"{rule.id}: {text}"
    for line in policy_lines(policy, "ko"):
        assert english_words(line) == set(), line


@pytest.mark.parametrize("policy_id", SHIPPED)
def test_every_shipped_rule_reads_in_english_as_the_policy_says_it(policy_id: str) -> None:
    policy = shipped(policy_id)
    for rule in policy.rules:
        text, lang = describe(rule, "en", policy.currency)
        assert lang == "en"
        assert text == f"{rule.when.describe()}: {rule.terms()}"


def test_shipped_rules_in_korean_name_their_numbers() -> None:
    def ko(policy_id: str, rule_id: str) -> str:
        policy = shipped(policy_id)
        return describe(policy.rule(rule_id), "ko", policy.currency)[0]

    assert ko("kr-telecom-10x", "telecom-10x") == (
        "개인/기업 모든 서비스 유료 구독: 연속 2시간 이상 장애가 있었다면 합계 장애 시간의 10배에 "
        "해당하는 요금을 크레딧으로, 시간은 시간 단위로 올림, 금액은 1원 단위로 반올림")
    assert ko("content-3x", "content-3x") == (
        "모든 서비스 유료 구독: 장애가 있었다면 합계 장애 시간의 3배만큼 이용 기간 무료 연장 "
        "(불가항력이면 1배), 일 단위로 올림")
    assert ko("kakao-2022-paid", "emoticon-web") == \
        "웹에서 산 이모티콘 플러스 유료 구독: 장애가 있었다면 이용 기간 3일 연장"
    assert ko("kakao-2022-paid", "taxi-pro") == \
        "카카오 T 프로 멤버십 유료 구독: 장애가 있었다면 요금 6일분의 크레딧 (10원 단위로 반올림)"
    assert ko("kakao-2022-paid", "music-app-store") == \
        "앱 장터에서 산 멜론 유료 구독: 장애가 있었다면 크레딧 앱 캐시 1,500"
    assert "영업일 2일(GB-ENG 휴일 달력) 안에 복구되지 않으면" in ko("ofcom-gb", "ofcom-loss-of-service")
    assert "하루 10.34 GBP" in ko("ofcom-gb", "ofcom-loss-of-service")
    assert "99.99% 미만이면 10%, 99.0% 미만이면 30%, 95.0% 미만이면 100%; 1 USD 미만은 지급하지 않음" \
        in ko("aws-ec2-sla", "ec2-tiers")
    assert "최대 50%" in ko("google-cloud-sla", "gcp-tiers")
    assert ("1일째부터 하루 5 EUR 또는 월 요금의 10% 중 큰 금액, 3일째부터 하루 10 EUR 또는 "
            "월 요금의 20% 중 큰 금액") in ko("de-tkg-58", "tkg-58")
    assert "300,000원 이하 30,000원, 500,000원 이하 50,000원" in \
        ko("kakao-2022-small-business", "sales-loss")
    assert ko("kakao-2022-free-goodwill", "emoticon-pack") == \
        "카카오톡 이용: 영향을 받은 계정마다 이모티콘 3종 팩 1개 (한 번)"
    assert policy_lines(shipped("capped-fund"), "ko")[1].startswith("기금 100,000,000원, 예비금 10%")


def only(awards: tuple[Award, ...] | list[Award]) -> Award:
    assert len(awards) == 1, awards
    return awards[0]


def test_music_three_times_ten_and_a_half_hours_is_two_days() -> None:
    inc = incident(("music", "2022-10-15 15:30", "2022-10-16 02:00"))
    award = only(compensate(account(subscription("music", fee=10900)), inc,
                            shipped("content-3x")).awards)
    assert award.explain("ko") == (
        "멜론: 10월 15일 15:30 ~ 10월 16일 02:00 KST 장애, 10시간 30분; 규칙 content-3x; "
        "10시간 30분 × 3 = 31시간 30분 → 이용 기간 2일 연장 (일 단위로 올림)")
    assert award.explain("en") == award.explanation == (
        "music: down 15 Oct 15:30 - 16 Oct 02:00 KST, 10 h 30 min; rule content-3x; "
        "3 x 10 h 30 min = 31 h 30 min -> +2 days (rounded up to whole days)")


def test_kt_2021_eighty_nine_minutes_are_fifteen_hours_of_fees_in_both_languages() -> None:
    inc = incident(("mobile", "2021-10-25 11:16", "2021-10-25 12:45"))
    award = only(compensate(account(subscription("mobile", fee=33000)), inc,
                            shipped("kt-2021")).awards)
    assert award.amount == 688
    assert ("1시간 29분 × 10 = 14시간 50분 → 15시간 (시간 단위로 올림); 월 33,000원 요금(30일 "
            "기준)의 15시간분 = 687.5원 → 688원 (1원 단위로 반올림)") in award.explain("ko")
    assert ("10 x 1 h 29 min = 14 h 50 min -> 15 h (rounded up to whole hours); 15 h of "
            "33,000 KRW a month (30-day month) = 687.5 -> 688 KRW (rounded half up to 1)"
            ) in award.explain("en")


def test_taxi_pro_six_days_of_the_fee_are_7550_points() -> None:
    inc = incident(("taxi_pro", "2022-10-15 15:30", "2022-10-16 15:00"), official=OFFICIAL)
    award = only(compensate(account(subscription("taxi_pro", fee=39000)), inc,
                            shipped("kakao-2022-paid")).awards)
    assert award.explain("ko").endswith(
        "장애 기간 중 구독 → 월 39,000원 요금(31일 기준)의 6일분 = 7,548.39원 → 7,550원 "
        "(10원 단위로 반올림)")
    assert award.explain("ko").startswith("카카오 T 프로 멤버십: ")
    assert award.explain("en").endswith(
        "subscriber during the outage -> 144 h of 39,000 KRW a month (31-day month) = "
        "7,548.39 -> 7,550 KRW (rounded half up to 10)")


def test_app_store_music_gets_in_app_cash_and_web_emoticons_three_days() -> None:
    inc = incident(("music", "2022-10-15 15:30", "2022-10-16 07:00"),
                   ("emoticon_plus", "2022-10-15 15:30", "2022-10-16 01:31"), official=OFFICIAL)
    acc = account(subscription("music", id="S1", fee=10900, channel=Channel.APP_STORE),
                  subscription("emoticon_plus", id="S2", fee=3900))
    music, emoticon = sorted(compensate(acc, inc, shipped("kakao-2022-paid")).awards,
                             key=lambda a: a.service)[::-1]
    assert music.explain("ko").endswith("장애 기간 중 구독 → 앱 캐시 1,500")
    assert music.explain("en").endswith("subscriber during the outage -> 1,500 in-app cash")
    assert emoticon.explain("ko").endswith("장애 기간 중 구독 → 이용 기간 3일 연장")


def test_aws_ten_hours_down_in_september_is_thirty_percent() -> None:
    inc = incident(("compute", "2022-09-10 00:00", "2022-09-10 10:00"), tz="UTC")
    acc = account(subscription("compute", fee=200, currency="USD", start=at("2022-01-01 00:00", UTC)))
    award = only(compensate(acc, inc, shipped("aws-ec2-sla")).awards)
    assert award.amount == 60
    assert award.explain("ko").endswith(
        "2022년 9월: 장애 10시간, 가용률 98.6111% → 200 USD의 30% = 60 USD")
    assert award.explain("en").endswith(
        "Sep 2022: 10 h down, uptime 98.6111 % -> 30 % of 200 USD = 60 USD")


def test_tkg_five_and_a_half_days_at_forty_euros_is_thirty() -> None:
    inc = incident(("dsl", "2022-10-03 08:00", "2022-10-08 20:00"), tz="Europe/Berlin")
    acc = account(subscription("dsl", fee=40, currency="EUR"))
    award = only(compensate(acc, inc, shipped("de-tkg-58")).awards)
    assert award.amount == 30
    assert ("유예(2일(24시간 단위))는 10월 5일 08:00 CEST에 끝남; 시작된 24시간 단위 4개: "
            "2 × 5 + 2 × 10 = 30 EUR") in award.explain("ko")
    assert ("grace of 2 elapsed days ends 5 Oct 08:00 CEST; 4 started period(s) of 24 h: "
            "2 x 5 + 2 x 10 = 30 EUR") in award.explain("en")


def test_ofcom_three_local_days_across_the_clock_change() -> None:
    inc = incident(("broadband", "2026-03-25 10:00", "2026-03-30 00:30"), tz="Europe/London")
    acc = account(subscription("broadband", fee=30, currency="GBP"))
    calendar = StaticCalendars({"GB-ENG": WorkingCalendar("GB-ENG", frozenset())})
    award = only(compensate(acc, inc, shipped("ofcom-gb"), calendars=calendar).awards)
    assert award.amount == Decimal("31.02")
    assert award.explain("ko") == (
        "broadband: 3월 25일 10:00 GMT ~ 3월 30일 00:30 BST 장애, 109시간 30분; "
        "규칙 ofcom-loss-of-service; 3월 25일 10:00 GMT부터 109시간 30분; 유예(영업일 2일)는 "
        "3월 28일 00:00 GMT에 끝남; 현지 날짜 3일(3월 28일(토)~3월 30일(월)): 3 × 10.34 = 31.02 GBP")
    assert award.explain("en").endswith(
        "3 local day(s), Sat 28 Mar to Mon 30 Mar: 3 x 10.34 = 31.02 GBP")


def test_small_business_loss_of_250000_earns_30000() -> None:
    inc = incident(("pay", "2022-10-15 15:30", "2022-10-16 08:00"))
    shop = account(subscription("pay"), segment=Segment.SMALL_BUSINESS, sales={
        "2022-09-03": 1_000_000, "2022-09-24": 1_200_000, "2022-10-15": 950_000})
    award = only(compensate(shop, inc, shipped("kakao-2022-small-business")).awards)
    assert award.explain("ko").endswith(
        "비교 기간 최고 주(9월 24일) 1,200,000원 - 장애 주(10월 15일) 950,000원 = 손실 250,000원 "
        "≤ 300,000원 → 30,000원")
    assert award.explain("en").endswith(
        "best baseline week 24 Sep 1,200,000 - outage week 15 Oct 950,000 = loss 250,000 "
        "<= 300,000 -> 30,000 KRW")


def test_goodwill_pack_for_a_free_messenger_user() -> None:
    inc = incident(("messenger", "2022-10-15 15:30", "2022-10-16 01:31"))
    award = only(compensate(account(subscription("messenger")), inc,
                            shipped("kakao-2022-free-goodwill")).awards)
    assert award.explain("ko").endswith("영향을 받은 계정 → 이모티콘 3종 팩 1개")
    assert award.explain("en").endswith("affected account -> 1 emoticon-pack-3")


def test_capped_fund_scaling_is_explained_in_both_languages() -> None:
    inc = incident(("svc", "2022-10-15 15:30", "2022-10-16 02:00"))
    accounts = [account(subscription("svc", id=f"S{i}", account_id=f"A{i}"), id=f"A{i}")
                for i in range(2000)]
    awards, factor = compensate_all(accounts, inc, shipped("capped-fund"))
    assert factor == Decimal("0.45")
    assert awards[0].explain("ko").endswith(
        "장애 기간 중 구독 → 100,000원; 기금 상한에 따라 비례 감액(0.45) → 45,000원")
    assert awards[0].explain("en").endswith(
        "subscriber during the outage -> 100,000 KRW; scaled pro rata by the fund cap (0.45) "
        "-> 45,000 KRW")
