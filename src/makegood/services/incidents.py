"""Importing an incident: several sources, one map file, one merged incident.

The use case behind ``makegood incident import``. It reads each source through the importers
(passed in as ``read_source``, so a test or another front end can supply its own), refuses to
drop unmapped names silently, merges the windows by the rules of
:mod:`makegood.domain.timeline`, and returns the incident with notes on where it came from.
Writing the file is the caller's job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from makegood.adapters.importers import Reading
from makegood.adapters.importers import read_source as default_read_source
from makegood.adapters.importers.mapping import TimelineMap
from makegood.domain.errors import IncidentError
from makegood.domain.incident import Fault, Incident
from makegood.domain.timeline import merge
from makegood.domain.windows import Window, require_aware

ReadSource = Callable[[str, Path, TimelineMap | None], Reading]


@dataclass(frozen=True, slots=True)
class ImportResult:
    incident: Incident
    readings: tuple[Reading, ...]
    unmapped: tuple[str, ...]
    warnings: tuple[str, ...]


def source_title(readings: Sequence[Reading], *, most: int = 3) -> str | None:
    """A title from the sources' own incident names (status pages name their incidents)."""
    names = list(dict.fromkeys(name for r in readings for name in r.titles))
    if not names:
        return None
    if len(names) > most:
        return f"{'; '.join(names[:most - 1])} and {len(names) - most + 1} more incidents"
    return "; ".join(names)


def import_incident(
    *,
    sources: Sequence[tuple[str, Path]],
    timeline_map: TimelineMap | None,
    as_of: datetime,
    incident_id: str,
    title: str | None = None,
    timezone: str = "UTC",
    fault: Fault = Fault.PROVIDER,
    official_window: Window | None = None,
    allow_unmapped: bool = False,
    read_source: ReadSource = default_read_source,
) -> ImportResult:
    """Read, map and merge ``sources`` (kind, path) into one incident closed at ``as_of``."""
    if not sources:
        raise IncidentError("give at least one source file", field="source")
    cutoff = require_aware(as_of, field="as_of")
    readings = tuple(read_source(kind, path, timeline_map) for kind, path in sources)
    unmapped = tuple(dict.fromkeys(name for r in readings for name in r.unmapped))
    if unmapped and not allow_unmapped:
        listed = "; ".join(unmapped)
        raise IncidentError(
            f"{len(unmapped)} source name(s) not in the map file: {listed}; map each one "
            "(or mark it ignore = true), or pass --allow-unmapped",
            file=timeline_map.file if timeline_map else None,
        )
    impacts = merge((o for r in readings for o in r.observations), as_of=cutoff)
    if not impacts:
        raise IncidentError("the sources hold no outage, degraded or maintenance window "
                            "(after mapping); nothing to import", field="source")

    notes = [f"imported from {r.kind} {r.path.name}" for r in readings]
    if any(i.open for i in impacts):
        notes.append(f"open windows closed at {cutoff.isoformat()} (--as-of)")
    notes += [f"ignored by the map: {name}" for r in readings for name in r.ignored]
    warnings = [f"not in the map file: {name}" for name in unmapped]
    warnings += [n for r in readings for n in r.notes]
    notes += warnings
    incident = Incident(
        id=incident_id,
        title=title or source_title(readings) or incident_id,
        timezone=timezone,
        impacts=impacts,
        fault=fault,
        official_window=official_window,
        notes=tuple(notes),
    )
    return ImportResult(incident=incident, readings=readings, unmapped=unmapped,
                        warnings=tuple(warnings))
