"""Every shipped policy validates and reproduces its regime's worked example from DOMAIN.md."""

from decimal import Decimal

import pytest
from tests.factories import UTC, account, at, incident, subscription

from makegood import policies
from makegood.adapters.calendars import HolidayCalendars
from makegood.domain.accounts import Channel, Segment
from makegood.domain.awards import AwardKind
from makegood.domain.compensation import compensate, compensate_all
from makegood.domain.policy import read_policy

KAKAO = incident(
    ("music", "2022-10-15 15:30", "2022-10-16 02:00"),
    ("emoticon_plus", "2022-10-15 15:30", "2022-10-16 01:31"),
    ("webtoon", "2022-10-15 15:30", "2022-10-16 07:00"),
    ("page", "2022-10-15 15:30", "2022-10-16 07:00"),
    ("chat_backup", "2022-10-15 15:30", "2022-10-16 22:00"),
    ("taxi_pro", "2022-10-15 15:30", "2022-10-16 15:00"),
    ("driver_pro", "2022-10-15 15:30", "2022-10-16 15:00"),
    ("messenger", "2022-10-15 15:30", "2022-10-16 01:31"),
    ("pay", "2022-10-15 15:30", "2022-10-16 08:00"),
    official=("2022-10-15 15:30", "2022-10-20 23:00"),
)


def load(policy_id: str):
    return read_policy(policies.path(policy_id))


def awards(policy_id, acc, inc=KAKAO):
    return [(a.rule_id, a.kind, a.amount, a.unit)
            for a in compensate(acc, inc, load(policy_id), calendars=HolidayCalendars()).awards]


def test_one_policy_per_regime_in_domain_md_and_all_validate():
    ids = {p.stem for p in policies.shipped()}
    assert ids >= {
        "kr-telecom-10x", "kr-broadband-6x", "content-3x", "kakao-2022-paid", "aws-ec2-sla",
        "aws-s3-sla", "google-cloud-sla", "ofcom-gb", "de-tkg-58", "kakao-2022-free-goodwill",
        "capped-fund", "kakao-2022-small-business", "kt-2021",
    }
    for path in policies.shipped():
        assert read_policy(path).rules


@pytest.mark.parametrize(("service", "channel", "fee", "expected"), [
    ("emoticon_plus", Channel.WEB, 3900, ("emoticon-web", AwardKind.EXTENSION, Decimal(3), "day")),
    ("emoticon_plus", Channel.APP_STORE, 3900,
     ("emoticon-app-store", AwardKind.CREDIT, Decimal(377), "KRW")),
    ("chat_backup", Channel.WEB, 1900, ("chat-backup-web", AwardKind.EXTENSION, Decimal(15), "day")),
    ("music", Channel.WEB, 10900, ("music-web", AwardKind.EXTENSION, Decimal(3), "day")),
    ("music", Channel.APP_STORE, 10900,
     ("music-app-store", AwardKind.CREDIT, Decimal(1500), "in-app cash")),
    ("webtoon", Channel.WEB, 4900, ("webtoon-rental", AwardKind.EXTENSION, Decimal(72), "hour")),
    ("page", Channel.WEB, 5900, ("page-rental", AwardKind.EXTENSION, Decimal(96), "hour")),
    ("taxi_pro", Channel.WEB, 39000, ("taxi-pro", AwardKind.CREDIT, Decimal(7550), "KRW")),
    ("driver_pro", Channel.WEB, 22000, ("driver-pro", AwardKind.CREDIT, Decimal(4260), "KRW")),
])
def test_kakao_2022_paid_remedies(service, channel, fee, expected):
    acc = account(subscription(service, fee=fee, channel=channel))
    assert awards("kakao-2022-paid", acc) == [expected]


def test_kakao_2022_free_users_get_the_emoticon_pack():
    acc = account(subscription("messenger"))
    assert awards("kakao-2022-free-goodwill", acc) == [
        ("emoticon-pack", AwardKind.ITEM, Decimal(1), "emoticon-pack-3")]


def test_kakao_2022_small_business_bracket():
    acc = account(subscription("pay"), segment=Segment.SMALL_BUSINESS, sales={
        "2022-09-03": 1_000_000, "2022-09-24": 1_200_000, "2022-10-15": 950_000})
    assert awards("kakao-2022-small-business", acc) == [
        ("sales-loss", AwardKind.CASH, Decimal(30000), "KRW")]


