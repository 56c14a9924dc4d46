"""`makegood incident` commands: import a timeline from operators' tools, and show an incident.

``import`` reads Statuspage, incident.io, Uptime Kuma, Prometheus, Alertmanager or CSV sources,
maps them with a map file and writes the incident TOML atomically (nothing is written when any
input is bad). ``show`` prints the windows per service in the incident's local time and can draw
them as a timeline (PNG, SVG, or a self-contained HTML page embedding the SVG).
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import typer

from makegood.adapters.charts import local_time as _local
from makegood.adapters.charts import ordered as _ordered
from makegood.adapters.charts import render_chart
from makegood.adapters.importers import KINDS
from makegood.adapters.importers.mapping import read_map
from makegood.domain.errors import IncidentError
from makegood.domain.incident import Fault, Incident, Severity
from makegood.domain.incident_file import dump_incident, read_incident
from makegood.domain.windows import Window, format_duration, parse_timestamp, total
from makegood.entrypoints.cli.errors import handles_errors
from makegood.entrypoints.cli.output import Column, Table, console, print_table
from makegood.services.incidents import import_incident

app = typer.Typer(no_args_is_help=True, help="Import incident timelines and show incidents.")

CHART_SUFFIXES = (".png", ".svg", ".html")


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: all or nothing."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise IncidentError(f"the folder {str(folder)!r} does not exist", file=str(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _split_source(text: str, default: str | None) -> tuple[str, Path]:
    kind, sep, rest = text.partition(":")
    if sep and kind in KINDS and rest:
        return kind, Path(rest)
    if default is None:
        raise IncidentError(f"say which tool {text!r} comes from: --from KIND, or write it as "
                            f"KIND:PATH (KIND one of {', '.join(KINDS)})", field="from")
    return default, Path(text)


@app.command("import")
@handles_errors
def import_(
    sources: list[str] = typer.Argument(..., metavar="SOURCE...",
                                        help="source files; KIND:PATH mixes kinds in one import"),
    from_: str | None = typer.Option(None, "--from", metavar="KIND",
                                     help=f"the tool the sources come from: {', '.join(KINDS)}"),
    map_file: Path | None = typer.Option(None, "--map", metavar="MAP",
                                         help="map file (TOML): source names to services"),
    out: Path = typer.Option(..., "--out", metavar="INCIDENT", help="incident TOML to write"),
    as_of: str | None = typer.Option(None, "--as-of", metavar="TS",
                                     help="close open windows here (ISO 8601 with offset; default now)"),
    incident_id: str | None = typer.Option(None, "--id", help="incident id (default: the file name)"),
    title: str | None = typer.Option(
        None, "--title", help="incident title (default: the status pages' incident names, else the id)"),
    timezone: str = typer.Option("UTC", "--timezone", help="the incident's local zone, e.g. Asia/Seoul"),
    fault: Fault = typer.Option(Fault.PROVIDER, "--fault", help="provider or force_majeure"),
    official_start: str | None = typer.Option(None, "--official-start", metavar="TS",
                                              help="start of the official window, if declared"),
    official_end: str | None = typer.Option(None, "--official-end", metavar="TS",
                                            help="end of the official window, if declared"),
    allow_unmapped: bool = typer.Option(False, "--allow-unmapped",
                                        help="write the incident even if some names are not mapped"),
) -> None:
    """Import a timeline from Statuspage, incident.io, Uptime Kuma, Prometheus, Alertmanager or CSV."""
    if from_ is not None and from_ not in KINDS:
        raise IncidentError(f"unknown source kind {from_!r}; use one of: {', '.join(KINDS)}",
                            field="from")
    pairs = [_split_source(s, from_) for s in sources]
    cutoff = parse_timestamp(as_of, field="as_of") if as_of else datetime.now(UTC)
    official = None
    if official_start or official_end:
        if not (official_start and official_end):
            raise IncidentError("give both --official-start and --official-end", field="official_window")
        official = Window(parse_timestamp(official_start, field="official_start"),
                          parse_timestamp(official_end, field="official_end"))
    result = import_incident(
        sources=pairs,
        timeline_map=read_map(map_file) if map_file else None,
        as_of=cutoff,
        incident_id=incident_id or out.stem,
        title=title,
        timezone=timezone,
        fault=fault,
        official_window=official,
        allow_unmapped=allow_unmapped,
    )
    write_atomically(out, dump_incident(result.incident).encode("utf-8"))
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    incident = result.incident
    print(f"wrote {out}: {len(incident.impacts)} window(s) for {len(incident.services)} service(s) "
          f"from {len(result.readings)} source(s)")




def windows_table(incident: Incident) -> Table:
    zone = incident.timezone
    table = Table(title=f"{incident.title} ({incident.id}), times in {zone}",
                  columns=[*(Column(h) for h in ("service", "feature", "severity", "from", "to")),
                           Column("duration", "right")])
    for impact in _ordered(incident):
        end = _local(impact.window.end, incident) + (" (open)" if impact.open else "")
        table.add_row(impact.service, impact.feature or "-", impact.severity.value,
                      _local(impact.window.start, incident), end,
                      format_duration(impact.window.duration))
    return table


def totals_table(incident: Incident) -> Table:
    """Per service: outage and degraded time, each the union of its windows (overlaps once)."""
    table = Table(title="Time down per service (overlapping windows counted once)",
                  columns=[Column("service"), Column("outage", "right"), Column("degraded", "right")])
    for service in incident.services:
        outage = total(incident.windows(service))
        degraded = total(incident.windows(service, severities=(Severity.DEGRADED,)))
        table.add_row(service, format_duration(outage), format_duration(degraded))
    return table


@app.command("show")
@handles_errors
def show(
    incident_file: Path = typer.Argument(..., metavar="INCIDENT", help="incident TOML"),
    chart: Path | None = typer.Option(None, "--chart", metavar="FILE",
                                      help="also draw a timeline: FILE.png, FILE.svg or FILE.html"),
) -> None:
    """Print an incident's windows per service in its local time, with durations."""
    if chart is not None and chart.suffix.lower() not in CHART_SUFFIXES:
        raise IncidentError(f"the chart must be one of {', '.join(CHART_SUFFIXES)}",
                            file=str(chart), field="chart")
    incident = read_incident(incident_file)
    print_table(windows_table(incident))
    print_table(totals_table(incident))
    if incident.official_window is not None:
        w = incident.official_window
        console.print(f"official window: {_local(w.start, incident)} - {_local(w.end, incident)} "
                      f"({format_duration(w.duration)})")
    if chart is not None:
        write_atomically(chart, render_chart(incident, chart.suffix.lower()))
        console.print(f"chart written to {chart}")
