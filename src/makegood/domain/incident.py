"""Incidents: what was down, where, when, how badly, and whose fault it was.

An incident holds impact windows per service and optional feature, each with a severity
(``outage`` or ``degraded``; ``maintenance`` is kept apart and never counts unless a policy says
so), and optionally an official window that a policy may use instead of the measured ones
(2022: 127 h 30 min, 15 Oct 15:30 to 20 Oct 23:00 KST, for everyone).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from makegood.domain.errors import IncidentError, InputError
from makegood.domain.windows import Window, union


class Severity(StrEnum):
    OUTAGE = "outage"
    DEGRADED = "degraded"
    MAINTENANCE = "maintenance"


class Fault(StrEnum):
    PROVIDER = "provider"
    FORCE_MAJEURE = "force_majeure"


def nfc(text: str) -> str:
    """Normalize text people type (Korean included) to NFC and strip surrounding blanks."""
    return unicodedata.normalize("NFC", text).strip()


def zone(name: str, *, field: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {name!r}; use an IANA name such as Asia/Seoul",
                         field=field) from None


@dataclass(frozen=True, slots=True)
class Impact:
    """One window of one service (and optionally one feature) at one severity.

    ``open`` marks a window still open when the incident was imported; its end is the
    ``as of`` instant of the import.
    """

    service: str
    window: Window
    severity: Severity = Severity.OUTAGE
    feature: str | None = None
    open: bool = False

    def __post_init__(self) -> None:
        if not self.service.strip():
            raise IncidentError("service name is empty", field="service")
        object.__setattr__(self, "service", nfc(self.service))
        if self.feature is not None:
            object.__setattr__(self, "feature", nfc(self.feature) or None)


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    title: str
    timezone: str
    impacts: tuple[Impact, ...]
    fault: Fault = Fault.PROVIDER
    official_window: Window | None = None
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        zone(self.timezone)
        if not self.id.strip():
            raise IncidentError("incident id is empty", field="id")

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone)

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(sorted({i.service for i in self.impacts}))

    def features(self, service: str) -> tuple[str, ...]:
        return tuple(sorted({i.feature for i in self.impacts if i.service == service and i.feature}))

    def windows(
        self,
        service: str,
        *,
        severities: Iterable[Severity] = (Severity.OUTAGE,),
        features: Iterable[str] | None = None,
        official: bool = False,
    ) -> tuple[Window, ...]:
        """The merged windows that count for ``service``.

        With ``official`` the incident's official window counts for every service the incident
        touches (at any severity); otherwise the measured windows of the given severities, of all
        features or only of ``features``.
        """
        touched = [i for i in self.impacts if i.service == service]
        if official:
            if self.official_window is None:
                raise IncidentError(
                    f"the policy counts the official window but incident {self.id!r} has none",
                    field="official_window",
                )
            return (self.official_window,) if touched else ()
        wanted = set(severities)
        only = set(features) if features is not None else None
        return union(
            i.window
            for i in touched
            if i.severity in wanted and (only is None or i.feature is None or i.feature in only)
        )

    @property
    def span(self) -> Window | None:
        """From the first start to the last end over every impact (and the official window)."""
        windows = [i.window for i in self.impacts]
        if self.official_window is not None:
            windows.append(self.official_window)
        if not windows:
            return None
        return Window(min(w.start for w in windows), max(w.end for w in windows))

    def start(self) -> datetime | None:
        span = self.span
        return span.start if span else None