MOBILE_89_MIN = incident(("mobile", "2021-10-25 11:16", "2021-10-25 12:45"))


def test_kt_2021_individuals_fifteen_hours_small_businesses_ten_days():
    person = account(subscription("mobile", fee=33000))
    shop = account(subscription("mobile", fee=33000), segment=Segment.SMALL_BUSINESS)
    assert awards("kt-2021", person, MOBILE_89_MIN) == [
        ("kt-2021-individual", AwardKind.CREDIT, Decimal(688), "KRW")]
    assert awards("kt-2021", shop, MOBILE_89_MIN) == [
        ("kt-2021-small-business", AwardKind.CREDIT, Decimal(11000), "KRW")]


def test_kr_telecom_10x_needs_two_hours_continuous():
    person = account(subscription("mobile", fee=33000))
    assert awards("kr-telecom-10x", person, MOBILE_89_MIN) == []
    three_hours = incident(("mobile", "2023-01-10 09:00", "2023-01-10 12:00"))
    # 10 x 3 h = 30 h of 33,000 / 720 h = 1,375
    assert awards("kr-telecom-10x", person, three_hours) == [
        ("telecom-10x", AwardKind.CREDIT, Decimal(1375), "KRW")]


def test_kr_broadband_6x_fires_on_more_than_twelve_hours_in_total():
    five_short = incident(*[("broadband", f"2021-03-{d:02d} 10:00", f"2021-03-{d:02d} 12:35")
                            for d in range(1, 6)])  # 5 x 2 h 35 min = 12 h 55 min, none >= 3 h
    person = account(subscription("broadband", fee=30000))
    # 6 x 12 h 55 min = 77 h 30 min -> 78 h of 30,000 / 720 = 3,250
    assert awards("kr-broadband-6x", person, five_short) == [
        ("broadband-6x", AwardKind.CREDIT, Decimal(3250), "KRW")]


def test_content_3x_music():
    acc = account(subscription("music", fee=10900))
    assert awards("content-3x", acc) == [("content-3x", AwardKind.EXTENSION, Decimal(2), "day")]


@pytest.mark.parametrize(("policy_id", "credit"), [
    ("aws-ec2-sla", Decimal(60)), ("aws-s3-sla", Decimal(50)), ("google-cloud-sla", Decimal(50))])
def test_cloud_sla_ten_hours_in_september(policy_id, credit):
    inc = incident(("compute", "2022-09-10 00:00", "2022-09-10 10:00"), tz="UTC")
    acc = account(subscription("compute", fee=200, currency="USD", start=at("2022-01-01 00:00", UTC)))
    assert awards(policy_id, acc, inc)[0][2] == credit


def test_ofcom_with_the_real_gb_calendar():
    # Good Friday 7 Apr and Easter Monday 10 Apr 2023 are GB bank holidays. Down Thu 6 Apr 18:00
    # to Thu 13 Apr 12:00: full working days Tue 11, Wed 12 -> from Thu 13 00:00, 12 h -> 1 day.
    inc = incident(("broadband", "2023-04-06 18:00", "2023-04-13 12:00"), tz="Europe/London")
    acc = account(subscription("broadband", fee=30, currency="GBP"))
    assert awards("ofcom-gb", acc, inc) == [
        ("ofcom-loss-of-service", AwardKind.CREDIT, Decimal("10.34"), "GBP")]


def test_de_tkg_58():
    inc = incident(("dsl", "2022-10-03 08:00", "2022-10-08 20:00"), tz="Europe/Berlin")
    acc = account(subscription("dsl", fee=40, currency="EUR"))
    assert awards("de-tkg-58", acc, inc) == [("tkg-58", AwardKind.CREDIT, Decimal(30), "EUR")]


def test_capped_fund_pays_pro_rata():
    accounts = [account(subscription("messenger", id=f"S{i}", account_id=f"A{i}"), id=f"A{i}")
                for i in range(1500)]
    result, factor = compensate_all(accounts, KAKAO, load("capped-fund"))
    # 1,500 x 100,000 = 150,000,000 owed; 90,000,000 available after the 10 % reserve
    assert factor == Decimal("0.6")
    assert {a.amount for a in result} == {Decimal(60000)}
