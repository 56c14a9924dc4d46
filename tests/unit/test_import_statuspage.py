"""Statuspage incidents.json: the real GitHub feed and hand-written quirks."""

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from makegood.adapters.importers import statuspage
from makegood.domain.errors import IncidentError
from makegood.domain.incident import Severity

FIXTURES = Path(__file__).parents[1] / "fixtures"
GITHUB = FIXTURES / "statuspage" / "github-incidents-2024-09-17.json"
KST = timezone(timedelta(hours=9))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_real_feed_replays_component_transitions_oldest_first():
    windows = [w for w in statuspage.read(GITHUB) if w.name == "Actions"]
    got = [(w.severity, w.start, w.end) for w in sorted(windows, key=lambda w: w.start)]
    assert got == [
        (Severity.DEGRADED, utc("2024-09-16T21:31:02.798Z"), utc("2024-09-16T21:37:26.995Z")),
        (Severity.OUTAGE, utc("2024-09-16T21:37:26.995Z"), utc("2024-09-16T21:55:28.472Z")),
        (Severity.DEGRADED, utc("2024-09-16T21:55:28.472Z"), utc("2024-09-16T22:08:39.333Z")),
    ]


def test_real_feed_repeated_unchanged_components_do_not_split_windows():
    (pages,) = [w for w in statuspage.read(GITHUB) if w.name == "Pages"]
    assert (pages.severity, pages.start, pages.end) == (
        Severity.DEGRADED, utc("2024-09-16T21:31:02.798Z"), utc("2024-09-16T21:52:44.092Z"))


def test_real_feed_incident_without_components_falls_back_to_started_and_resolved():
    (ssh,) = [w for w in statuspage.read(GITHUB) if w.name == "Disruption with Git SSH"]
    assert (ssh.start, ssh.end) == (utc("2024-09-16T13:29:47.155Z"), utc("2024-09-16T14:28:03.812Z"))
    assert ssh.severity is Severity.DEGRADED  # impact "minor"
    assert ssh.ident == "r3x7x31k7nn1"


def test_real_feed_components_carry_their_codes():
    codes = {w.name: w.ident for w in statuspage.read(GITHUB) if w.ident and w.name != w.ident}
    assert codes["Actions"] == "br0l2tvcx85d"
    assert codes["Pages"] == "vg70hn9s2tyj"


def test_unresolved_incident_leaves_the_component_open():
    windows = statuspage.read(FIXTURES / "importers" / "statuspage-open.json")
    mail = [w for w in windows if w.name == "Kakao Mail" and w.severity is Severity.OUTAGE]
    assert [(w.start, w.end) for w in mail] == [(datetime(2022, 10, 15, 15, 35, tzinfo=KST), None)]


def test_component_already_down_at_first_update_starts_at_the_incident_start():
    windows = statuspage.read(FIXTURES / "importers" / "statuspage-open.json")
    (text,) = [w for w in windows if w.name == "카카오톡 메시지"]
    assert (text.start, text.end) == (datetime(2022, 10, 15, 15, 30, tzinfo=KST),
                                      datetime(2022, 10, 16, 1, 31, tzinfo=KST))
    assert text.severity is Severity.OUTAGE


def test_under_maintenance_becomes_a_maintenance_window():
    windows = statuspage.read(FIXTURES / "importers" / "statuspage-open.json")
    (maint,) = [w for w in windows if w.severity is Severity.MAINTENANCE]
    assert (maint.name, maint.start, maint.end) == (
        "Kakao Mail", datetime(2022, 10, 14, 2, tzinfo=KST), datetime(2022, 10, 14, 4, tzinfo=KST))


def test_one_incident_alone_is_read_like_the_list(tmp_path: Path):
    data = json.loads(GITHUB.read_text(encoding="utf-8"))
    single = tmp_path / "one.json"
    single.write_text(json.dumps(data["incidents"][0]), encoding="utf-8")
    assert len(statuspage.read(single)) == 4


