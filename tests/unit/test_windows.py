import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.factories import KST, at, window

from makegood.domain.errors import InputError
from makegood.domain.local_calendar import WorkingCalendar, split_days, split_working_days
from makegood.domain.windows import (
    Window,
    clip,
    format_duration,
    intersect,
    longest,
    parse_duration,
    parse_timestamp,
    subtract,
    total,
    union,
)

BASE = datetime(2022, 10, 15, tzinfo=UTC)


def test_naive_timestamp_is_an_input_error():
    with pytest.raises(InputError, match="no time zone"):
        Window(datetime(2022, 10, 15, 15, 30), datetime(2022, 10, 16, 2, 0))


def test_window_that_ends_before_it_starts_is_refused():
    with pytest.raises(InputError, match="at or before it starts"):
        window("2022-10-16 02:00", "2022-10-15 15:30")


def test_window_is_stored_in_utc():
    w = window("2022-10-15 15:30", "2022-10-16 02:00")
    assert w.start == datetime(2022, 10, 15, 6, 30, tzinfo=UTC)
    assert w.duration == timedelta(hours=10, minutes=30)


def test_union_merges_overlapping_and_touching_windows():
    a = window("2022-10-15 15:30", "2022-10-15 18:00")
    b = window("2022-10-15 17:00", "2022-10-15 19:00")
    c = window("2022-10-15 19:00", "2022-10-15 20:00")
    d = window("2022-10-16 01:00", "2022-10-16 02:00")
    assert union([d, c, a, b]) == (window("2022-10-15 15:30", "2022-10-15 20:00"), d)


def test_intersection_and_subtraction():
    a = [window("2022-10-15 15:30", "2022-10-16 02:00")]
    b = [window("2022-10-15 20:00", "2022-10-16 08:00")]
    assert intersect(a, b) == (window("2022-10-15 20:00", "2022-10-16 02:00"),)
    assert subtract(a, b) == (window("2022-10-15 15:30", "2022-10-15 20:00"),)


def test_clip_to_a_subscription_that_ended_during_the_outage():
    windows = [window("2022-10-15 15:30", "2022-10-16 02:00")]
    clipped = clip(windows, None, at("2022-10-15 18:00"))
    assert clipped == (window("2022-10-15 15:30", "2022-10-15 18:00"),)
    assert total(clipped) == timedelta(hours=2, minutes=30)


def test_longest_continuous_stretch():
    windows = [window("2022-10-15 10:00", "2022-10-15 11:00"),
               window("2022-10-15 12:00", "2022-10-15 15:00")]
    assert longest(windows) == timedelta(hours=3)
    assert total(windows) == timedelta(hours=4)


def test_split_into_local_calendar_days():
    days = split_days([window("2022-10-15 15:30", "2022-10-16 02:00")], KST)
    assert days == {date(2022, 10, 15): timedelta(hours=8, minutes=30),
                    date(2022, 10, 16): timedelta(hours=2)}


def test_split_into_working_days_skips_weekends_and_holidays():
    # Mon 3 Oct 2022 is National Foundation Day in Korea; 1-2 Oct is a weekend.
    cal = WorkingCalendar("KR", holidays=frozenset({date(2022, 10, 3)}))
    w = window("2022-10-01 00:00", "2022-10-05 00:00")
    assert split_working_days([w], KST, cal) == {date(2022, 10, 4): timedelta(days=1)}
    assert cal.working_days(date(2022, 10, 1), date(2022, 10, 7)) == [
        date(2022, 10, 4), date(2022, 10, 5), date(2022, 10, 6), date(2022, 10, 7)]


def test_split_days_handles_daylight_saving_in_london():
    london = ZoneInfo("Europe/London")
    # 30 Oct 2022: clocks go back; that local day has 25 hours.
    w = Window(datetime(2022, 10, 30, tzinfo=london), datetime(2022, 10, 31, tzinfo=london))
    assert split_days([w], london) == {date(2022, 10, 30): timedelta(hours=25)}


@pytest.mark.parametrize(("text", "expected"), [
    ("2h", timedelta(hours=2)), ("89min", timedelta(minutes=89)),
    ("1h30min", timedelta(hours=1, minutes=30)), ("3d", timedelta(days=3)),
    ("72h", timedelta(hours=72)),
])
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "2 hours", "h2", "3d junk"])
def test_bad_duration_is_refused(text):
    with pytest.raises(InputError, match="not a duration"):
        parse_duration(text)


def test_format_duration_reads_like_a_person():
    assert format_duration(timedelta(hours=10, minutes=30)) == "10 h 30 min"
    assert format_duration(timedelta(days=5, hours=7, minutes=30)) == "127 h 30 min"


def test_parse_timestamp_needs_an_offset():
    assert parse_timestamp("2022-10-15T15:30:00+09:00") == datetime(2022, 10, 15, 6, 30, tzinfo=UTC)
    assert parse_timestamp("2022-10-15T06:30:00Z") == datetime(2022, 10, 15, 6, 30, tzinfo=UTC)
    with pytest.raises(InputError, match="no time zone"):
        parse_timestamp("2022-10-15T15:30:00")


windows_strategy = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(1, 2_000)).map(
        lambda p: Window(BASE + timedelta(minutes=p[0]), BASE + timedelta(minutes=p[0] + p[1]))),
    max_size=12,
)


@given(windows_strategy)
def test_merging_is_idempotent(ws):
    assert union(union(ws)) == union(ws)


@given(windows_strategy)
def test_union_duration_is_at_most_the_sum(ws):
    assert total(ws) <= sum((w.duration for w in ws), timedelta(0))


@given(windows_strategy, st.integers(0, 12_000), st.integers(1, 5_000))
def test_clipping_never_extends(ws, offset, length):
    start = BASE + timedelta(minutes=offset)
    end = start + timedelta(minutes=length)
    clipped = clip(ws, start, end)
    assert total(clipped) <= total(ws)
    assert total(clipped) <= end - start
    assert all(start <= w.start and w.end <= end for w in clipped)


@given(windows_strategy, windows_strategy)
def test_intersection_plus_difference_is_the_whole(a, b):
    assert total(intersect(a, b)) + total(subtract(a, b)) == total(a)


@given(windows_strategy)
def test_union_is_sorted_and_disjoint(ws):
    merged = union(ws)
    assert all(x.end < y.start for x, y in itertools.pairwise(merged))
