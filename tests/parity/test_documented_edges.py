"""What docs/policies.md says of missing sales weeks, ``min_credit`` and ``fund_round``, on every
engine: the documented behaviour, and the same ledger from each engine."""

from __future__ import annotations

import csv
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from makegood.adapters.batch import ENGINES, get_engine
from makegood.adapters.calendars import HolidayCalendars
from makegood.adapters.tables import resolve
from makegood.domain.incident import Impact, Incident
from makegood.domain.policy import load_policy
from makegood.domain.windows import Window

KST = ZoneInfo("Asia/Seoul")
PAY = Incident(id="pay", title="pay", timezone="Asia/Seoul", impacts=(Impact(
    service="pay", window=Window(datetime(2022, 10, 15, 15, 30, tzinfo=KST),
                                 datetime(2022, 10, 16, 8, tzinfo=KST))),))
SPARK_MARKS = [pytest.mark.spark, pytest.mark.xdist_group("spark")]
ALL_ENGINES = [pytest.param(name, id=name, marks=SPARK_MARKS if name == "spark" else [])
               for name in ENGINES]


def head(extra: str = "") -> str:
    return f'[policy]\nid = "p"\nversion = 1\nname = "p"\ncurrency = "KRW"\n{extra}\n'


def run(engine: str, root: Path, policy: str, fees: dict[str, str],
        sales: list[tuple[str, str, str]] = ()) -> list[tuple[str, str, Decimal]]:
    """The (account, code, amount) of each award for one ``pay`` subscription per account."""
    (root / "subscriptions").mkdir(parents=True)
    (root / "sales").mkdir()
    with (root / "subscriptions" / "subs.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["subscription_id", "account_id", "segment", "service", "plan", "paid", "fee",
                    "currency", "billing_period", "channel", "start", "end"])
        for i, (account, fee) in enumerate(sorted(fees.items())):
            w.writerow([f"S{i}", account, "small_business", "pay", "p", "true", fee, "KRW",
                        "month", "web", "2022-01-01T00:00:00+09:00", ""])
    with (root / "sales" / "sales.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["account_id", "week_start", "amount"])
        w.writerows(sales)
    result = get_engine(engine).run(incident=PAY, policies=[load_policy(policy)],
                                    source=resolve(str(root)), calendars=HolidayCalendars())
    return [(r["account_id"], r["code"], Decimal(r["amount"])) for r in result.ledger.to_pylist()]


LOSS = head() + """
[[rules]]
id = "loss"
kind = "loss_brackets"
baseline = { from = 2022-09-03, to = 2022-10-08 }
outage_week = 2022-10-15
brackets = [ { up_to = "300000", amount = "30000" }, { up_to = "500000", amount = "50000" } ]
"""


@pytest.mark.parametrize("engine", ALL_ENGINES)
def test_missing_sales_weeks_give_no_loss_and_a_gap_is_not_a_week_of_zero(
        engine: str, tmp_path: Path) -> None:
    sales = [
        # the best week of those given (the missing 10 Sep is not a week of zero sales)
        ("A1", "2022-09-03", "1000000"), ("A1", "2022-09-17", "1200000"),
        ("A1", "2022-10-15", "950000"),
        ("A2", "2022-10-15", "500000"),  # no baseline week: no loss can be computed
        ("A3", "2022-09-03", "1200000"),  # no outage week: no loss can be computed
    ]
    assert run(engine, tmp_path, LOSS, {"A1": "0", "A2": "0", "A3": "0", "A4": "0"}, sales) == [
        ("A1", "LOSS_BRACKET", Decimal(30000))]


SLA = head() + """
[[rules]]
id = "sla"
kind = "sla_tiers"
tiers = [ { below = "99.9", percent = "10" } ]
min_credit = "1"
"""


@pytest.mark.parametrize("engine", ALL_ENGINES)
def test_an_sla_credit_under_min_credit_is_dropped_not_raised(engine: str, tmp_path: Path) -> None:
    # 16 h 30 min down in October: uptime 97.78 % < 99.9 -> 10 %; of 5 KRW 0.50 (< 1: dropped)
    assert run(engine, tmp_path, SLA, {"A1": "5", "A2": "20"}) == [
        ("A2", "SLA_TIER", Decimal(2))]


FUND = head('[caps]\nfund = "2000"\nfund_round = { step = "1", mode = "down" }') + """
[[rules]]
id = "flat"
kind = "fixed"
amount = "1000"
award = "cash"
"""


@pytest.mark.parametrize("engine", ALL_ENGINES)
def test_fund_round_rounds_each_scaled_award_not_the_factor(engine: str, tmp_path: Path) -> None:
    # 3,000 owed, 2,000 available: each 1,000 x 2/3 = 666.67 -> 666 (down); a factor rounded to
    # 0.67 first would pay 670
    assert run(engine, tmp_path, FUND, {"A1": "0", "A2": "0", "A3": "0"}) == [
        (a, "FIXED_AMOUNT+FUND_SCALED", Decimal(666)) for a in ("A1", "A2", "A3")]
