"""Local calendar facts (days, months, grace ends) and how explanations show local times."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from tests.factories import account, incident, policy, subscription

from makegood.adapters.calendars import HolidayCalendars
from makegood.domain.compensation import compensate
from makegood.domain.errors import InputError
from makegood.domain.local_calendar import (
    WorkingCalendar,
    days_after_grace,
    grace_end,
    local_days,
    month_of,
    months,
)
from makegood.domain.rules import StaticCalendars
from makegood.domain.windows import Window, format_windows

LONDON = ZoneInfo("Europe/London")
SEOUL = ZoneInfo("Asia/Seoul")
# England and Wales, 2026: Good Friday 3 Apr, Easter Monday 6 Apr
GB_2026 = WorkingCalendar("GB-ENG", holidays=frozenset({date(2026, 4, 3), date(2026, 4, 6)}))


def test_a_day_with_a_clock_change_is_one_day_of_23_or_25_hours():
    spring, autumn = (local_days(date(2026, 3, 29), date(2026, 3, 29), LONDON)[0],
                      local_days(date(2026, 10, 25), date(2026, 10, 25), LONDON)[0])
    assert spring.end - spring.start == timedelta(hours=23)
    assert autumn.end - autumn.start == timedelta(hours=25)


def test_a_month_with_a_clock_change_is_an_hour_short_and_keeps_its_31_days():
    march = month_of(datetime(2026, 3, 15, tzinfo=UTC), LONDON)
    assert (march.days, march.seconds) == (31, 31 * 86400 - 3600)


def test_months_run_from_the_first_instants_month_to_the_lasts():
    found = months(datetime(2022, 9, 30, 20, tzinfo=UTC), datetime(2022, 10, 1, 4, tzinfo=UTC), SEOUL)
    assert [(m.year, m.month) for m in found] == [(2022, 10)]  # 30 Sep 20:00 UTC is 1 Oct in Seoul


def test_a_working_day_grace_counts_full_days_from_the_day_after_the_start():
    start = datetime(2026, 3, 25, 10, tzinfo=LONDON)  # Wed
    end = grace_end(start, grace="working", days=2, tz=LONDON, working=GB_2026)
    assert end == datetime(2026, 3, 28, tzinfo=LONDON)  # after Thu 26 and Fri 27


def test_an_outage_starting_at_local_midnight_counts_its_first_day_in_the_grace():
    start = datetime(2026, 3, 26, tzinfo=LONDON)  # Thu 00:00
    assert grace_end(start, grace="calendar", days=2, tz=LONDON, working=None) == \
        datetime(2026, 3, 28, tzinfo=LONDON)


def test_a_working_day_grace_skips_public_holidays_and_weekends():
    start = datetime(2026, 4, 2, 18, tzinfo=LONDON)  # Thu before Good Friday
    assert grace_end(start, grace="working", days=2, tz=LONDON, working=GB_2026) == \
        datetime(2026, 4, 9, tzinfo=LONDON)  # Tue 7, Wed 8


def test_days_after_the_grace_are_local_calendar_days_touched():
    ends = datetime(2026, 3, 28, tzinfo=LONDON)
    assert days_after_grace(ends, datetime(2026, 3, 30, 0, 30, tzinfo=LONDON), grace="working",
                            tz=LONDON) == 3
    assert days_after_grace(ends, datetime(2026, 3, 30, tzinfo=LONDON), grace="working",
                            tz=LONDON) == 2
    assert days_after_grace(ends, ends, grace="working", tz=LONDON) == 0


def test_an_elapsed_grace_counts_periods_of_24_hours():
    start = datetime(2026, 3, 28, 12, tzinfo=LONDON)
    ends = grace_end(start, grace="elapsed", days=2, tz=LONDON, working=None)
    assert ends == start + timedelta(days=2)
    assert days_after_grace(ends, ends + timedelta(hours=24, seconds=1), grace="elapsed",
                            tz=LONDON) == 2


def test_windows_across_a_clock_change_label_each_time_with_its_own_zone():
    w = Window(datetime(2026, 3, 25, 10, tzinfo=LONDON), datetime(2026, 3, 30, 0, 30, tzinfo=LONDON))
    assert format_windows([w], LONDON) == "25 Mar 10:00 GMT - 30 Mar 00:30 BST"


def test_windows_in_one_zone_carry_one_label():
    w = Window(datetime(2022, 10, 15, 15, 30, tzinfo=SEOUL), datetime(2022, 10, 16, 2, tzinfo=SEOUL))
    assert format_windows([w], SEOUL) == "15 Oct 15:30 - 16 Oct 02:00 KST"


OFCOM = """
[[rules]]
id = "ofcom"
kind = "per_day"
grace_days = 2
grace = "working"
calendar = "GB-ENG"
steps = [ { from_day = 1, amount = "10.34" } ]
"""


def test_the_ofcom_explanation_names_the_days_paid_and_each_zone():
    inc = incident(("broadband", "2026-03-25 10:00", "2026-03-30 00:30"), tz="Europe/London")
    acc = account(subscription("broadband", fee=30, currency="GBP"))
    (award,) = compensate(acc, inc, policy(OFCOM, currency="GBP",
                                           extra_head='timezone = "Europe/London"'),
                          calendars=StaticCalendars({"GB-ENG": GB_2026})).awards
    assert award.amount == Decimal("31.02")
    assert award.explanation == (
        "broadband: down 25 Mar 10:00 GMT - 30 Mar 00:30 BST, 109 h 30 min; rule ofcom; "
        "109 h 30 min from 25 Mar 10:00 GMT; grace of 2 working days ends 28 Mar 00:00 GMT; "
        "3 local day(s), Sat 28 Mar to Mon 30 Mar: 3 x 10.34 = 31.02 GBP")


@pytest.mark.parametrize("calendars", [HolidayCalendars(), StaticCalendars({})])
def test_an_unknown_working_day_calendar_is_named_as_the_docs_name_it(calendars):
    with pytest.raises(InputError) as error:
        calendars.get("XX")
    assert error.value.problem.startswith("no working-day calendar 'XX'")
    assert error.value.field == "calendar"