def _feed_with(tmp_path: Path, change) -> Path:
    data = json.loads(GITHUB.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_unknown_component_status_names_the_file_and_field(tmp_path: Path):
    def change(data):
        data["incidents"][0]["incident_updates"][1]["affected_components"][1]["new_status"] = "on_fire"

    path = _feed_with(tmp_path, change)
    with pytest.raises(IncidentError) as caught:
        statuspage.read(path)
    assert caught.value.file == str(path)
    assert caught.value.field == "incidents[0].incident_updates[1].affected_components[1].new_status"
    assert "on_fire" in caught.value.problem


def test_timestamp_without_zone_is_an_error(tmp_path: Path):
    def change(data):
        data["incidents"][1]["started_at"] = "2024-09-16T13:29:47"

    with pytest.raises(IncidentError, match="no time zone") as caught:
        statuspage.read(_feed_with(tmp_path, change))
    assert caught.value.field == "incidents[1].started_at"


def test_resolved_before_started_is_an_error(tmp_path: Path):
    def change(data):
        data["incidents"][1]["resolved_at"] = "2024-09-16T12:00:00Z"

    with pytest.raises(IncidentError, match="at or before it starts"):
        statuspage.read(_feed_with(tmp_path, change))


def test_malformed_json_names_the_line(tmp_path: Path):
    path = tmp_path / "broken.json"
    path.write_text('{"incidents": [\n{"id": 1,\n', encoding="utf-8")
    with pytest.raises(IncidentError, match="malformed JSON") as caught:
        statuspage.read(path)
    assert caught.value.line == 3


def test_a_file_of_another_format_is_refused(tmp_path: Path):
    path = tmp_path / "other.json"
    path.write_text('{"status": "success", "data": {}}', encoding="utf-8")
    with pytest.raises(IncidentError, match=r"not a Statuspage incidents\.json"):
        statuspage.read(path)


def test_the_fixture_is_the_shared_real_feed_unchanged():
    shared = Path("/work/shared/data/statuspage/github-incidents-2024-09-17.json")
    if not shared.exists():
        pytest.skip("the shared data folder is only present in the development workspace")
    assert GITHUB.read_bytes() == shared.read_bytes()


NO_COMPONENTS = {"name": "No components were affected by this update."}


def test_an_update_that_affected_no_component_is_no_change(tmp_path: Path):
    # older feeds write an update that touches no component this way (no code, no statuses)
    def change(data):
        for update in data["incidents"][0]["incident_updates"]:
            update["affected_components"] = [*(update["affected_components"] or []), NO_COMPONENTS]
        for update in data["incidents"][1]["incident_updates"]:
            update["affected_components"] = [NO_COMPONENTS]

    windows = statuspage.read(_feed_with(tmp_path, change))
    assert sorted((w.name, w.start, w.end) for w in windows) == sorted(
        (w.name, w.start, w.end) for w in statuspage.read(GITHUB))
    # the incident whose updates name no component still falls back to started .. resolved
    (ssh,) = [w for w in windows if w.name == "Disruption with Git SSH"]
    assert (ssh.start, ssh.end) == (utc("2024-09-16T13:29:47.155Z"), utc("2024-09-16T14:28:03.812Z"))


def test_a_missing_component_status_is_reported_as_missing(tmp_path: Path):
    def change(data):
        del data["incidents"][0]["incident_updates"][1]["affected_components"][1]["old_status"]

    with pytest.raises(IncidentError) as caught:
        statuspage.read(_feed_with(tmp_path, change))
    assert caught.value.field == "incidents[0].incident_updates[1].affected_components[1].old_status"
    assert "has no old_status (missing)" in caught.value.problem
    assert "unknown" not in caught.value.problem


def test_a_naive_timestamp_is_quoted_as_written_in_the_file(tmp_path: Path):
    def change(data):
        data["incidents"][1]["started_at"] = "2024-09-16 13:29:47.155123456"

    with pytest.raises(IncidentError) as caught:
        statuspage.read(_feed_with(tmp_path, change))
    assert "'2024-09-16 13:29:47.155123456' has no time zone" in caught.value.problem


def test_resolved_before_started_quotes_both_times_as_written(tmp_path: Path):
    def change(data):
        data["incidents"][1]["resolved_at"] = "2024-09-16T12:00:00Z"

    with pytest.raises(IncidentError) as caught:
        statuspage.read(_feed_with(tmp_path, change))
    assert "(2024-09-16T12:00:00Z) at or before it starts (2024-09-16T13:29:47.155Z)" in caught.value.problem
