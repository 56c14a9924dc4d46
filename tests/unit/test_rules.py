"""Each rule kind against the worked examples of DOMAIN.md."""

from decimal import Decimal

import pytest
from tests.factories import UTC, account, at, incident, policy, subscription

from makegood.domain.accounts import Channel, Segment
from makegood.domain.awards import AwardKind
from makegood.domain.compensation import compensate, compensate_all
from makegood.domain.incident import Fault
from makegood.domain.local_calendar import WorkingCalendar
from makegood.domain.rules import StaticCalendars

MUSIC_OUTAGE = incident(("music", "2022-10-15 15:30", "2022-10-16 02:00"))

CONTENT_3X = """
[[rules]]
id = "content-3x"
kind = "extension_multiple"
multiplier = "3"
force_majeure_multiplier = "1"
round = { unit = "day", mode = "up" }
"""


def only_award(acc, inc, pol, **kw):
    awards = compensate(acc, inc, pol, **kw).awards
    assert len(awards) == 1, awards
    return awards[0]


def test_content_3x_music_outage_of_10h30_earns_two_days():
    award = only_award(account(subscription("music", fee=10900)), MUSIC_OUTAGE, policy(CONTENT_3X))
    assert (award.kind, award.amount, award.unit) == (AwardKind.EXTENSION, Decimal(2), "day")
    assert award.explanation == (
        "music: down 15 Oct 15:30 - 16 Oct 02:00 KST, 10 h 30 min; rule content-3x; "
        "3 x 10 h 30 min = 31 h 30 min -> +2 days (rounded up to whole days)")
    assert award.counted_seconds == 37800


def test_content_rule_under_force_majeure_gives_one_times_the_outage():
    fm = incident(("music", "2022-10-15 15:30", "2022-10-16 02:00"), fault=Fault.FORCE_MAJEURE)
    award = only_award(account(subscription("music", fee=10900)), fm, policy(CONTENT_3X))
    assert award.amount == 1
    assert "(force majeure)" in award.explanation


TELECOM_10X = """
[[rules]]
id = "telecom-10x"
kind = "fee_multiple"
multiplier = "10"
trigger = { continuous_at_least = "2h" }
time_round = { unit = "hour", mode = "up" }
fee_days = 30
round = { step = "1", mode = "half_up" }
"""


def test_telecom_outage_below_two_hours_earns_nothing():
    inc = incident(("mobile", "2021-10-25 11:16", "2021-10-25 12:45"))  # 89 minutes
    assert compensate(account(subscription("mobile", fee=33000)), inc, policy(TELECOM_10X)).awards == ()


def test_telecom_outage_of_exactly_two_hours_earns_twenty_hours_of_fees():
    inc = incident(("mobile", "2022-10-15 10:00", "2022-10-15 12:00"))
    award = only_award(account(subscription("mobile", fee=33000)), inc, policy(TELECOM_10X))
    # 33,000 x 20 / (30 x 24) = 916.67 -> 917
    assert (award.kind, award.amount, award.unit) == (AwardKind.CREDIT, Decimal(917), "KRW")


def test_kt_2021_eighty_nine_minutes_earn_fifteen_hours_of_fees():
    kt = policy(TELECOM_10X.replace('trigger = { continuous_at_least = "2h" }\n', ""))
    inc = incident(("mobile", "2021-10-25 11:16", "2021-10-25 12:45"))
    award = only_award(account(subscription("mobile", fee=33000)), inc, kt)
    # 10 x 89 min = 14 h 50 min -> 15 h; 33,000 x 15 / 720 = 687.5 -> 688 (half up)
    assert award.amount == Decimal(688)
    assert "10 x 1 h 29 min = 14 h 50 min -> 15 h" in award.explanation


def test_continuous_trigger_ignores_several_short_outages():
    inc = incident(("mobile", "2022-10-15 10:00", "2022-10-15 11:30"),
                   ("mobile", "2022-10-15 12:00", "2022-10-15 13:30"))
    assert compensate(account(subscription("mobile", fee=33000)), inc, policy(TELECOM_10X)).awards == ()


def test_zero_fee_earns_no_fee_multiple_credit():
    inc = incident(("mobile", "2022-10-15 10:00", "2022-10-15 14:00"))
    sub = subscription("mobile", fee=0, paid=False)
    assert compensate(account(sub), inc, policy(TELECOM_10X)).awards == ()


PRO = """
[[rules]]
id = "taxi-pro"
kind = "fixed"
when = { services = ["taxi_pro"], paid = true }
fee_time = "6d"
fee_days = "calendar"
round = { step = "10", mode = "half_up" }
"""


