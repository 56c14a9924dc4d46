"""Importers: incident timelines from the tools operators already run.

One module per source reads that tool's documented format into source windows
(:class:`makegood.domain.timeline.SourceWindow`); :mod:`.mapping` places them on services with
the map file; the merging rules live in :mod:`makegood.domain.timeline`. :func:`read_source` is
the one entry point the import service uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from makegood.adapters.importers import (
    alertmanager,
    csv_windows,
    incidentio,
    prometheus,
    statuspage,
    uptime_kuma,
)
from makegood.adapters.importers._common import incident_names, load_json
from makegood.adapters.importers.mapping import TimelineMap, apply
from makegood.domain.errors import IncidentError
from makegood.domain.timeline import Observation, SourceWindow

KINDS = ("statuspage", "incidentio", "uptime_kuma", "prometheus", "alertmanager", "csv")


@dataclass(frozen=True, slots=True)
class Reading:
    """What one source file contributed: placed windows, and what could not be placed."""

    kind: str
    path: Path
    observations: tuple[Observation, ...]
    unmapped: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()  # the source's own incident names (status pages), if any


def read_source(kind: str, path: Path, timeline_map: TimelineMap | None) -> Reading:
    """Read one source of the given kind and place its windows with the map."""
    if kind not in KINDS:
        raise IncidentError(f"unknown source kind {kind!r}; use one of: {', '.join(KINDS)}",
                            field="from")
    if kind == "csv":
        return Reading(kind, path, tuple(csv_windows.read(path)))
    if timeline_map is None:
        raise IncidentError(f"a {kind} source names components, monitors or labels, not services; "
                            "give a map file with --map", file=str(path))
    notes: list[str] = []
    windows: list[SourceWindow]
    if kind == "statuspage":
        windows = statuspage.read(path)
    elif kind == "incidentio":
        windows = incidentio.read(path)
    elif kind == "uptime_kuma":
        windows, notes = uptime_kuma.read_beats(path)
    elif kind == "prometheus":
        windows = prometheus.read(path, label=timeline_map.label(kind),
                                  step=timeline_map.section(kind).step)
    else:
        windows, notes = alertmanager.read(path, label=timeline_map.label(kind))
    titles: list[str] = []
    if kind in ("statuspage", "incidentio"):  # read once already: valid JSON
        titles = incident_names(load_json(path, what="a status page incident JSON"))
    mapped = apply(timeline_map, kind, windows)
    return Reading(kind, path, mapped.observations, mapped.unmapped, mapped.ignored, tuple(notes),
                   tuple(titles))
