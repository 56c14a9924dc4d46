"""Working-day calendars from the ``holidays`` package (public holidays by country).

A working-day calendar is named by a code: a country (``"KR"``) or a subdivision (``"GB-ENG"``);
see :class:`makegood.domain.local_calendar.WorkingCalendar`.
"""

from __future__ import annotations

from functools import cache

import holidays

from makegood.domain.errors import InputError
from makegood.domain.local_calendar import WorkingCalendar

YEARS = range(2000, 2041)


class HolidayCalendars:
    """Weekends (Saturday, Sunday) and the public holidays of a country, 2000 to 2040.

    ``"KR"``, ``"GB"``, ... name a country; ``"GB-ENG"`` a subdivision (England's bank holidays
    include Easter Monday, which the GB-wide list does not).
    """

    def get(self, country: str) -> WorkingCalendar:
        return _calendar(country.upper())


@cache
def _calendar(country: str) -> WorkingCalendar:
    code, _, subdiv = country.partition("-")
    try:
        days = holidays.country_holidays(code, subdiv=subdiv or None, years=YEARS)
    except NotImplementedError:
        raise InputError(f"no working-day calendar {country!r}; name a country (\"KR\", \"DE\") "
                         "or a subdivision (\"GB-ENG\") as the holidays package does",
                         field="calendar") from None
    return WorkingCalendar(country=country, holidays=frozenset(days.keys()))
