"""The incident document: a TOML file that importers write and every engine reads.

::

    [incident]
    id = "kakao-2022-10-15"
    title = "Pangyo data-center fire"
    timezone = "Asia/Seoul"
    fault = "provider"                      # or "force_majeure"
    official_window = { start = "2022-10-15T15:30:00+09:00", end = "2022-10-20T23:00:00+09:00" }

    [[windows]]
    service = "messenger"
    feature = "text"                        # optional
    severity = "outage"                     # outage | degraded | maintenance
    start = "2022-10-15T15:30:00+09:00"
    end = "2022-10-16T01:31:00+09:00"
    open = false                            # true: still open when imported, closed at --as-of

Timestamps need an offset (``Z`` or ``+09:00``); TOML offset date-times and strings both work.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from makegood.domain.document import Table, parse_toml
from makegood.domain.errors import IncidentError, InputError
from makegood.domain.incident import Fault, Impact, Incident, Severity
from makegood.domain.windows import Window


def _window(t: Table) -> Window:
    start = t.timestamp("start")
    end = t.timestamp("end")
    try:
        return Window(start, end)
    except InputError as exc:
        raise t.fail(exc.problem, "end") from None


def load_incident(text: str, *, file: str = "<incident>") -> Incident:
    data = parse_toml(text, file=file, error=IncidentError)
    root = Table(data, file=file, error=IncidentError)
    head = root.table("incident", required=True)
    assert head is not None
    official = head.table("official_window")
    official_window = _window(official) if official else None
    if official:
        official.finish()
    incident_id = head.text("id")
    title = head.text("title", incident_id)
    timezone = head.text("timezone", "UTC")
    fault = Fault(head.text("fault", "provider", choices=tuple(f.value for f in Fault)))
    notes = head.texts("notes", ())
    head.finish()
    impacts = []
    for t in root.tables("windows"):
        impacts.append(Impact(
            service=t.text("service"),
            feature=t.text("feature", None),
            severity=Severity(t.text("severity", "outage", choices=tuple(s.value for s in Severity))),
            window=_window(t),
            open=t.flag("open", False),
        ))
        t.finish()
    root.finish()
    try:
        return Incident(id=incident_id, title=title, timezone=timezone, impacts=tuple(impacts),
                        fault=fault, official_window=official_window, notes=notes)
    except InputError as exc:
        raise exc.located(file=file) from None


def read_incident(path: str | Path) -> Incident:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IncidentError(f"cannot read incident: {exc}", file=str(p)) from None
    return load_incident(text, file=str(p))


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _ts(value: datetime, tz: object) -> str:
    return _quote(value.astimezone(tz).isoformat())  # type: ignore[arg-type]


def dump_incident(incident: Incident) -> str:
    """The incident as a TOML document (timestamps in its local zone, with the offset)."""
    tz = incident.tz
    lines = [
        "[incident]",
        f"id = {_quote(incident.id)}",
        f"title = {_quote(incident.title)}",
        f"timezone = {_quote(incident.timezone)}",
        f"fault = {_quote(incident.fault.value)}",
    ]
    if incident.notes:
        lines.append("notes = [" + ", ".join(_quote(n) for n in incident.notes) + "]")
    if incident.official_window is not None:
        w = incident.official_window
        lines.append(f"official_window = {{ start = {_ts(w.start, tz)}, end = {_ts(w.end, tz)} }}")
    ordered = sorted(incident.impacts,
                     key=lambda i: (i.service, i.feature or "", i.window.start, i.severity.value))
    for impact in ordered:
        lines += ["", "[[windows]]", f"service = {_quote(impact.service)}"]
        if impact.feature:
            lines.append(f"feature = {_quote(impact.feature)}")
        lines += [
            f"severity = {_quote(impact.severity.value)}",
            f"start = {_ts(impact.window.start, tz)}",
            f"end = {_ts(impact.window.end, tz)}",
        ]
        if impact.open:
            lines.append("open = true")
    return "\n".join(lines) + "\n"

