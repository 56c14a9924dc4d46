"""The merging rules of an imported timeline (domain/timeline.py)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from makegood.domain.errors import IncidentError, InputError
from makegood.domain.incident import Severity
from makegood.domain.timeline import Observation, SourceWindow, Target, merge, place
from makegood.domain.windows import Window

KST = timezone(timedelta(hours=9))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2022, 10, day, hour, minute, tzinfo=KST)


def obs(start: datetime, end: datetime | None, severity: Severity = Severity.OUTAGE,
        service: str = "messenger", feature: str | None = "text") -> Observation:
    return Observation(service=service, feature=feature, severity=severity, start=start, end=end)


AS_OF = at(20, 23)


def test_overlapping_and_touching_windows_of_one_severity_become_one():
    impacts = merge([obs(at(15, 15, 30), at(15, 18)), obs(at(15, 17), at(15, 20)),
                     obs(at(15, 20), at(16, 1, 31))], as_of=AS_OF)
    assert [i.window for i in impacts] == [Window(at(15, 15, 30), at(16, 1, 31))]


def test_repeated_reports_of_the_same_window_count_once():
    same = obs(at(15, 15, 30), at(16, 1, 31))
    impacts = merge([same, same, same], as_of=AS_OF)
    assert len(impacts) == 1
    assert impacts[0].window.duration == timedelta(hours=10, minutes=1)


def test_outage_wins_over_degraded_where_they_overlap():
    impacts = merge([obs(at(15, 15, 30), at(15, 18), Severity.DEGRADED),
                     obs(at(15, 16), at(15, 17))], as_of=AS_OF)
    got = [(i.severity, i.window) for i in impacts]
    assert got == [
        (Severity.OUTAGE, Window(at(15, 16), at(15, 17))),
        (Severity.DEGRADED, Window(at(15, 15, 30), at(15, 16))),
        (Severity.DEGRADED, Window(at(15, 17), at(15, 18))),
    ]


def test_maintenance_is_kept_apart_from_outage():
    impacts = merge([obs(at(15, 2), at(15, 4), Severity.MAINTENANCE), obs(at(15, 3), at(15, 5))],
                    as_of=AS_OF)
    assert {(i.severity, i.window) for i in impacts} == {
        (Severity.MAINTENANCE, Window(at(15, 2), at(15, 4))),
        (Severity.OUTAGE, Window(at(15, 3), at(15, 5))),
    }


def test_an_open_window_closes_at_as_of_and_is_marked_open():
    (impact,) = merge([obs(at(15, 15, 30), None)], as_of=at(16, 12))
    assert impact.window == Window(at(15, 15, 30), at(16, 12))
    assert impact.open


def test_a_closed_window_is_not_marked_open_next_to_an_open_one():
    impacts = merge([obs(at(15, 15, 30), at(15, 16)), obs(at(15, 18), None)], as_of=at(16, 12))
    assert [(i.window.start, i.open) for i in impacts] == [(at(15, 15, 30), False), (at(15, 18), True)]


def test_an_open_window_that_starts_after_as_of_is_an_error():
    with pytest.raises(IncidentError, match="as-of"):
        merge([obs(at(16, 15), None)], as_of=at(16, 12))


def test_services_and_features_are_merged_separately():
    impacts = merge([obs(at(15, 15, 30), at(15, 18), feature="text"),
                     obs(at(15, 15, 30), at(15, 20), feature="photos"),
                     obs(at(15, 15, 30), at(16, 7), service="webtoon", feature=None)], as_of=AS_OF)
    assert [(i.service, i.feature) for i in impacts] == [
        ("messenger", "photos"), ("messenger", "text"), ("webtoon", None)]


def test_a_source_without_severity_takes_the_map_severity_then_outage():
    window = SourceWindow(source="prometheus", name="mail", start=at(15, 15, 30), end=at(15, 18))
    assert place(window, Target("mail")).severity is Severity.OUTAGE
    assert place(window, Target("mail", severity=Severity.DEGRADED)).severity is Severity.DEGRADED


def test_a_source_severity_is_not_overridden_by_the_map():
    window = SourceWindow(source="statuspage", name="Mail", start=at(15, 15, 30), end=at(15, 18),
                          severity=Severity.DEGRADED)
    assert place(window, Target("mail", severity=Severity.OUTAGE)).severity is Severity.DEGRADED


def test_a_source_window_that_ends_before_it_starts_is_an_error():
    with pytest.raises(IncidentError, match="at or before it starts"):
        SourceWindow(source="csv", name="x", start=at(15, 18), end=at(15, 17))


def test_a_naive_source_timestamp_is_an_error():
    with pytest.raises(InputError, match="no time zone"):
        SourceWindow(source="csv", name="x", start=datetime(2022, 10, 15, 6), end=None)


def test_korean_names_are_normalised_to_nfc():
    decomposed = "\u1112\u1161\u11ab"  # 한 as conjoining jamo (NFD)
    window = SourceWindow(source="uptime_kuma", name=decomposed, start=at(15, 1), end=None)
    assert window.name == "한"
    placed = place(window, Target(decomposed, decomposed))
    (impact,) = merge([placed], as_of=datetime(2022, 10, 16, tzinfo=UTC))
    assert (impact.service, impact.feature) == ("한", "한")
