"""Alertmanager: alert windows from webhook payloads (``webhook_config`` receiver, version 4).

Documented format::

    {"version": "4", "groupKey": "...", "truncatedAlerts": 0, "status": "firing" | "resolved",
     "receiver": "...", "groupLabels": {...}, "commonLabels": {...}, "externalURL": "...",
     "alerts": [{"status": "firing" | "resolved", "labels": {"alertname": "...", ...},
                 "annotations": {...}, "startsAt": "<RFC 3339>", "endsAt": "<RFC 3339>",
                 "generatorURL": "...", "fingerprint": "1a30ba71cca2921f"}]}

A source file holds one payload, a JSON array of payloads, or one payload per line (what a
webhook receiver that logs requests writes). The same alert is re-sent while it fires and once
more when it resolves: one window per ``fingerprint`` and ``startsAt``, from ``startsAt`` to the
``endsAt`` of its resolved notification. An alert that was only ever seen firing is still open;
its ``endsAt`` (``0001-01-01T00:00:00Z``, or an expiry time) is not an end. The same fingerprint
with a new ``startsAt`` fired again (flapping): a new window. Alerts are named by their
``alertname`` label, or another label given as ``label`` in the ``[alertmanager]`` table of the
map file. ``truncatedAlerts`` above 0 means Alertmanager left alerts out of the payload; the
import notes it, since those windows cannot be recovered from the file.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from makegood.adapters.importers._common import array, instant, mapping, read_text, text
from makegood.domain.errors import IncidentError
from makegood.domain.timeline import SourceWindow

KIND = "alertmanager"
ZERO_TIME = "0001-01-01T00:00:00Z"


def _payloads(path: Path) -> list[tuple[Any, str]]:
    file = str(path)
    body = read_text(path)
    try:
        data = json.loads(body, parse_float=Decimal)
    except json.JSONDecodeError as whole:
        lines = [(n, line) for n, line in enumerate(body.splitlines(), 1) if line.strip()]
        if whole.msg != "Extra data" or len(lines) < 2:
            raise IncidentError(f"not Alertmanager webhook JSON (malformed JSON: {whole.msg}, "
                                f"column {whole.colno})", file=file, line=whole.lineno) from None
        out = []
        for n, line in lines:
            try:
                out.append((json.loads(line, parse_float=Decimal), f"line {n}"))
            except json.JSONDecodeError as exc:
                raise IncidentError(f"not Alertmanager webhook JSON (malformed JSON: {exc.msg}, "
                                    f"column {exc.colno})", file=file, line=n) from None
        return out
    if isinstance(data, list):
        return [(p, f"[{i}]") for i, p in enumerate(data)]
    return [(data, "")]


def read(path: Path, *, label: str = "alertname") -> tuple[list[SourceWindow], list[str]]:
    """Source windows and notes (truncated payloads) from a file of webhook payloads."""
    file = str(path)
    # (fingerprint, startsAt) -> [name, start, end or None, where]
    seen: dict[tuple[str, datetime], list[Any]] = {}
    notes: list[str] = []
    for payload, at in _payloads(path):
        dot = f"{at}." if at and not at.startswith("line") else ""
        line = int(at.split()[1]) if at.startswith("line") else None
        try:
            body = mapping(payload, file=file, field=at or "payload", what="a webhook payload")
            if "alerts" not in body:
                raise IncidentError("not an Alertmanager webhook payload: it has no 'alerts'",
                                    file=file, field=at or None)
            truncated = body.get("truncatedAlerts") or 0
            if isinstance(truncated, int) and truncated > 0:
                notes.append(f"{file} {at}: Alertmanager truncated {truncated} alert(s) from this "
                             "payload; their windows are missing")
            alerts = array(body["alerts"], file=file, field=f"{dot}alerts", what="a list of alerts")
            for k, raw in enumerate(alerts):
                _alert(raw, seen, file=file, field=f"{dot}alerts[{k}]", label=label,
                       where=f"{file}, {at + ', ' if at else ''}alerts[{k}]")
        except IncidentError as exc:
            raise exc.located(line=line) from None
    windows = [
        SourceWindow(source=KIND, name=name, ident=fingerprint, start=start, end=end, where=where)
        for (fingerprint, _), (name, start, end, where) in sorted(seen.items(), key=lambda kv: kv[1][1])
    ]
    return windows, notes


def _alert(raw: Any, seen: dict[tuple[str, datetime], list[Any]], *, file: str, field: str,
           label: str, where: str) -> None:
    alert = mapping(raw, file=file, field=field, what="an alert")
    labels = mapping(alert.get("labels", {}), file=file, field=f"{field}.labels", what="labels")
    if not labels.get(label):
        raise IncidentError(f"the alert has no {label!r} label to name it by; set label in the "
                            "[alertmanager] table of the map file", file=file, field=f"{field}.labels")
    name = str(labels[label])
    fingerprint = alert.get("fingerprint")
    if not isinstance(fingerprint, str) or not fingerprint:
        fingerprint = json.dumps(labels, sort_keys=True)  # older senders: the label set is the identity
    status = alert.get("status")
    if status not in ("firing", "resolved"):
        raise IncidentError(f"unknown alert status {status!r}; expected 'firing' or 'resolved'",
                            file=file, field=f"{field}.status")
    start = instant(alert.get("startsAt"), file=file, field=f"{field}.startsAt")
    end: datetime | None = None
    if status == "resolved":
        raw_end = text(alert.get("endsAt"), file=file, field=f"{field}.endsAt")
        if raw_end.startswith("0001-01-01"):
            raise IncidentError("a resolved alert must say when it ended (endsAt is the zero time)",
                                file=file, field=f"{field}.endsAt")
        end = instant(raw_end, file=file, field=f"{field}.endsAt")
        if end <= start:
            raise IncidentError(f"the alert ends ({raw_end}) at or before it starts "
                                f"({alert.get('startsAt')})", file=file, field=f"{field}.endsAt")
    key = (fingerprint, start)
    if key not in seen:
        seen[key] = [name, start, end, where]
    elif end is not None:
        previous = seen[key][2]
        seen[key][2] = end if previous is None else max(previous, end)
