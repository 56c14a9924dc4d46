"""`makegood incident` commands: import a timeline from operators' tools, and show an incident.

``import`` reads Statuspage, incident.io, Uptime Kuma, Prometheus, Alertmanager or CSV sources,
maps them with a map file and writes the incident TOML atomically (nothing is written when any
input is bad). ``show`` prints the windows per service in the incident's local time and can draw
them as a timeline (PNG, SVG, or a self-contained HTML page embedding the SVG).
"""

from __future__ import annotations

import html
import io
import os
import re
import sys
import tempfile
import warnings
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from makegood.adapters.importers import KINDS
from makegood.adapters.importers.mapping import read_map
from makegood.domain.errors import IncidentError
from makegood.domain.incident import Fault, Impact, Incident, Severity
from makegood.domain.incident_file import dump_incident, read_incident
from makegood.domain.windows import Window, format_duration, parse_timestamp, total
from makegood.entrypoints.cli.errors import handles_errors
from makegood.services.incidents import import_incident

app = typer.Typer(no_args_is_help=True, help="Import incident timelines and show incidents.")

COLOURS = {
    Severity.OUTAGE: "#c0392b",
    Severity.DEGRADED: "#e67e22",
    Severity.MAINTENANCE: "#7f8c8d",
}
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
    title: str | None = typer.Option(None, "--title", help="incident title (default: the id)"),
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


def _local(instant: datetime, incident: Incident) -> str:
    return instant.astimezone(incident.tz).strftime("%Y-%m-%d %H:%M")


def _ordered(incident: Incident) -> list[Impact]:
    return sorted(incident.impacts,
                  key=lambda i: (i.service, i.feature or "", i.window.start, i.severity.value))


def windows_table(incident: Incident) -> Table:
    zone = incident.timezone
    table = Table(title=f"{incident.title} ({incident.id}), times in {zone}")
    for header in ("service", "feature", "severity", "from", "to", "duration"):
        table.add_column(header, justify="right" if header == "duration" else "left")
    for impact in _ordered(incident):
        end = _local(impact.window.end, incident) + (" (open)" if impact.open else "")
        table.add_row(impact.service, impact.feature or "-", impact.severity.value,
                      _local(impact.window.start, incident), end,
                      format_duration(impact.window.duration))
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
    console = Console(width=120)
    console.print(windows_table(incident))
    for service in incident.services:
        outage = total(incident.windows(service))
        console.print(f"{service}: outage {format_duration(outage)} in total")
    if incident.official_window is not None:
        w = incident.official_window
        console.print(f"official window: {_local(w.start, incident)} - {_local(w.end, incident)} "
                      f"({format_duration(w.duration)})")
    if chart is not None:
        write_atomically(chart, render_chart(incident, chart.suffix.lower()))
        console.print(f"chart written to {chart}")


def render_chart(incident: Incident, suffix: str) -> bytes:
    """The timeline as PNG, SVG or a self-contained HTML page (no network)."""
    from matplotlib import dates as mdates
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    rows = sorted({(i.service, i.feature or "") for i in incident.impacts})
    height = 1.2 + 0.45 * max(len(rows), 1)
    fig = Figure(figsize=(10, height), layout="constrained")
    ax = fig.add_subplot()
    tz = incident.tz
    for y, (service, feature) in enumerate(rows):
        for impact in (i for i in incident.impacts if (i.service, i.feature or "") == (service, feature)):
            # matplotlib's date functions are untyped; these floats only place pixels
            start = mdates.date2num(impact.window.start)  # type: ignore[no-untyped-call]
            width = mdates.date2num(impact.window.end) - start  # type: ignore[no-untyped-call]
            ax.broken_barh([(start, width)], (y - 0.35, 0.7),
                           facecolors=COLOURS[impact.severity],
                           hatch="//" if impact.open else None, edgecolor="white")
    ax.set_yticks(range(len(rows)), [f"{s} / {f}" if f else s for s, f in rows])
    ax.invert_yaxis()
    ax.xaxis_date(tz=tz)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %H:%M", tz=tz))  # type: ignore[no-untyped-call]
    ax.set_xlabel(f"local time ({incident.timezone})")
    ax.set_title(incident.title)
    ax.grid(axis="x", alpha=0.3)
    present = [s for s in Severity if any(i.severity is s for i in incident.impacts)]
    ax.legend(handles=[Patch(color=COLOURS[s], label=s.value) for s in present],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    fig.autofmt_xdate()

    fmt = "png" if suffix == ".png" else "svg"
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # Hangul service names draw as boxes when no CJK font is installed; the HTML page and
        # `incident show` carry the names as text, so a missing glyph is not an error here.
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from", category=UserWarning)
        fig.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    data = buffer.getvalue()
    if suffix != ".html":
        return data
    svg = re.sub(r"^.*?(<svg\b)", r"\1", data.decode("utf-8"), count=1, flags=re.DOTALL)
    rows_html = "\n".join(
        f"<tr><td>{html.escape(i.service)}</td><td>{html.escape(i.feature or '-')}</td>"
        f"<td>{i.severity.value}</td><td>{_local(i.window.start, incident)}</td>"
        f"<td>{_local(i.window.end, incident)}{' (open)' if i.open else ''}</td>"
        f"<td>{format_duration(i.window.duration)}</td></tr>"
        for i in _ordered(incident))
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(incident.title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }}
</style>
</head>
<body>
<h1>{html.escape(incident.title)}</h1>
<p>Incident {html.escape(incident.id)}; times in {html.escape(incident.timezone)}.</p>
<figure>
{svg}
</figure>
<table>
<thead><tr><th>service</th><th>feature</th><th>severity</th><th>from</th><th>to</th><th>duration</th></tr></thead>
<tbody>
{rows_html}
</tbody>
</table>
</body>
</html>
"""
    return page.encode("utf-8")
