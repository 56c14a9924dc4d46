"""Charts people read: the incident timeline as PNG, SVG or a self-contained HTML page.

Korean service and feature names are drawn with NanumGothic, which the ``koreanize-matplotlib``
package ships as a file; matplotlib falls back to it for glyphs DejaVu Sans lacks. Nothing is
downloaded at run time.
"""

from __future__ import annotations

import html
import importlib.util
import io
import re
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from makegood.domain.incident import Impact, Incident, Severity
from makegood.domain.windows import Window, format_duration

COLOURS = {
    Severity.OUTAGE: "#c0392b",
    Severity.DEGRADED: "#e67e22",
    Severity.MAINTENANCE: "#7f8c8d",
}


@cache
def font_families() -> list[str]:
    """DejaVu Sans first, NanumGothic for Hangul when its font file is installed."""
    from matplotlib import font_manager

    families = ["DejaVu Sans"]
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is not None and spec.submodule_search_locations:
        font = Path(next(iter(spec.submodule_search_locations))) / "fonts" / "NanumGothic.ttf"
        if font.is_file():
            font_manager.fontManager.addfont(str(font))
            families.append(font_manager.FontProperties(fname=str(font)).get_name())
    return families


def local_time(instant: datetime, incident: Incident) -> str:
    return instant.astimezone(incident.tz).strftime("%Y-%m-%d %H:%M")


def ordered(incident: Incident) -> list[Impact]:
    return sorted(incident.impacts,
                  key=lambda i: (i.service, i.feature or "", i.window.start, i.severity.value))


def render_chart(incident: Incident, suffix: str) -> bytes:
    """The timeline as PNG, SVG or a self-contained HTML page (no network)."""
    from matplotlib import rc_context

    with rc_context({"font.family": font_families()}):
        return _render(incident, suffix)


def _render(incident: Incident, suffix: str) -> bytes:
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
    span = Window(min(i.window.start for i in incident.impacts),
                  max(i.window.end for i in incident.impacts)) if incident.impacts else None
    if span is not None:
        # zoom to the windows (an official window or the axis defaults never widen the view)
        pad = max(span.duration * 0.02, timedelta(minutes=1))
        ax.set_xlim(mdates.date2num(span.start - pad),  # type: ignore[no-untyped-call]
                    mdates.date2num(span.end + pad))  # type: ignore[no-untyped-call]
    ax.set_yticks(range(len(rows)), [f"{s} / {f}" if f else s for s, f in rows])
    ax.invert_yaxis()
    ax.xaxis_date(tz=tz)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %H:%M", tz=tz))  # type: ignore[no-untyped-call]
    ax.set_xlabel(f"local time ({incident.timezone})")
    ax.set_title(incident.title)
    ax.grid(axis="x", alpha=0.3)
    present = [s for s in Severity if any(i.severity is s for i in incident.impacts)]
    handles = [Patch(color=COLOURS[s], label=s.value) for s in present]
    still_open = [i for i in incident.impacts if i.open]
    if still_open:
        as_of = local_time(max(i.window.end for i in still_open), incident)
        handles.append(Patch(facecolor="#bbbbbb", edgecolor="white", hatch="//",
                             label=f"hatched: still open when imported,\ndrawn up to {as_of} (--as-of)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    fig.autofmt_xdate()

    fmt = "png" if suffix == ".png" else "svg"
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    data = buffer.getvalue()
    if suffix != ".html":
        return data
    svg = re.sub(r"^.*?(<svg\b)", r"\1", data.decode("utf-8"), count=1, flags=re.DOTALL)
    rows_html = "\n".join(
        f"<tr><td>{html.escape(i.service)}</td><td>{html.escape(i.feature or '-')}</td>"
        f"<td>{i.severity.value}</td><td>{local_time(i.window.start, incident)}</td>"
        f"<td>{local_time(i.window.end, incident)}{' (open)' if i.open else ''}</td>"
        f"<td>{format_duration(i.window.duration)}</td></tr>"
        for i in ordered(incident))
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
