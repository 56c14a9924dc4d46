"""The map file: which source name (component, monitor, job, alert label) is which service and
feature. TOML::

    # names that mean the same thing in every source
    [names]
    "Kakao Mail" = { service = "mail" }

    [statuspage.names]                  # Statuspage component names (or codes)
    "Messenger" = { service = "messenger", feature = "text" }
    "Pages" = { ignore = true }         # seen, deliberately not counted

    [uptime_kuma.names]                 # monitor names (or ids, as text: "7")
    "카카오톡 메시지" = { service = "messenger", feature = "text" }

    [prometheus]
    label = "job"                       # the label that names a series (default job)
    step = "60s"                        # optional; inferred from the samples otherwise
    [prometheus.names]
    "mail-imap" = { service = "mail", feature = "imap", severity = "degraded" }

    [alertmanager]
    label = "alertname"                 # default alertname
    [alertmanager.names]
    "PaymentsDown" = { service = "pay" }

    [incidentio.names]                  # component ids (or names where the page gives them)
    "01JEV56RY027PA4NYX5H2RNAMC" = { service = "billing" }

A name is looked up in its source's table first, then in ``[names]``; by the source's name first,
then by its id. ``severity`` is used only for sources that say just up or down (Uptime Kuma,
Prometheus, Alertmanager, a Statuspage incident without components and without impact); it is
outage when not given. A name that no table mentions is *unmapped*: the import lists every
unmapped name and stops, unless told to go on (then they are listed in the incident's notes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from makegood.adapters.importers._common import read_text
from makegood.domain.document import Table, parse_toml
from makegood.domain.errors import IncidentError
from makegood.domain.incident import Severity, nfc
from makegood.domain.timeline import Observation, SourceWindow, Target, place

KINDS = ("statuspage", "incidentio", "uptime_kuma", "prometheus", "alertmanager")
DEFAULT_LABEL = {"prometheus": "job", "alertmanager": "alertname"}
ENTRY_KEYS = ("service", "feature", "severity", "ignore")


@dataclass(frozen=True, slots=True)
class Ignore:
    """A name the map file mentions on purpose and does not count."""


IGNORE = Ignore()
Entry = Target | Ignore


@dataclass(frozen=True, slots=True)
class SourceSection:
    names: dict[str, Entry] = field(default_factory=dict)
    label: str | None = None
    step: timedelta | None = None


@dataclass(frozen=True, slots=True)
class TimelineMap:
    names: dict[str, Entry] = field(default_factory=dict)
    sources: dict[str, SourceSection] = field(default_factory=dict)
    file: str = "<map>"

    def section(self, kind: str) -> SourceSection:
        return self.sources.get(kind, SourceSection())

    def label(self, kind: str) -> str:
        return self.section(kind).label or DEFAULT_LABEL.get(kind, "")

    def lookup(self, kind: str, window: SourceWindow) -> Entry | None:
        keys = [window.name] + ([nfc(window.ident)] if window.ident else [])
        for table in (self.section(kind).names, self.names):
            for key in keys:
                if key in table:
                    return table[key]
        return None


@dataclass(frozen=True, slots=True)
class Mapped:
    observations: tuple[Observation, ...]
    unmapped: tuple[str, ...]   # "statuspage 'Pages' (id vg70hn9s2tyj)"
    ignored: tuple[str, ...]


def describe(kind: str, name: str, idents: Iterable[str | None]) -> str:
    """``statuspage 'Pages' (id vg70hn9s2tyj)``: each name once, with every id it came with."""
    ids = [i for i in dict.fromkeys(idents) if i and i != name]
    listed = f" ({'ids' if len(ids) > 1 else 'id'} {', '.join(ids)})" if ids else ""
    return f"{kind} {name!r}{listed}"


def apply(timeline_map: TimelineMap, kind: str, windows: Iterable[SourceWindow]) -> Mapped:
    """Place each window on its service; collect the names the map does not know."""
    observations: list[Observation] = []
    unmapped: dict[str, list[str | None]] = {}
    ignored: dict[str, list[str | None]] = {}
    for window in windows:
        entry = timeline_map.lookup(kind, window)
        if entry is None:
            unmapped.setdefault(window.name, []).append(window.ident)
        elif isinstance(entry, Ignore):
            ignored.setdefault(window.name, []).append(window.ident)
        else:
            observations.append(place(window, entry))
    return Mapped(tuple(observations),
                  tuple(describe(kind, name, ids) for name, ids in unmapped.items()),
                  tuple(describe(kind, name, ids) for name, ids in ignored.items()))


def _entries(table: Table | None) -> dict[str, Entry]:
    if table is None:
        return {}
    out: dict[str, Entry] = {}
    for key in list(table.data):
        sub = table.table(key)
        assert sub is not None
        name = nfc(key)
        if not name:
            raise table.fail("a source name is empty", key)
        unknown = sorted(set(sub.data) - set(ENTRY_KEYS))
        if unknown:  # a typo such as 'servic' should be named, not reported as a missing 'service'
            raise sub.fail(f"unknown option; known here: {', '.join(ENTRY_KEYS)}", unknown[0])
        if sub.flag("ignore", False):
            sub.finish()
            out[name] = IGNORE
            continue
        severity = sub.text("severity", None, choices=tuple(s.value for s in Severity))
        out[name] = Target(service=sub.text("service"), feature=sub.text("feature", None) or None,
                           severity=Severity(severity) if severity else None)
        sub.finish()
    table.finish()
    return out


def load_map(body: str, *, file: str = "<map>") -> TimelineMap:
    data: dict[str, Any] = parse_toml(body, file=file, error=IncidentError)
    root = Table(data, file=file, error=IncidentError)
    shared = _entries(root.table("names"))
    sources: dict[str, SourceSection] = {}
    for kind in KINDS:
        section = root.table(kind)
        if section is None:
            continue
        label = section.text("label", None) if kind in DEFAULT_LABEL else None
        step = section.duration("step", None) if kind == "prometheus" else None
        if step is not None and step <= timedelta(0):
            raise section.fail("the step must be longer than zero", "step")
        names = _entries(section.table("names"))
        section.finish()
        sources[kind] = SourceSection(names=names, label=label, step=step)
    root.finish()
    return TimelineMap(names=shared, sources=sources, file=file)


def read_map(path: str | Path) -> TimelineMap:
    p = Path(path)
    return load_map(read_text(p), file=str(p))
