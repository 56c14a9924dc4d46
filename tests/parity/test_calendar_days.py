"""Per-day rules count local calendar days, across clock changes, in every engine.

The issue's cases: under Ofcom (``ofcom-gb``: 10.34 GBP a day after two full working days of
England and Wales), an outage from Wed 25 Mar 2026 10:00 GMT to Mon 30 Mar 00:30 BST touches
Sat 28, Sun 29 (23 hours: the clocks go forward) and Mon 30 after the grace: three days, where
24-hour steps gave two; across the autumn change (Sun 25 Oct 2026, 25 hours) 24-hour steps gave
one day too many. And a Korean case, with Chuseok and National Foundation Day in the way.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.parity.parity_data import shipped_policy

from makegood.adapters.batch import ENGINES, get_engine
from makegood.adapters.calendars import HolidayCalendars
from makegood.adapters.tables import resolve
from makegood.domain.incident import Impact, Incident
from makegood.domain.policy import Policy, load_policy
from makegood.domain.windows import Window

LONDON = ZoneInfo("Europe/London")
SEOUL = ZoneInfo("Asia/Seoul")

KR_POLICY = """
[policy]
id = "kr-days"
version = 1
name = "1,000 KRW a day after two full Korean working days"
currency = "KRW"
timezone = "Asia/Seoul"

[[rules]]
id = "kr-per-day"
kind = "per_day"
grace_days = 2
grace = "working"
calendar = "KR"
steps = [ { from_day = 1, amount = "1000" } ]
round = { step = "1", mode = "half_up" }
"""

NO_GRACE = """
[policy]
id = "no-grace"
version = 1
name = "1 GBP for every local day touched"
currency = "GBP"
timezone = "Europe/London"

[[rules]]
id = "every-day"
kind = "per_day"
grace_days = 0
grace = "calendar"
steps = [ { from_day = 1, amount = "1" } ]
"""


@dataclass(frozen=True)
class Case:
    name: str
    policy: str  # a shipped policy's name, or the TOML text
    start: datetime
    end: datetime
    amount: Decimal
    currency: str

    def load(self) -> Policy:
        return shipped_policy(self.policy) if "\n" not in self.policy else load_policy(self.policy)


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def seoul(*args: int) -> datetime:
    return datetime(*args, tzinfo=SEOUL)  # type: ignore[misc]


CASES = [
    # grace: Thu 26, Fri 27 -> ends Sat 28 00:00 GMT; Sat, Sun (23 h), Mon 00:00-00:30 BST
    Case("gb-spring-2026-three-days", "ofcom-gb", london(2026, 3, 25, 10), london(2026, 3, 30, 0, 30),
         Decimal("31.02"), "GBP"),
    # grace: Thu 22, Fri 23 -> ends Sat 24 00:00 BST; Sat, Sun (25 h): 49 hours, two days
    Case("gb-autumn-2026-two-days", "ofcom-gb", london(2026, 10, 21, 10), london(2026, 10, 26),
         Decimal("20.68"), "GBP"),
    Case("gb-autumn-2026-a-started-day-counts", "ofcom-gb", london(2026, 10, 21, 10),
         london(2026, 10, 26, 0, 30), Decimal("31.02"), "GBP"),
    # Good Friday 3 Apr and Easter Monday 6 Apr 2026 are not working days in England: the grace
    # counts Tue 7 and Wed 8 and ends Thu 9 00:00 BST; Thu and Fri 10 until noon: two days
    Case("gb-easter-2026-holidays-skipped-in-the-grace", "ofcom-gb", london(2026, 4, 2, 18),
         london(2026, 4, 10, 12), Decimal("20.68"), "GBP"),
    # Chuseok (Thu 24 - Sat 26 Sep) and the weekend are skipped: the grace counts Mon 28 and
    # Tue 29 and ends Wed 30 00:00 KST; 30 minutes of Wed 30 are one day
    Case("kr-chuseok-2026-grace", KR_POLICY, seoul(2026, 9, 23, 15), seoul(2026, 9, 30, 0, 30),
         Decimal("1000"), "KRW"),
    # grace Wed 30 Sep, Thu 1 Oct -> ends Fri 2 Oct 00:00 KST; Fri 2, Sat 3 (National Foundation
    # Day), Sun 4, Mon 5 (its substitute holiday), Tue 6 until 00:30: holidays after the grace pay
    Case("kr-2026-holidays-after-the-grace-are-paid", KR_POLICY, seoul(2026, 9, 29, 9),
         seoul(2026, 10, 6, 0, 30), Decimal("5000"), "KRW"),
    # no grace: the start's own day counts; Sat 28 Mar 23:00 GMT - Sun 29 Mar 01:30 BST
    Case("gb-no-grace-the-start-day-counts", NO_GRACE, london(2026, 3, 28, 23),
         london(2026, 3, 29, 1, 30), Decimal("2"), "GBP"),
]

SPARK_MARKS = [pytest.mark.spark, pytest.mark.xdist_group("spark")]
ALL_ENGINES = [pytest.param(name, id=name, marks=SPARK_MARKS if name == "spark" else [])
               for name in ENGINES]


def write_case(case: Case, root: Path) -> Incident:
    (root / "subscriptions").mkdir(parents=True)
    with (root / "subscriptions" / "subscriptions.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["subscription_id", "account_id", "segment", "service", "plan", "paid", "fee",
                    "currency", "billing_period", "channel", "start", "end"])
        w.writerow(["S1", "A1", "individual", "broadband", "fibre", "true", "30", case.currency,
                    "month", "web", "2020-01-01T00:00:00Z", ""])
    return Incident(id=case.name, title=case.name, timezone="UTC", impacts=(
        Impact(service="broadband", window=Window(case.start, case.end)),))


@pytest.mark.parametrize("engine", ALL_ENGINES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_per_day_rules_pay_each_local_calendar_day_after_the_grace(
        case: Case, engine: str, tmp_path: Path) -> None:
    incident = write_case(case, tmp_path)
    result = get_engine(engine).run(incident=incident, policies=[case.load()],
                                    source=resolve(str(tmp_path)), calendars=HolidayCalendars())
    rows = result.ledger.to_pylist()
    assert [(r["code"], Decimal(r["amount"]), r["currency"]) for r in rows] == [
        ("PER_DAY", case.amount, case.currency)]
