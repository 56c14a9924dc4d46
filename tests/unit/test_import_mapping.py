"""The map file: source names to services and features."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from makegood.adapters.importers.mapping import apply, load_map, read_map
from makegood.domain.errors import IncidentError
from makegood.domain.incident import Severity
from makegood.domain.timeline import SourceWindow

MAP = """
[names]
"Kakao Mail" = { service = "mail" }

[statuspage.names]
"카카오톡 메시지" = { service = "messenger", feature = "text" }
"Pages" = { ignore = true }
"vg70hn9s2tyj" = { service = "by-code" }

[prometheus]
label = "instance"
step = "30s"
[prometheus.names]
"Kakao Mail" = { service = "mail", feature = "imap", severity = "degraded" }
"""


def window(name: str, ident: str | None = None) -> SourceWindow:
    return SourceWindow(source="x", name=name, ident=ident,
                        start=datetime(2022, 10, 15, 6, 30, tzinfo=UTC), end=None)


def test_a_source_table_wins_over_the_shared_names():
    mapping = load_map(MAP)
    (from_prom,) = apply(mapping, "prometheus", [window("Kakao Mail")]).observations
    assert (from_prom.service, from_prom.feature, from_prom.severity) == ("mail", "imap", Severity.DEGRADED)
    (from_kuma,) = apply(mapping, "uptime_kuma", [window("Kakao Mail")]).observations
    assert (from_kuma.service, from_kuma.feature, from_kuma.severity) == ("mail", None, Severity.OUTAGE)


def test_a_name_is_found_by_its_id_when_not_by_its_name():
    (placed,) = apply(load_map(MAP), "statuspage", [window("Pages v2", "vg70hn9s2tyj")]).observations
    assert placed.service == "by-code"


def test_unmapped_names_are_reported_by_name_not_dropped():
    mapped = apply(load_map(MAP), "statuspage", [window("Actions", "br0l2tvcx85d"), window("Actions")])
    assert mapped.observations == ()
    assert mapped.unmapped == ("statuspage 'Actions' (id br0l2tvcx85d)",)  # each name once


def test_ignored_names_are_listed_apart():
    mapped = apply(load_map(MAP), "statuspage", [window("Pages")])
    assert (mapped.observations, mapped.unmapped, mapped.ignored) == ((), (), ("statuspage 'Pages'",))


def test_korean_keys_match_whatever_the_normalisation():
    nfd = "\u110f\u1161\u110f\u1161\u110b\u1169\u1110\u1169\u11a8 \u1106\u1166\u1109\u1175\u110c\u1175"
    (placed,) = apply(load_map(MAP), "statuspage", [window(nfd)]).observations
    assert placed.service == "messenger"


def test_source_settings_are_read():
    mapping = load_map(MAP)
    assert mapping.label("prometheus") == "instance"
    assert mapping.label("alertmanager") == "alertname"
    assert mapping.section("prometheus").step is not None
    assert mapping.section("prometheus").step.total_seconds() == 30


@pytest.mark.parametrize(("body", "field"), [
    ('[statuspage.names]\nA = { servic = "x" }\n', "names.A.servic"),
    ('[statuspage.names]\nA = { feature = "x" }\n', "names.A.service"),
    ('[statuspage.names]\nA = { service = "x", severity = "down" }\n', "names.A.severity"),
    ('[statuspag.names]\nA = { service = "x" }\n', "statuspag"),
    ('[prometheus]\nstep = "soon"\n', "step"),
])
def test_a_bad_map_names_the_field(body: str, field: str):
    with pytest.raises(IncidentError) as caught:
        load_map(body, file="map.toml")
    assert caught.value.file == "map.toml"
    assert caught.value.field is not None
    assert caught.value.field.endswith(field)


def test_a_map_that_is_not_toml_names_the_line(tmp_path: Path):
    path = tmp_path / "map.toml"
    path.write_text('[names]\n"A" = { service = "x" \n', encoding="utf-8")
    with pytest.raises(IncidentError, match="malformed TOML") as caught:
        read_map(path)
    assert caught.value.line == 2