@pytest.mark.parametrize(("fee", "points"), [(39000, 7550), (22000, 4260)])
def test_pro_membership_gets_six_days_of_fee_rounded_to_ten_won(fee, points):
    inc = incident(("taxi_pro", "2022-10-15 15:30", "2022-10-16 15:00"))
    award = only_award(account(subscription("taxi_pro", fee=fee)), inc, policy(PRO))
    assert award.amount == Decimal(points)
    assert "(31-day month)" in award.explanation


FIXED_BY_CHANNEL = """
[[rules]]
id = "emoticon-web"
kind = "fixed"
when = { services = ["emoticon_plus"], channels = ["web"] }
extension = "3d"

[[rules]]
id = "emoticon-app-store"
kind = "fixed"
when = { services = ["emoticon_plus"], channels = ["app_store"] }
fee_time = "72h"
"""


def test_fixed_remedy_depends_on_the_sales_channel():
    inc = incident(("emoticon_plus", "2022-10-15 15:30", "2022-10-16 01:31"))
    web = only_award(account(subscription("emoticon_plus", fee=3900)), inc, policy(FIXED_BY_CHANNEL))
    app = only_award(account(subscription("emoticon_plus", fee=3900, channel=Channel.APP_STORE)),
                     inc, policy(FIXED_BY_CHANNEL))
    assert (web.kind, web.amount, web.unit) == (AwardKind.EXTENSION, Decimal(3), "day")
    # 3,900 x 72 / (31 x 24) = 377.42 -> 377
    assert (app.kind, app.amount, app.unit) == (AwardKind.CREDIT, Decimal(377), "KRW")


def test_subscriber_who_joined_after_the_outage_gets_nothing():
    inc = incident(("emoticon_plus", "2022-10-15 15:30", "2022-10-16 01:31"))
    late = subscription("emoticon_plus", fee=3900, start=at("2022-10-17 09:00"))
    assert compensate(account(late), inc, policy(FIXED_BY_CHANNEL)).awards == ()


def sla(tiers: str, extra: str = "") -> str:
    return f"""
[[rules]]
id = "sla"
kind = "sla_tiers"
tiers = [{tiers}]
{extra}
"""


EC2 = sla('{ below = "99.99", percent = "10" }, { below = "99.0", percent = "30" }, '
          '{ below = "95.0", percent = "100" }', 'min_credit = "1"')
S3 = sla('{ below = "99.9", percent = "10" }, { below = "99.0", percent = "25" }, '
         '{ below = "95.0", percent = "100" }', 'min_credit = "1"')
GCP = sla('{ below = "99.9", percent = "10" }, { below = "99.0", percent = "25" }, '
          '{ below = "95.0", percent = "50" }', 'max_percent = "50"')


def cloud(start: str, end: str):
    return incident(("compute", start, end), tz="UTC")


@pytest.mark.parametrize(("rules", "credit"), [(EC2, 60), (S3, 50), (GCP, 50)])
def test_ten_hours_down_in_a_thirty_day_month(rules, credit):
    # September 2022 has 30 days: uptime 1 - 10 / 720 = 98.61 %
    inc = cloud("2022-09-10 00:00", "2022-09-10 10:00")
    acc = account(subscription("compute", fee=200, currency="USD",
                               start=at("2022-01-01 00:00", UTC)))
    award = only_award(acc, inc, policy(rules, currency="USD", extra_head='timezone = "UTC"'))
    assert award.amount == Decimal(credit)
    assert "uptime 98.6111 %" in award.explanation


def test_google_credit_is_capped_at_fifty_percent():
    inc = cloud("2022-10-15 06:30", "2022-10-20 14:00")  # 127 h 30 min in a 31-day month
    acc = account(subscription("compute", fee=200, currency="USD"))
    award = only_award(acc, inc, policy(GCP, currency="USD", extra_head='timezone = "UTC"'))
    assert award.amount == Decimal(100)


def test_aws_pays_no_credit_under_one_dollar():
    inc = cloud("2022-09-10 00:00", "2022-09-10 01:00")  # 99.86 % -> 10 % of 5 USD = 0.50
    acc = account(subscription("compute", fee=5, currency="USD"))
    assert compensate(acc, inc, policy(EC2, currency="USD", extra_head='timezone = "UTC"')).awards == ()


def test_uptime_exactly_at_a_tier_boundary_is_not_below_it():
    # 99.0 % of a 30-day month is 7 h 12 min down: uptime is not below 99.0 -> only the 10 % tier
    inc = cloud("2022-09-10 00:00", "2022-09-10 07:12")
    acc = account(subscription("compute", fee=200, currency="USD"))
    award = only_award(acc, inc, policy(EC2, currency="USD", extra_head='timezone = "UTC"'))
    assert award.amount == Decimal(20)


