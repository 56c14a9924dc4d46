"""Reading the notices back: campaigns with their progress, the delivery report of a campaign or
an incident, and the blast-radius rule as the notify configuration and the incident state it.

``makegood notify report`` prints these; the console's notices pages show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from makegood.adapters.db.repository import UnitOfWork
from makegood.domain.incident import Incident, Severity
from makegood.domain.notices import FINAL, BlastRadius, DeliveryStatus

STATUSES = tuple(s.value for s in DeliveryStatus if s is not DeliveryStatus.SKIPPED)


def report(uow: UnitOfWork, *, campaign_id: str | None = None,
           incident_id: str | None = None) -> dict[str, Any]:
    """The delivery report (by status, by delivering channel and step, attempts by channel and
    status, fallbacks taken, steps skipped) with the campaigns it covers, each with its
    progress; :class:`~makegood.domain.errors.NotFound` for an unknown campaign."""
    with uow:
        if campaign_id is not None:
            uow.outbox.campaign(campaign_id)
        data = uow.outbox.report(campaign_id=campaign_id, incident_id=incident_id)
        data["campaigns"] = _with_progress(uow, [
            c for c in uow.outbox.campaigns()
            if (campaign_id is None or c["id"] == campaign_id)
            and (incident_id is None or c["incident_id"] == incident_id)])
        # Who started (and resumed) the campaign, from the audit trail.
        data["starts"] = [{"at": a.at, "actor": a.actor, "resumed": a.action.endswith("resumed")}
                          for a in uow.audit.of("notice_campaign", campaign_id)] \
            if campaign_id is not None else []
    return data


def campaigns(uow: UnitOfWork, *, incident_id: str | None = None) -> list[dict[str, Any]]:
    """Every campaign (of an incident), newest first, with its notices counted by status."""
    with uow:
        found = [c for c in uow.outbox.campaigns()
                 if incident_id is None or c["incident_id"] == incident_id]
        return list(reversed(_with_progress(uow, found)))


def _with_progress(uow: UnitOfWork, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts = uow.outbox.progress([c["id"] for c in found])
    out = []
    for c in found:
        mine = counts.get(c["id"], {})
        by_status = {s: mine.get(s, 0) for s in STATUSES}
        total = sum(by_status.values())
        settled = sum(by_status[s.value] for s in FINAL)
        out.append({**c, "by_status": by_status, "notices": total, "settled": settled,
                    "blast_radius": mine.get("blast_radius", 0)})
    return out


@dataclass(frozen=True, slots=True)
class Outage:
    """A window in which a service the map names was down (an outage, not a degradation)."""

    service: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class BlastRule:
    """One line of the blast-radius map: a channel (or mail to a domain) and the services it
    depends on, with those services' outage windows in the incident (none: never skipped)."""

    channel: str
    domain: str | None
    services: tuple[str, ...]
    outages: tuple[Outage, ...]


def blast_radius_rules(radius: BlastRadius, incident: Incident | None) -> list[BlastRule]:
    """The map of the notify configuration, each line with the incident's outages of its
    services (the worker skips the channel while one of them is down)."""
    def outages(services: tuple[str, ...]) -> tuple[Outage, ...]:
        if incident is None:
            return ()
        found = {(i.service, i.window.start, i.window.end) for i in incident.impacts
                 if i.service in services and i.severity is Severity.OUTAGE}
        return tuple(Outage(*o) for o in sorted(found, key=lambda o: (o[1], o[0])))

    rules = [BlastRule(channel, None, tuple(services), outages(tuple(services)))
             for channel, services in sorted(radius.channels.items())]
    rules += [BlastRule("email", domain, tuple(services), outages(tuple(services)))
              for domain, services in sorted(radius.email_domains.items())]
    return rules
