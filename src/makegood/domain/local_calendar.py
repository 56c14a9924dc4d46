"""Local calendar facts in a policy's time zone, computed here and nowhere else.

Days, months and working days are local: a day is the stretch between two local midnights (23
or 25 hours across a clock change), a month between the local midnights of two firsts. Every
rule of the reference (:mod:`makegood.domain.rules`) and the batch plan
(:mod:`makegood.adapters.batch.plan`) take these facts from the functions below; the plan
turns their results into SQL constants, it does not compute a calendar of its own.

The *working-day calendar* of a rule is named by a code such as ``"KR"`` or ``"GB-ENG"`` (a
country, or a subdivision with its own public holidays); it says which local days are working
days (:class:`WorkingCalendar`).

The per-day grace, exactly (``grace = "working"`` or ``"calendar"``, ``grace_days`` N > 0):

* the grace counts *full* local days: the day the outage starts counts only if the outage starts
  at its local midnight, otherwise counting begins on the next day;
* with ``working`` only working days of the calendar count (weekends and public holidays are
  skipped), with ``calendar`` every day does;
* the grace ends at the local midnight after the N-th counted day;
* every local calendar day after that which the outage touches is a compensable day, holidays
  and weekends included: a started day counts, a 23- or 25-hour day is one day.

With ``grace_days = 0`` the compensable days are the local days the outage touches, the day it
starts included. With ``grace = "elapsed"`` the grace and the days are periods of 24 hours from
the start (no calendar at all).
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from makegood.domain.windows import ZERO, Window, union

DAY = timedelta(days=1)
MICROSECOND = timedelta(microseconds=1)
GRACES = ("working", "calendar", "elapsed")


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    """Which local days are working days: not a weekend day, not a public holiday.

    ``country`` is the working-day calendar's code (``"KR"``, ``"GB-ENG"``). ``weekend`` holds
    ``date.weekday()`` numbers (Monday 0 ... Sunday 6). Holidays are data (from the ``holidays``
    package through an adapter, or passed in by tests).
    """

    country: str
    holidays: frozenset[date] = frozenset()
    weekend: frozenset[int] = frozenset({5, 6})

    def is_working_day(self, day: date) -> bool:
        return day.weekday() not in self.weekend and day not in self.holidays

    def working_days(self, first: date, last: date) -> list[date]:
        """Working days from ``first`` to ``last`` inclusive."""
        return [d for d in days_from(first, last) if self.is_working_day(d)]


# ---------------------------------------------------------------------------------------------
# Days


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The UTC instant at which local ``day`` begins in ``tz``."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def local_date(instant: datetime, tz: tzinfo) -> date:
    """The local calendar day that holds ``instant``."""
    return instant.astimezone(tz).date()


def last_date(end: datetime, tz: tzinfo) -> date:
    """The last local day a half-open stretch ending at ``end`` touches (its last microsecond)."""
    return local_date(end - MICROSECOND, tz)


def days_from(first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last`` inclusive."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@dataclass(frozen=True, slots=True)
class LocalDay:
    """One local calendar day and the UTC instants of its two midnights."""

    day: date
    start: datetime
    end: datetime


def local_days(first: date, last: date, tz: tzinfo) -> list[LocalDay]:
    """Each local day from ``first`` to ``last`` inclusive, with its bounds in UTC."""
    return [LocalDay(d, local_midnight(d, tz), local_midnight(d + DAY, tz))
            for d in days_from(first, last)]


def split_days(windows: Iterable[Window], tz: tzinfo) -> dict[date, timedelta]:
    """Covered time per local calendar day in ``tz`` (days with no coverage are omitted)."""
    out: dict[date, timedelta] = {}
    for window in union(windows):
        for day in local_days(local_date(window.start, tz), last_date(window.end, tz), tz):
            piece = window.intersection(Window(day.start, day.end))
            if piece is not None:
                out[day.day] = out.get(day.day, ZERO) + piece.duration
    return out


def split_working_days(
    windows: Iterable[Window], tz: tzinfo, calendar: WorkingCalendar
) -> dict[date, timedelta]:
    """Covered time per local working day (weekends and holidays of ``calendar`` dropped)."""
    return {d: t for d, t in split_days(windows, tz).items() if calendar.is_working_day(d)}


# ---------------------------------------------------------------------------------------------
# Months


@dataclass(frozen=True, order=True, slots=True)
class Month:
    """One local calendar month and the UTC instants of its first and next first midnights."""

    year: int
    month: int
    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        return _stdlib_calendar.monthrange(self.year, self.month)[1]

    @property
    def seconds(self) -> int:
        """Its length in seconds (one hour more or less in a month with a clock change)."""
        return int((self.end - self.start).total_seconds())

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    def next(self, tz: tzinfo) -> Month:
        return month(self.year + (self.month == 12), self.month % 12 + 1, tz)


def month(year: int, number: int, tz: tzinfo) -> Month:
    nxt = date(year + (number == 12), number % 12 + 1, 1)
    return Month(year, number, local_midnight(date(year, number, 1), tz), local_midnight(nxt, tz))


def month_of(instant: datetime, tz: tzinfo) -> Month:
    """The local month that holds ``instant``."""
    local = instant.astimezone(tz)
    return month(local.year, local.month, tz)


def months(first: datetime, last: datetime, tz: tzinfo) -> list[Month]:
    """The local months from the one holding ``first`` to the one holding ``last``, inclusive."""
    out = [month_of(first, tz)]
    end = month_of(last, tz)
    while out[-1] < end:
        out.append(out[-1].next(tz))
    return out


def split_months(windows: Iterable[Window], tz: tzinfo) -> dict[Month, timedelta]:
    """Covered time per local calendar month (months with no coverage are omitted)."""
    out: dict[Month, timedelta] = {}
    for window in union(windows):
        for m in months(window.start, window.end, tz):
            piece = window.intersection(Window(m.start, m.end))
            if piece is not None:
                out[m] = out.get(m, ZERO) + piece.duration
    return out


# ---------------------------------------------------------------------------------------------
# Grace periods and the days after them (per-day rules; the rule is stated in the docstring)


def first_grace_day(start: datetime, tz: tzinfo) -> date:
    """The first day that counts towards a grace of full days: the start's own day only if the
    outage starts at its local midnight."""
    local = start.astimezone(tz)
    return local.date() if local.time() == time(0) else local.date() + DAY


def grace_end_from(day: date, days: int, tz: tzinfo, working: WorkingCalendar | None) -> datetime:
    """The end of a grace of ``days`` (> 0) full days counted from ``day`` on: the local
    midnight after the last counted day (working days of ``working`` only, when given)."""
    counted = 0
    while True:
        if working is None or working.is_working_day(day):
            counted += 1
            if counted == days:
                return local_midnight(day + DAY, tz)
        day += DAY


def grace_end(start: datetime, *, grace: str, days: int, tz: tzinfo,
              working: WorkingCalendar | None) -> datetime:
    """When the grace of an outage that starts at ``start`` ends (see the module docstring)."""
    if grace == "elapsed" or days == 0:
        return start + days * DAY
    return grace_end_from(first_grace_day(start, tz), days, tz,
                          working if grace == "working" else None)


def days_after_grace(end_of_grace: datetime, end: datetime, *, grace: str, tz: tzinfo) -> int:
    """The compensable days of an outage that lasts past ``end_of_grace`` until ``end``: the
    local calendar days it touches (periods of 24 h from the grace's end under ``elapsed``)."""
    if end <= end_of_grace:
        return 0
    if grace == "elapsed":
        seconds = int((end - end_of_grace).total_seconds())
        return -(-seconds // 86400)
    return (last_date(end, tz) - local_date(end_of_grace, tz)).days + 1
