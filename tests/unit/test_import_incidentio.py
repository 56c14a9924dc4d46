"""incident.io status page component impacts."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from makegood.adapters.importers import incidentio
from makegood.domain.errors import IncidentError
from makegood.domain.incident import Severity

FIXTURE = Path(__file__).parents[1] / "fixtures" / "importers" / "incidentio-incidents.json"
PAY = "01GPAY0000000000000000001"
GIFT = "01GGIFT000000000000000001"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_each_component_impact_is_a_window_at_its_status():
    windows = sorted(incidentio.read(FIXTURE), key=lambda w: (w.ident or "", w.start))
    got = [(w.ident, w.severity, w.start, w.end) for w in windows]
    assert got == [
        (GIFT, Severity.DEGRADED, datetime(2022, 10, 15, 6, 30, 0, 123456, tzinfo=UTC), None),
        (PAY, Severity.OUTAGE, utc(2022, 10, 15, 6, 30), utc(2022, 10, 15, 23)),
        (PAY, Severity.DEGRADED, utc(2022, 10, 16, 8), utc(2022, 10, 16, 12)),
        (PAY, Severity.MAINTENANCE, utc(2022, 10, 20, 0), utc(2022, 10, 20, 2)),
    ]


def test_component_names_come_from_affected_components_where_given():
    names = {w.ident: w.name for w in incidentio.read(FIXTURE)}
    assert names[PAY] == "Payments"
    assert names[GIFT] == GIFT  # no name on the page: the id is the name


def test_older_exports_with_component_status_are_read(tmp_path: Path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"incident": {"component_impacts": [
        {"component_id": "c1", "component_status": "full_outage",
         "start_at": "2022-10-15T06:30:00Z", "end_at": "2022-10-15T08:00:00Z"}]}}), encoding="utf-8")
    (window,) = incidentio.read(path)
    assert window.severity is Severity.OUTAGE


def test_operational_impacts_are_not_windows(tmp_path: Path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"component_impacts": [
        {"component_id": "c1", "status": "operational",
         "start_at": "2022-10-15T06:30:00Z", "end_at": "2022-10-15T08:00:00Z"}]}), encoding="utf-8")
    assert incidentio.read(path) == []


def test_unknown_status_is_an_error_naming_the_impact(tmp_path: Path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"incidents": [{"component_impacts": [
        {"component_id": "c1", "status": "major_outage",
         "start_at": "2022-10-15T06:30:00Z", "end_at": None}]}]}), encoding="utf-8")
    with pytest.raises(IncidentError, match="major_outage") as caught:
        incidentio.read(path)
    assert caught.value.field == "incidents[0].component_impacts[0].status"


def test_an_impact_ending_before_it_starts_is_an_error(tmp_path: Path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"component_impacts": [
        {"component_id": "c1", "status": "full_outage",
         "start_at": "2022-10-15T06:30:00Z", "end_at": "2022-10-15T06:00:00Z"}]}), encoding="utf-8")
    with pytest.raises(IncidentError, match="at or before it starts"):
        incidentio.read(path)


def test_a_naive_start_is_an_error(tmp_path: Path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"component_impacts": [
        {"component_id": "c1", "status": "full_outage",
         "start_at": "2022-10-15T06:30:00", "end_at": None}]}), encoding="utf-8")
    with pytest.raises(IncidentError, match="no time zone") as caught:
        incidentio.read(path)
    assert caught.value.field == "component_impacts[0].start_at"
