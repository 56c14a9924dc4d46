"""Prometheus query_range of up / probe_success."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from makegood.adapters.importers import prometheus
from makegood.domain.errors import IncidentError

T0 = 1665815400  # 2022-10-15T06:30:00Z, 15:30 KST
STEP = 60


def utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def response(*series: tuple[dict[str, str], list[tuple[float | int, str]]]) -> dict:
    return {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": metric, "values": [[t, v] for t, v in values]} for metric, values in series]}}


def write(tmp_path: Path, body: dict | str) -> Path:
    path = tmp_path / "up.json"
    path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
    return path


def samples(*values: str, start: int = T0) -> list[tuple[int, str]]:
    return [(start + i * STEP, v) for i, v in enumerate(values)]


MAIL = {"__name__": "up", "job": "mail", "instance": "mail-1:9100"}


def test_a_run_of_zeros_lasts_until_the_first_following_one(tmp_path: Path):
    path = write(tmp_path, response((MAIL, samples("1", "0", "0", "0", "1", "1"))))
    (window,) = prometheus.read(path)
    assert (window.name, window.start, window.end) == ("mail", utc(T0 + 60), utc(T0 + 240))


def test_flapping_gives_one_window_per_run(tmp_path: Path):
    path = write(tmp_path, response((MAIL, samples("0", "1", "0", "0", "1"))))
    assert [(w.start, w.end) for w in prometheus.read(path)] == [
        (utc(T0), utc(T0 + 60)), (utc(T0 + 120), utc(T0 + 240))]


def test_a_missing_sample_is_not_an_outage(tmp_path: Path):
    # zeros at 0 and 60, nothing at 120..240 (scrape gap), up at 300
    values = [(T0, "0"), (T0 + 60, "0"), (T0 + 300, "1"), (T0 + 360, "1")]
    (window,) = prometheus.read(write(tmp_path, response((MAIL, values))))
    assert (window.start, window.end) == (utc(T0), utc(T0 + 120))  # last zero + one step


def test_nan_is_a_missing_sample(tmp_path: Path):
    path = write(tmp_path, response((MAIL, samples("0", "NaN", "1"))))
    (window,) = prometheus.read(path)
    assert (window.start, window.end) == (utc(T0), utc(T0 + 60))


def test_a_run_reaching_the_last_sample_is_open(tmp_path: Path):
    (window,) = prometheus.read(write(tmp_path, response((MAIL, samples("1", "0", "0")))))
    assert (window.start, window.end) == (utc(T0 + 60), None)


def test_samples_out_of_order_and_repeated_are_sorted(tmp_path: Path):
    values = [(T0 + 180, "1"), (T0 + 60, "0"), (T0, "1"), (T0 + 120, "0"), (T0 + 60, "0")]
    (window,) = prometheus.read(write(tmp_path, response((MAIL, values))))
    assert (window.start, window.end) == (utc(T0 + 60), utc(T0 + 180))


def test_fractional_timestamps_are_exact(tmp_path: Path):
    body = ('{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"job":"mail"},'
            f'"values":[[{T0}.781,"0"],[{T0 + 60}.781,"1"]]}}]}}}}')
    (window,) = prometheus.read(write(tmp_path, body))
    assert window.start == utc(T0) + timedelta(milliseconds=781)


def test_series_are_named_by_the_chosen_label(tmp_path: Path):
    path = write(tmp_path, response((MAIL, samples("0", "1"))))
    (window,) = prometheus.read(path, label="instance")
    assert window.name == "mail-1:9100"


def test_a_series_without_the_label_is_named_by_its_selector(tmp_path: Path):
    path = write(tmp_path, response(({"__name__": "probe_success", "target": "pay"}, samples("0", "1"))))
    (window,) = prometheus.read(path)
    assert window.name == 'probe_success{target="pay"}'


def test_the_step_from_the_map_applies_to_gaps(tmp_path: Path):
    values = [(T0, "0"), (T0 + 600, "1")]
    (window,) = prometheus.read(write(tmp_path, response((MAIL, values))), step=timedelta(seconds=60))
    assert window.end == utc(T0 + 60)


def test_an_error_response_is_refused_with_its_message(tmp_path: Path):
    body = {"status": "error", "errorType": "bad_data", "error": "invalid parameter 'query'"}
    with pytest.raises(IncidentError, match="invalid parameter"):
        prometheus.read(write(tmp_path, body))


def test_an_instant_query_is_refused(tmp_path: Path):
    body = {"status": "success", "data": {"resultType": "vector", "result": []}}
    with pytest.raises(IncidentError, match="not 'matrix'") as caught:
        prometheus.read(write(tmp_path, body))
    assert caught.value.field == "data.resultType"


def test_a_value_that_is_not_a_number_names_the_sample(tmp_path: Path):
    path = write(tmp_path, response((MAIL, samples("1", "down"))))
    with pytest.raises(IncidentError, match="not a number") as caught:
        prometheus.read(path)
    assert caught.value.field == "data.result[0].values[1]"
