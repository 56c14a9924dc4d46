"""Alertmanager webhook payloads."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from makegood.adapters.importers import alertmanager
from makegood.domain.errors import IncidentError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "importers" / "alertmanager-webhooks.jsonl"


def utc(day: int, hour: int, minute: int = 0, micro: int = 0) -> datetime:
    return datetime(2022, 10, day, hour, minute, 0, micro, tzinfo=UTC)


def alert(status: str, starts: str, ends: str = "0001-01-01T00:00:00Z", fingerprint: str = "f1",
          name: str = "MailDown") -> dict:
    return {"status": status, "labels": {"alertname": name}, "annotations": {},
            "startsAt": starts, "endsAt": ends, "generatorURL": "", "fingerprint": fingerprint}


def payload(*alerts: dict, truncated: int = 0) -> dict:
    return {"version": "4", "groupKey": "{}", "truncatedAlerts": truncated, "status": "firing",
            "receiver": "r", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://am:9093", "alerts": list(alerts)}


def write(tmp_path: Path, body: object) -> Path:
    path = tmp_path / "hooks.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def test_repeats_of_a_firing_alert_and_its_resolution_make_one_window():
    windows, _ = alertmanager.read(FIXTURE)
    talk = [w for w in windows if w.name == "TalkDown"]
    assert [(w.start, w.end) for w in talk] == [
        (utc(15, 6, 31, 123456), utc(15, 16, 31)),  # nanoseconds cut to microseconds
        (utc(15, 17), utc(15, 17, 20)),             # fired again: flapping is a new window
    ]


def test_an_alert_only_seen_firing_is_open():
    windows, _ = alertmanager.read(FIXTURE)
    (mail,) = [w for w in windows if w.name == "MailDown"]
    assert (mail.start, mail.end, mail.ident) == (utc(15, 6, 30), None, "bbbb000000000002")


def test_truncated_payloads_are_noted():
    _, notes = alertmanager.read(FIXTURE)
    (note,) = notes
    assert "truncated 2 alert(s)" in note
    assert "line 5" in note


def test_a_list_of_payloads_is_read_like_lines(tmp_path: Path):
    path = write(tmp_path, [
        payload(alert("firing", "2022-10-15T06:30:00Z")),
        payload(alert("resolved", "2022-10-15T06:30:00Z", "2022-10-15T09:00:00Z")),
    ])
    windows, _ = alertmanager.read(path)
    assert [(w.start, w.end) for w in windows] == [(utc(15, 6, 30), utc(15, 9))]


def test_a_resolution_arriving_before_the_firing_copy_still_closes_the_window(tmp_path: Path):
    path = write(tmp_path, [
        payload(alert("resolved", "2022-10-15T06:30:00Z", "2022-10-15T09:00:00Z")),
        payload(alert("firing", "2022-10-15T06:30:00Z")),
    ])
    windows, _ = alertmanager.read(path)
    assert [(w.start, w.end) for w in windows] == [(utc(15, 6, 30), utc(15, 9))]


def test_a_firing_alerts_expiry_time_is_not_an_end(tmp_path: Path):
    path = write(tmp_path, payload(alert("firing", "2022-10-15T06:30:00Z", "2022-10-15T06:34:00Z")))
    (window,), _ = alertmanager.read(path)
    assert window.end is None


def test_alerts_can_be_named_by_another_label(tmp_path: Path):
    body = payload(alert("firing", "2022-10-15T06:30:00Z"))
    body["alerts"][0]["labels"]["service"] = "메일"
    (window,), _ = alertmanager.read(write(tmp_path, body), label="service")
    assert window.name == "메일"


def test_a_resolved_alert_with_the_zero_end_is_an_error(tmp_path: Path):
    path = write(tmp_path, payload(alert("resolved", "2022-10-15T06:30:00Z")))
    with pytest.raises(IncidentError, match="zero time") as caught:
        alertmanager.read(path)
    assert caught.value.field == "alerts[0].endsAt"


def test_an_alert_that_ends_before_it_starts_is_an_error(tmp_path: Path):
    path = write(tmp_path, payload(alert("resolved", "2022-10-15T06:30:00Z", "2022-10-15T06:00:00Z")))
    with pytest.raises(IncidentError, match="at or before it starts"):
        alertmanager.read(path)


def test_an_unknown_alert_status_is_an_error(tmp_path: Path):
    path = write(tmp_path, payload(alert("pending", "2022-10-15T06:30:00Z")))
    with pytest.raises(IncidentError, match="unknown alert status 'pending'"):
        alertmanager.read(path)


def test_a_bad_line_in_a_log_of_payloads_names_the_line(tmp_path: Path):
    path = tmp_path / "hooks.jsonl"
    good = json.dumps(payload(alert("firing", "2022-10-15T06:30:00Z")))
    bad = json.dumps(payload(alert("firing", "2022-10-15 06:30:00")))
    path.write_text(f"{good}\n{bad}\n", encoding="utf-8")
    with pytest.raises(IncidentError, match="no time zone") as caught:
        alertmanager.read(path)
    assert (caught.value.line, caught.value.field) == (2, "alerts[0].startsAt")


def test_a_payload_without_alerts_is_refused(tmp_path: Path):
    with pytest.raises(IncidentError, match="no 'alerts'"):
        alertmanager.read(write(tmp_path, {"incidents": []}))