OFCOM = """
[[rules]]
id = "ofcom"
kind = "per_day"
grace_days = 2
grace = "working"
calendar = "GB"
steps = [ { from_day = 1, amount = "10.34" } ]
"""
LONDON_XMAS = StaticCalendars({"GB": WorkingCalendar("GB", holidays=frozenset({
    at("2022-12-26 00:00").date(), at("2022-12-27 00:00").date()}))})


def test_ofcom_pays_per_day_after_two_full_working_days():
    # down Fri 14 Oct 09:00 -> Thu 20 Oct 12:00; full working days Mon 17, Tue 18;
    # compensable from Wed 19 00:00: 36 h -> 2 started days x 10.34 = 20.68 GBP
    inc = incident(("broadband", "2022-10-14 09:00", "2022-10-20 12:00"), tz="Europe/London")
    acc = account(subscription("broadband", fee=30, currency="GBP"))
    award = only_award(acc, inc, policy(OFCOM, currency="GBP",
                                        extra_head='timezone = "Europe/London"'),
                       calendars=LONDON_XMAS)
    assert award.amount == Decimal("20.68")


def test_ofcom_grace_skips_public_holidays():
    # down Fri 23 Dec 09:00 -> Fri 30 Dec 10:00; 26 and 27 Dec are holidays, so the full working
    # days are Wed 28 and Thu 29; 10 h of Fri 30 -> 1 day
    inc = incident(("broadband", "2022-12-23 09:00", "2022-12-30 10:00"), tz="Europe/London")
    acc = account(subscription("broadband", fee=30, currency="GBP"))
    award = only_award(acc, inc, policy(OFCOM, currency="GBP",
                                        extra_head='timezone = "Europe/London"'),
                       calendars=LONDON_XMAS)
    assert award.amount == Decimal("10.34")


TKG = """
[[rules]]
id = "tkg-58"
kind = "per_day"
grace_days = 2
grace = "elapsed"
steps = [
  { from_day = 1, amount = "5", fee_share = "0.10" },
  { from_day = 3, amount = "10", fee_share = "0.20" },
]
"""


@pytest.mark.parametrize(("fee", "total"), [(40, "30"), (80, "48")])
def test_tkg_days_three_four_and_from_five(fee, total):
    # 5 d 12 h down: days 3-6 are compensable. Fee 40: 2 x max(5, 4) + 2 x max(10, 8) = 30;
    # fee 80: 2 x max(5, 8) + 2 x max(10, 16) = 48
    inc = incident(("dsl", "2022-10-03 08:00", "2022-10-08 20:00"), tz="Europe/Berlin")
    acc = account(subscription("dsl", fee=fee, currency="EUR"))
    award = only_award(acc, inc, policy(TKG, currency="EUR"))
    assert award.amount == Decimal(total)


def test_tkg_outage_repaired_within_two_days_earns_nothing():
    inc = incident(("dsl", "2022-10-03 08:00", "2022-10-05 08:00"), tz="Europe/Berlin")
    acc = account(subscription("dsl", fee=40, currency="EUR"))
    assert compensate(acc, inc, policy(TKG, currency="EUR")).awards == ()


GOODWILL = """
[[rules]]
id = "emoticon-pack"
kind = "goodwill"
when = { services = ["messenger", "mail"] }
item = "emoticon-pack-3"
"""


def test_goodwill_item_once_per_affected_account():
    inc = incident(("messenger", "2022-10-15 15:30", "2022-10-16 01:31"),
                   ("mail", "2022-10-15 15:30", "2022-10-18 09:00"))
    acc = account(subscription("messenger", id="S2"), subscription("mail", id="S1"))
    award = only_award(acc, inc, policy(GOODWILL))
    assert (award.kind, award.amount, award.unit) == (AwardKind.ITEM, Decimal(1), "emoticon-pack-3")
    assert award.subscription_id == "S1"  # account-scoped rules use the lowest subscription id


SMALL_BUSINESS = """
[[rules]]
id = "sales-loss"
kind = "loss_brackets"
when = { segments = ["small_business"] }
baseline = { from = 2022-09-03, to = 2022-10-08 }
outage_week = 2022-10-15
brackets = [ { up_to = "300000", amount = "30000" }, { up_to = "500000", amount = "50000" } ]
"""
PAY_OUTAGE = incident(("pay", "2022-10-15 15:30", "2022-10-16 08:00"))


def shop(outage_week_sales: int):
    return account(subscription("pay"), segment=Segment.SMALL_BUSINESS, sales={
        "2022-09-03": 1_000_000, "2022-09-10": 1_200_000, "2022-09-17": 1_100_000,
        "2022-10-15": outage_week_sales})


