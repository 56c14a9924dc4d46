"""Timelines: turning what several monitoring tools saw into one incident's impact windows.

Importers (``adapters/importers/``) read each tool's own format into :class:`SourceWindow`
values: a window as the source saw it, named by the source's own component, monitor, job or
alert label, possibly still open (``end is None``). A map file turns each name into a
:class:`Target` (service, feature); the result is an :class:`Observation`. :func:`merge` then
applies the merging rules, which are the same whichever tool the windows came from:

- windows of the same service, feature and severity are unioned (overlapping and touching
  windows become one, so repeats and flapping reports do not count twice);
- outage wins over degraded: where an outage and a degraded window of the same service and
  feature overlap, the overlap counts as outage only;
- maintenance is kept apart (it neither cuts nor is cut by the others);
- an open window is closed at ``as_of`` and the merged window that reaches ``as_of`` through
  it is marked ``open``.

Example: degraded 15:30-18:00 and outage 16:00-17:00 of ``messenger/text`` become degraded
15:30-16:00, outage 16:00-17:00, degraded 17:00-18:00.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from makegood.domain.errors import IncidentError
from makegood.domain.incident import Impact, Severity, nfc
from makegood.domain.windows import Window, require_aware, subtract, union


@dataclass(frozen=True, slots=True)
class SourceWindow:
    """One window as a source reported it, before mapping.

    ``name`` is the source's own name for what was down (a Statuspage component, an Uptime Kuma
    monitor, a Prometheus ``job`` ...). ``severity`` is ``None`` when the source only knows up and
    down (the map file then decides, outage by default). ``end`` is ``None`` while still open.
    ``where`` says where in the source the window came from, for error messages; ``ident`` is the
    source's stable id for ``name`` where it has one (a component code, a monitor id), which a map
    file may use instead of the name.
    """

    source: str
    name: str
    start: datetime
    end: datetime | None
    severity: Severity | None = None
    where: str = ""
    ident: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", nfc(self.name))
        start = require_aware(self.start, field="start")
        object.__setattr__(self, "start", start)
        if self.end is not None:
            end = require_aware(self.end, field="end")
            if end <= start:
                raise IncidentError(
                    f"window of {self.name!r} ends ({end.isoformat()}) at or before it starts "
                    f"({start.isoformat()})",
                    file=self.where or None,
                    field="end",
                )
            object.__setattr__(self, "end", end)


@dataclass(frozen=True, slots=True)
class Target:
    """Where a source name belongs: a service, optionally a feature, optionally a severity.

    ``severity`` applies to sources that only say up or down; it never overrides a severity the
    source reported itself.
    """

    service: str
    feature: str | None = None
    severity: Severity | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """A source window placed on a service (and feature) at a severity."""

    service: str
    feature: str | None
    severity: Severity
    start: datetime
    end: datetime | None
    where: str = ""


def place(window: SourceWindow, target: Target) -> Observation:
    """The observation a mapped source window makes."""
    severity = window.severity or target.severity or Severity.OUTAGE
    return Observation(
        service=nfc(target.service),
        feature=nfc(target.feature) if target.feature else None,
        severity=severity,
        start=window.start,
        end=window.end,
        where=window.where,
    )


def merge(observations: Iterable[Observation], *, as_of: datetime) -> tuple[Impact, ...]:
    """Merge observations into impacts per the rules in the module docstring.

    Raises :class:`IncidentError` if an open window starts at or after ``as_of`` (it cannot be
    closed there).
    """
    cutoff = require_aware(as_of, field="as_of")
    groups: dict[tuple[str, str | None, Severity], list[Window]] = defaultdict(list)
    open_ends: dict[tuple[str, str | None, Severity], bool] = defaultdict(bool)
    for obs in observations:
        key = (obs.service, obs.feature, obs.severity)
        if obs.end is None:
            if obs.start >= cutoff:
                raise IncidentError(
                    f"a window still open started at {obs.start.isoformat()}, not before "
                    f"--as-of {cutoff.isoformat()}; give a later --as-of",
                    file=obs.where or None,
                    field="as_of",
                )
            groups[key].append(Window(obs.start, cutoff))
            open_ends[key] = True
        else:
            groups[key].append(Window(obs.start, obs.end))

    impacts: list[Impact] = []
    targets = sorted({(service, feature) for service, feature, _ in groups},
                     key=lambda t: (t[0], t[1] or ""))
    for service, feature in targets:
        outage = union(groups.get((service, feature, Severity.OUTAGE), ()))
        degraded = subtract(groups.get((service, feature, Severity.DEGRADED), ()), outage)
        maintenance = union(groups.get((service, feature, Severity.MAINTENANCE), ()))
        for severity, windows in (
            (Severity.OUTAGE, outage),
            (Severity.DEGRADED, degraded),
            (Severity.MAINTENANCE, maintenance),
        ):
            still_open = open_ends[(service, feature, severity)]
            impacts.extend(
                Impact(service=service, feature=feature, severity=severity, window=w,
                       open=still_open and w.end == cutoff)
                for w in windows
            )
    return tuple(impacts)
