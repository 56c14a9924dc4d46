"""Atlassian Statuspage: the public API's ``incidents.json`` (or one incident) as source windows.

Documented format (``GET /api/v2/incidents.json``)::

    {"page": {...}, "incidents": [{"id", "name", "status", "impact", "created_at", "started_at",
      "resolved_at", "components": [...],
      "incident_updates": [{"status", "created_at", "display_at",
        "affected_components": [{"code", "name", "old_status", "new_status"}] | null}]}]}

Per component, the severity over time comes from the ``old_status -> new_status`` transitions of
the updates, replayed oldest first (the feed lists them newest first). Updates repeat unchanged
components (``operational -> operational``, ``major_outage -> major_outage``); a repeat changes
nothing. ``major_outage`` is an outage, ``partial_outage`` and ``degraded_performance`` are
degraded, ``under_maintenance`` is maintenance, ``operational`` ends the window. A component still
not operational after the last update ends at ``resolved_at``, or stays open if the incident is not
resolved. A component whose first transition starts from a non-operational status was already
down when the incident started (``started_at``). Older feeds write an update that changes no
component as ``[{"name": "No components were affected by this update."}]`` (no code, no
statuses): that is no change, not an error.

An incident that names no component in any update falls back to one window ``started_at`` ..
``resolved_at`` named after the incident, at the severity of its ``impact`` (``critical`` and
``major``: outage; ``minor``: degraded; ``maintenance``: maintenance; ``none``: as the map says).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from makegood.adapters.importers._common import array, instant, load_json, mapping, text
from makegood.domain.errors import IncidentError
from makegood.domain.incident import Severity
from makegood.domain.timeline import SourceWindow

KIND = "statuspage"

COMPONENT_STATUS: dict[str, Severity | None] = {
    "operational": None,
    "degraded_performance": Severity.DEGRADED,
    "partial_outage": Severity.DEGRADED,
    "major_outage": Severity.OUTAGE,
    "under_maintenance": Severity.MAINTENANCE,
}

IMPACT: dict[str, Severity | None] = {
    "none": None,
    "minor": Severity.DEGRADED,
    "major": Severity.OUTAGE,
    "critical": Severity.OUTAGE,
    "maintenance": Severity.MAINTENANCE,
}

RESOLVED = {"resolved", "postmortem", "completed"}


def read(path: Path) -> list[SourceWindow]:
    """Source windows from a Statuspage ``incidents.json`` or single-incident file."""
    data = load_json(path, what="a Statuspage incidents.json")
    return parse(data, file=str(path))


def parse(data: Any, *, file: str) -> list[SourceWindow]:
    if isinstance(data, dict) and "incidents" in data:
        incidents = array(data["incidents"], file=file, field="incidents", what="a list of incidents")
        prefix = "incidents"
    elif isinstance(data, dict) and "incident" in data:
        incidents, prefix = [data["incident"]], "incident"
    elif isinstance(data, dict) and "incident_updates" in data:
        incidents, prefix = [data], ""
    elif isinstance(data, list):
        incidents, prefix = data, ""
    else:
        raise IncidentError(
            "not a Statuspage incidents.json: expected an object with 'incidents' "
            "(or one incident with 'incident_updates')",
            file=file,
        )
    windows: list[SourceWindow] = []
    for i, raw in enumerate(incidents):
        at = f"{prefix}[{i}]" if prefix != "incident" else "incident"
        windows.extend(_incident(raw, file=file, at=at))
    return windows


def _no_component(comp: dict[str, Any]) -> bool:
    """An entry that stands for "no component changed": no code, id or status at all.

    Older feeds write updates that touch no component as
    ``[{"name": "No components were affected by this update."}]``.
    """
    return not any(comp.get(key) is not None
                   for key in ("code", "id", "old_status", "new_status"))


def _status(comp: dict[str, Any], key: str, *, file: str, field: str) -> Severity | None:
    value = comp.get(key)
    if value is None:
        found = "null" if key in comp else "missing"
        raise IncidentError(
            f"the affected component has no {key} ({found}); Statuspage writes one of "
            f"{', '.join(COMPONENT_STATUS)}",
            file=file, field=f"{field}.{key}",
        )
    if value not in COMPONENT_STATUS:
        raise IncidentError(
            f"unknown component status {value!r}; Statuspage uses "
            f"{', '.join(COMPONENT_STATUS)}",
            file=file, field=f"{field}.{key}",
        )
    return COMPONENT_STATUS[value]


def _incident(raw: Any, *, file: str, at: str) -> list[SourceWindow]:
    incident = mapping(raw, file=file, field=at or "incident", what="an incident")
    dot = f"{at}." if at else ""
    name = text(incident.get("name"), file=file, field=f"{dot}name")
    incident_id = incident.get("id") if isinstance(incident.get("id"), str) else None
    created = instant(incident.get("created_at"), file=file, field=f"{dot}created_at")
    started = (instant(incident["started_at"], file=file, field=f"{dot}started_at")
               if incident.get("started_at") is not None else created)
    resolved: datetime | None = None
    if incident.get("resolved_at") is not None:
        resolved = instant(incident["resolved_at"], file=file, field=f"{dot}resolved_at")
    elif incident.get("status") in RESOLVED:
        raise IncidentError("the incident is resolved but has no resolved_at",
                            file=file, field=f"{dot}resolved_at")
    where = f"{file}, {at or 'incident'}"

    updates_raw = incident.get("incident_updates")
    updates = [] if updates_raw is None else array(
        updates_raw, file=file, field=f"{dot}incident_updates", what="a list of updates")
    timed: list[tuple[datetime, int, list[Any], str]] = []
    for j, upd in enumerate(updates):
        ufield = f"{dot}incident_updates[{j}]"
        update = mapping(upd, file=file, field=ufield, what="an incident update")
        stamp = update.get("display_at") or update.get("created_at")
        when = instant(stamp, file=file, field=f"{ufield}.created_at")
        comps = update.get("affected_components")
        comps = [] if comps is None else array(comps, file=file, field=f"{ufield}.affected_components",
                                               what="a list of affected components")
        # newest first in the feed: a later position is an earlier update when times tie
        timed.append((when, -j, comps, ufield))
    timed.sort(key=lambda t: (t[0], t[1]))

    names: dict[str, str] = {}
    for comp in incident.get("components") or []:
        if isinstance(comp, dict) and isinstance(comp.get("id"), str) and isinstance(comp.get("name"), str):
            names[comp["id"]] = comp["name"]

    state: dict[str, tuple[Severity, datetime] | None] = {}
    order: list[str] = []
    windows: list[SourceWindow] = []

    def emit(code: str, severity: Severity, start: datetime, end: datetime | None) -> None:
        if end is not None and end <= start:
            return  # a status that lasted no time at all (two updates in the same instant)
        windows.append(SourceWindow(source=KIND, name=names.get(code, code), ident=code,
                                    start=start, end=end, severity=severity, where=where))

    for when, _, comps, ufield in timed:
        for k, comp_raw in enumerate(comps):
            cfield = f"{ufield}.affected_components[{k}]"
            comp = mapping(comp_raw, file=file, field=cfield, what="an affected component")
            if _no_component(comp):
                continue  # older feeds: "No components were affected by this update."
            code = comp.get("code") or comp.get("id") or comp.get("name")
            code = text(code, file=file, field=f"{cfield}.code")
            if isinstance(comp.get("name"), str) and comp["name"].strip():
                names.setdefault(code, comp["name"])
            old = _status(comp, "old_status", file=file, field=cfield)
            new = _status(comp, "new_status", file=file, field=cfield)
            if code not in state:
                order.append(code)
                state[code] = (old, min(started, when)) if old is not None else None
            current = state[code]
            if (current[0] if current else None) == new:
                continue  # a repeat: the component did not change
            if current is not None:
                emit(code, current[0], current[1], when)
            state[code] = (new, when) if new is not None else None

    if not order:
        severity = _impact(incident.get("impact"), file=file, field=f"{dot}impact")
        if resolved is not None and resolved <= started:
            start_key = "started_at" if incident.get("started_at") is not None else "created_at"
            raise IncidentError(
                f"the incident resolves ({incident['resolved_at']}) at or before it starts "
                f"({incident[start_key]})", file=file, field=f"{dot}resolved_at")
        return [SourceWindow(source=KIND, name=name, ident=incident_id, start=started, end=resolved,
                             severity=severity, where=where)]

    for code in order:
        current = state[code]
        if current is not None:
            emit(code, current[0], current[1], resolved)
    return windows


def _impact(value: Any, *, file: str, field: str) -> Severity | None:
    if value is None:
        return None
    if value not in IMPACT:
        raise IncidentError(f"unknown incident impact {value!r}; Statuspage uses {', '.join(IMPACT)}",
                            file=file, field=field)
    return IMPACT[value]
