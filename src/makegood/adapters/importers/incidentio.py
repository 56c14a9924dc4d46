"""incident.io status pages: the ``component_impacts`` of status-page incidents as source windows.

Documented format (the public status page's incident JSON)::

    {"incidents": [{"id", "name", "status",
      "affected_components": [{"component_id" | "id", "name"?, ...}],
      "component_impacts": [{"id", "component_id", "status_page_incident_id",
                             "status", "start_at", "end_at"}]}]}

also one incident as ``{"incident": {...}}`` or bare. Each impact is one window of one component
(``component_id``; the name from ``affected_components`` where the page gives it). ``status``
(older exports call it ``component_status``): ``full_outage`` is an outage,
``partial_outage`` and ``degraded_performance`` are degraded, ``under_maintenance`` is maintenance.
``end_at: null`` means the impact is still going on (an open window). Impacts come in no
particular order and one component may have several (the status changed during the incident).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from makegood.adapters.importers._common import array, instant, load_json, mapping, text
from makegood.domain.errors import IncidentError
from makegood.domain.incident import Severity
from makegood.domain.timeline import SourceWindow

KIND = "incidentio"

STATUS: dict[str, Severity | None] = {
    "operational": None,
    "degraded_performance": Severity.DEGRADED,
    "partial_outage": Severity.DEGRADED,
    "full_outage": Severity.OUTAGE,
    "under_maintenance": Severity.MAINTENANCE,
}


def read(path: Path) -> list[SourceWindow]:
    data = load_json(path, what="an incident.io status page incident JSON")
    return parse(data, file=str(path))


def parse(data: Any, *, file: str) -> list[SourceWindow]:
    if isinstance(data, dict) and "incidents" in data:
        incidents = array(data["incidents"], file=file, field="incidents", what="a list of incidents")
        fields = [f"incidents[{i}]" for i in range(len(incidents))]
    elif isinstance(data, dict) and "incident" in data:
        incidents, fields = [data["incident"]], ["incident"]
    elif isinstance(data, dict) and "component_impacts" in data:
        incidents, fields = [data], [""]
    elif isinstance(data, list):
        incidents, fields = data, [f"[{i}]" for i in range(len(data))]
    else:
        raise IncidentError(
            "not an incident.io status page incident: expected 'incidents', 'incident' or "
            "'component_impacts'", file=file)
    names = _names(incidents)
    windows: list[SourceWindow] = []
    for raw, at in zip(incidents, fields, strict=True):
        windows.extend(_incident(raw, names, file=file, at=at))
    return windows


def _names(incidents: list[Any]) -> dict[str, str]:
    """Component names, from any incident of the file that gives them."""
    names: dict[str, str] = {}
    for incident in incidents:
        comps = incident.get("affected_components") if isinstance(incident, dict) else None
        for comp in comps if isinstance(comps, list) else []:
            if isinstance(comp, dict):
                ident = comp.get("component_id") or comp.get("id")
                name = comp.get("name")
                if isinstance(ident, str) and isinstance(name, str) and name.strip():
                    names.setdefault(ident, name)
    return names


def _incident(raw: Any, names: dict[str, str], *, file: str, at: str) -> list[SourceWindow]:
    incident = mapping(raw, file=file, field=at or "incident", what="an incident")
    dot = f"{at}." if at else ""
    impacts = array(incident.get("component_impacts"), file=file, field=f"{dot}component_impacts",
                    what="a list of component impacts")
    windows: list[SourceWindow] = []
    for k, imp_raw in enumerate(impacts):
        field = f"{dot}component_impacts[{k}]"
        imp = mapping(imp_raw, file=file, field=field, what="a component impact")
        ident = text(imp.get("component_id"), file=file, field=f"{field}.component_id")
        key = "status" if "status" in imp else "component_status"
        status = imp.get(key)
        if status not in STATUS:
            raise IncidentError(
                f"unknown component status {status!r}; incident.io uses {', '.join(STATUS)}",
                file=file, field=f"{field}.{key}")
        severity = STATUS[status]
        if severity is None:
            continue
        start = instant(imp.get("start_at"), file=file, field=f"{field}.start_at")
        end = None
        if imp.get("end_at") is not None:
            end = instant(imp["end_at"], file=file, field=f"{field}.end_at")
            if end <= start:
                raise IncidentError(
                    f"the impact ends ({imp['end_at']}) at or before it starts ({imp.get('start_at')})",
                    file=file, field=f"{field}.end_at")
        windows.append(SourceWindow(source=KIND, name=names.get(ident, ident), ident=ident,
                                    start=start, end=end, severity=severity,
                                    where=f"{file}, {field}"))
    return windows
