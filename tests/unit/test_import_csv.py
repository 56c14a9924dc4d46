"""The hand-kept CSV timeline."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from makegood.adapters.importers import csv_windows
from makegood.domain.errors import IncidentError
from makegood.domain.incident import Severity

FIXTURE = Path(__file__).parents[1] / "fixtures" / "importers" / "kakao-2022.csv"
KST = timezone(timedelta(hours=9))
HEADER = "service,feature,severity,start,end\n"


def test_rows_become_observations_with_korean_names_and_open_windows():
    rows = csv_windows.read(FIXTURE)
    assert len(rows) == 7  # the blank line is skipped
    taxi = next(r for r in rows if r.service == "카카오T")
    assert (taxi.feature, taxi.severity) == ("택시 호출", Severity.DEGRADED)
    photos = next(r for r in rows if r.feature == "photos")
    assert photos.end is None
    webtoon = next(r for r in rows if r.service == "webtoon")
    assert webtoon.feature is None
    assert webtoon.end - webtoon.start == timedelta(hours=15, minutes=30)


def test_a_byte_order_mark_is_accepted(tmp_path: Path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeff".encode() + (HEADER + "mail,,,2022-10-15T15:30:00+09:00,"
                                          "2022-10-15T17:30:00+09:00\n").encode())
    (row,) = csv_windows.read(path)
    assert (row.service, row.severity) == ("mail", Severity.OUTAGE)
    assert row.start == datetime(2022, 10, 15, 15, 30, tzinfo=KST)


@pytest.mark.parametrize(("line", "field", "problem"), [
    ("mail,,outage,2022-10-15T15:30:00,2022-10-15T17:30:00+09:00", "start", "no time zone"),
    ("mail,,outage,2022-10-15T15:30:00+09:00,2022-10-15T15:00:00+09:00", "end", "at or before"),
    ("mail,,down,2022-10-15T15:30:00+09:00,", "severity", "not one of"),
    (",,outage,2022-10-15T15:30:00+09:00,", "service", "empty"),
    ("mail,,outage,yesterday,", "start", "not an ISO 8601"),
])
def test_a_bad_row_names_its_line_and_field(tmp_path: Path, line: str, field: str, problem: str):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "mail,,outage,2022-10-15T15:30:00+09:00,2022-10-15T16:00:00+09:00\n"
                    + line + "\n", encoding="utf-8")
    with pytest.raises(IncidentError, match=problem) as caught:
        csv_windows.read(path)
    assert (caught.value.file, caught.value.line, caught.value.field) == (str(path), 3, field)


def test_a_wrong_header_is_refused(tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text("service,start,end\nmail,2022-10-15T15:30:00+09:00,\n", encoding="utf-8")
    with pytest.raises(IncidentError, match="header") as caught:
        csv_windows.read(path)
    assert caught.value.line == 1


def test_a_row_with_missing_fields_is_refused(tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "mail,2022-10-15T15:30:00+09:00\n", encoding="utf-8")
    with pytest.raises(IncidentError, match="2 fields") as caught:
        csv_windows.read(path)
    assert caught.value.line == 2
