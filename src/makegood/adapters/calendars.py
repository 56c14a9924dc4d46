"""Working-day calendars from the ``holidays`` package (public holidays by country)."""

from __future__ import annotations

from functools import cache

import holidays

from makegood.domain.errors import InputError
from makegood.domain.windows import WorkingCalendar

YEARS = range(2000, 2041)


class HolidayCalendars:
    """Weekends (Saturday, Sunday) and the public holidays of a country, 2000 to 2040."""

    def get(self, country: str) -> WorkingCalendar:
        return _calendar(country.upper())


@cache
def _calendar(country: str) -> WorkingCalendar:
    try:
        days = holidays.country_holidays(country, years=YEARS)
    except NotImplementedError:
        raise InputError(f"no public-holiday calendar for country {country!r}",
                         field="calendar") from None
    return WorkingCalendar(country=country, holidays=frozenset(days.keys()))
