"""A hand-kept timeline: a CSV file with the header ``service,feature,severity,start,end``.

One row per window, already in makegood's own terms, so no map file is needed::

    service,feature,severity,start,end
    messenger,text,outage,2022-10-15T15:30:00+09:00,2022-10-16T01:31:00+09:00
    mail,,outage,2022-10-15T15:30:00+09:00,

``feature`` may be empty (the whole service). ``severity`` is ``outage``, ``degraded`` or
``maintenance`` (empty: outage). ``start`` and ``end`` need an offset; an empty ``end`` is a window
still open. Korean names work (UTF-8, with or without a byte-order mark); blank lines are
skipped. Errors name the line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from makegood.adapters.importers._common import read_text
from makegood.domain.errors import IncidentError, InputError
from makegood.domain.incident import Severity, nfc
from makegood.domain.timeline import Observation
from makegood.domain.windows import parse_timestamp

KIND = "csv"
HEADER = ("service", "feature", "severity", "start", "end")


def read(path: Path) -> list[Observation]:
    file = str(path)
    return parse(read_text(path), file=file)


def parse(body: str, *, file: str) -> list[Observation]:
    reader = csv.reader(io.StringIO(body, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise IncidentError(f"empty file; expected the header {','.join(HEADER)}", file=file,
                            line=1) from None
    except csv.Error as exc:
        raise IncidentError(f"not CSV: {exc}", file=file, line=1) from None
    names = tuple(nfc(h).lower() for h in header)
    if names != HEADER:
        raise IncidentError(f"the header is {','.join(header)!r}; expected {','.join(HEADER)}",
                            file=file, line=1)
    out: list[Observation] = []
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(HEADER):
                raise IncidentError(f"{len(row)} fields; expected {len(HEADER)} ({','.join(HEADER)})",
                                    file=file, line=line)
            out.append(_row(row, file=file, line=line))
    except csv.Error as exc:
        raise IncidentError(f"not CSV: {exc}", file=file, line=reader.line_num) from None
    return out


def _row(row: list[str], *, file: str, line: int) -> Observation:
    service, feature, severity, start_text, end_text = (nfc(c) for c in row)
    if not service:
        raise IncidentError("service is empty", file=file, line=line, field="service")
    choices = tuple(s.value for s in Severity)
    if severity and severity not in choices:
        raise IncidentError(f"{severity!r} is not one of: {', '.join(choices)}",
                            file=file, line=line, field="severity")
    try:
        start = parse_timestamp(start_text, field="start")
        end = parse_timestamp(end_text, field="end") if end_text else None
    except InputError as exc:
        raise IncidentError(exc.problem, file=file, line=line, field=exc.field) from None
    if end is not None and end <= start:
        raise IncidentError(f"the window ends ({end_text}) at or before it starts ({start_text})",
                            file=file, line=line, field="end")
    return Observation(service=service, feature=feature or None,
                       severity=Severity(severity) if severity else Severity.OUTAGE,
                       start=start, end=end, where=f"{file}, line {line}")