@pytest.mark.parametrize(("outage_week", "kind", "amount"), [
    (950_000, AwardKind.CASH, 30_000),     # loss 250,000
    (900_000, AwardKind.CASH, 30_000),     # loss exactly 300,000
    (800_000, AwardKind.CASH, 50_000),     # loss 400,000
    (600_000, AwardKind.REVIEW, 600_000),  # loss 600,000 -> individual review
])
def test_small_business_loss_brackets(outage_week, kind, amount):
    award = only_award(shop(outage_week), PAY_OUTAGE, policy(SMALL_BUSINESS))
    assert (award.kind, award.amount) == (kind, Decimal(amount))


def test_small_business_without_a_loss_gets_nothing():
    assert compensate(shop(1_300_000), PAY_OUTAGE, policy(SMALL_BUSINESS)).awards == ()


def test_reported_loss_source():
    rules = """
[[rules]]
id = "reported"
kind = "loss_brackets"
source = "reported"
brackets = [ { up_to = "300000", amount = "30000" } ]
"""
    acc = account(subscription("pay"), segment=Segment.SMALL_BUSINESS, reported_loss=120_000)
    assert only_award(acc, PAY_OUTAGE, policy(rules)).amount == Decimal(30000)


FLAT_CASH = """
[[rules]]
id = "share"
kind = "fixed"
amount = "100000"
award = "cash"
"""


def test_fund_cap_scales_cash_awards_pro_rata_after_the_reserve():
    inc = incident(("svc", "2022-10-15 15:30", "2022-10-16 02:00"))
    accounts = [account(subscription("svc", id=f"S{i}", account_id=f"A{i}"), id=f"A{i}")
                for i in range(20)]
    pol = policy(FLAT_CASH, caps='fund = "1000000"\nreserve = "0.10"')
    awards, factor = compensate_all(accounts, inc, pol)
    # 20 x 100,000 = 2,000,000 owed; 900,000 available -> factor 0.45
    assert factor == Decimal("0.45")
    assert {a.amount for a in awards} == {Decimal(45000)}
    assert sum(a.amount for a in awards) <= Decimal(900000)
    assert all(a.code.endswith("+FUND_SCALED") for a in awards)


def test_fund_larger_than_the_claims_pays_in_full():
    inc = incident(("svc", "2022-10-15 15:30", "2022-10-16 02:00"))
    accounts = [account(subscription("svc"))]
    awards, factor = compensate_all(accounts, inc, policy(FLAT_CASH, caps='fund = "1000000"'))
    assert factor == 1
    assert awards[0].amount == Decimal(100000)


def test_per_account_cap_cuts_money_awards_in_rule_order():
    rules = """
[[rules]]
id = "first"
kind = "fixed"
amount = "7000"

[[rules]]
id = "second"
kind = "fixed"
amount = "7000"
"""
    inc = incident(("svc", "2022-10-15 15:30", "2022-10-16 02:00"))
    awards = compensate(account(subscription("svc")), inc,
                        policy(rules, caps='per_account = "10000"')).awards
    assert [(a.rule_id, a.amount) for a in awards] == [("first", Decimal(7000)),
                                                       ("second", Decimal(3000))]
    assert "per-account cap" in awards[1].explanation


def test_rule_cap_limits_each_award():
    rules = TELECOM_10X + 'cap = "500"\n'
    inc = incident(("mobile", "2022-10-15 10:00", "2022-10-15 12:00"))
    award = only_award(account(subscription("mobile", fee=33000)), inc, policy(rules))
    assert award.amount == Decimal(500)
    assert award.code == "FEE_MULTIPLE+CAP_RULE"


def test_official_window_counts_instead_of_the_measured_one():
    inc = incident(("music", "2022-10-15 15:30", "2022-10-16 02:00"),
                   official=("2022-10-15 15:30", "2022-10-20 23:00"))
    pol = policy(CONTENT_3X, extra_head='windows = "official"')
    award = only_award(account(subscription("music", fee=10900)), inc, pol)
    # 3 x 127 h 30 min = 382 h 30 min -> 16 days (rounded up)
    assert award.counted_seconds == 127 * 3600 + 1800
    assert award.amount == Decimal(16)


def test_degraded_windows_count_only_when_the_policy_says_so():
    inc = incident(("taxi", "2022-10-15 15:30", "2022-10-16 15:00", "outage"),
                   ("taxi", "2022-10-16 15:00", "2022-10-17 18:00", "degraded"))
    outage_only = only_award(account(subscription("taxi", fee=1000)), inc, policy(CONTENT_3X))
    both = only_award(account(subscription("taxi", fee=1000)), inc,
                      policy(CONTENT_3X, extra_head='severities = ["outage", "degraded"]'))
    assert outage_only.counted_seconds == 23 * 3600 + 1800
    assert both.counted_seconds == 50 * 3600 + 1800  # 15 Oct 15:30 -> 17 Oct 18:00
