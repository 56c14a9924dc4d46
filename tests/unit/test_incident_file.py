from datetime import timedelta

import pytest

from makegood.adapters.scenario import kakao_2022_incident
from makegood.domain.errors import IncidentError
from makegood.domain.incident import Severity
from makegood.domain.incident_file import dump_incident, load_incident
from makegood.domain.windows import total


def test_round_trip_of_the_2022_incident():
    incident = kakao_2022_incident()
    again = load_incident(dump_incident(incident), file="kakao.toml")
    assert set(again.impacts) == set(incident.impacts)
    assert (again.id, again.timezone, again.fault, again.official_window) == (
        incident.id, incident.timezone, incident.fault, incident.official_window)
    assert again.official_window is not None
    assert again.official_window.duration == timedelta(hours=127, minutes=30)


def test_messenger_text_window_of_2022():
    incident = kakao_2022_incident()
    text = incident.windows("messenger", features=["text"])
    assert total(text) == timedelta(hours=10, minutes=1)
    assert incident.windows("taxi", severities=[Severity.DEGRADED])


def test_korean_service_names_are_normalized_to_nfc():
    decomposed = "\u1106\u1166\u1109\u1175\u11ab\u110c\u1165"  # 메신저 in conjoining jamo
    doc = f"""[incident]
id = "i"
timezone = "Asia/Seoul"

[[windows]]
service = "{decomposed}"
start = "2022-10-15T15:30:00+09:00"
end = "2022-10-16T01:31:00+09:00"
"""
    assert load_incident(doc).services == ("메신저",)


@pytest.mark.parametrize(("window", "field"), [
    ('start = "2022-10-15T15:30:00"\nend = "2022-10-16T01:31:00+09:00"', "windows[0].start"),
    ('start = "2022-10-16T15:30:00+09:00"\nend = "2022-10-16T01:31:00+09:00"', "windows[0].end"),
    ('start = "2022-10-15T15:30:00+09:00"\nend = "tomorrow"', "windows[0].end"),
])
def test_bad_windows_name_the_field(window, field):
    doc = f'[incident]\nid = "i"\n\n[[windows]]\nservice = "mail"\n{window}\n'
    with pytest.raises(IncidentError) as info:
        load_incident(doc, file="i.toml")
    assert info.value.field == field
    assert info.value.file == "i.toml"
