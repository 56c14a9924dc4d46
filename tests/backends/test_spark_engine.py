"""The Spark engine on bad input and on object-storage style sources.

Bad input must be a :class:`DataError` naming the file, the line or row and the column, worded
exactly as the DuckDB engine (and so the reference parser) words it, before any ledger exists.
The parity of good input is in ``test_parity.py``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.parity.parity_data import shipped_policy

from makegood.adapters.batch import get_engine
from makegood.adapters.batch.reference import ReferenceEngine
from makegood.adapters.calendars import HolidayCalendars
from makegood.adapters.scenario import kakao_2022_incident
from makegood.adapters.tables import resolve
from makegood.domain.errors import DataError

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

HEADER = ("subscription_id,account_id,segment,service,plan,paid,fee,currency,billing_period,"
          "channel,start,end")
GOOD = "S1,A1,individual,music,unlimited,true,10900,KRW,month,web,2022-09-01T00:00:00+09:00,"
MORE = "S2,A2,individual,taxi_pro,pro,true,39000,KRW,month,app_store,2022-10-01T00:00:00Z,"


def engine() -> Any:
    from makegood.adapters.batch.spark import SparkEngine

    return SparkEngine("local[2]")


def run(path: Path, name: str = "spark") -> Any:
    chosen = engine() if name == "spark" else get_engine(name)
    return chosen.run(incident=kakao_2022_incident(), policies=[shipped_policy("kakao-2022-paid")],
                        source=resolve(str(path)), calendars=HolidayCalendars())


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "subscriptions.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_missing_column_names_the_file_and_the_column(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER.replace(",channel", ""), GOOD.replace(",web", ""))
    with pytest.raises(DataError) as caught:
        run(path)
    assert caught.value.file == str(path)
    assert caught.value.field == "channel"
    assert "missing column" in caught.value.problem


def same_error_as_duckdb(path: Path) -> DataError:
    """The Spark engine's error on ``path``, checked to be the DuckDB engine's, word for word."""
    with pytest.raises(DataError) as duckdb_caught:
        run(path, "duckdb")
    with pytest.raises(DataError) as caught:
        run(path)
    assert str(caught.value) == str(duckdb_caught.value)
    assert caught.value.file == str(path)
    return caught.value


def test_a_fee_that_is_not_a_number_names_the_line_and_the_column(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, GOOD, MORE.replace("39000", "3만9천"))
    error = same_error_as_duckdb(path)
    assert (error.line, error.field) == (3, "fee")
    assert "3만9천" in error.problem
    assert "'S2'" in error.problem


def test_duplicate_subscription_rows_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, GOOD, MORE, GOOD.replace("A1", "A9"))
    error = same_error_as_duckdb(path)
    assert error.field == "subscription_id"
    assert "duplicate subscription_id 'S1'" in error.problem


def test_a_timestamp_without_a_zone_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, GOOD, MORE.replace("2022-10-01T00:00:00Z", "2022-10-01T00:00:00"))
    error = same_error_as_duckdb(path)
    assert (error.line, error.field) == (3, "start")
    assert "'S2'" in error.problem


def test_an_account_with_two_segments_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, GOOD, MORE.replace("S2,A2,individual", "S2,A1,enterprise"))
    error = same_error_as_duckdb(path)
    assert error.field == "segment"
    assert "account 'A1' has two segments" in error.problem


def test_a_parquet_column_of_naive_timestamps_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "subs.parquet"
    pq.write_table(pa.table({
        "subscription_id": ["S1"], "account_id": ["A1"], "segment": ["individual"],
        "service": ["music"], "plan": ["unlimited"], "paid": [True], "fee": ["10900"],
        "currency": ["KRW"], "billing_period": ["month"], "channel": ["web"],
        "start": pa.array([datetime(2022, 9, 1)], pa.timestamp("us")),
        "end": pa.array([None], pa.timestamp("us")),
    }), path)
    error = same_error_as_duckdb(path)
    assert (error.row, error.field) == (1, "start")


def test_a_file_url_source_gives_the_ledger_of_the_local_path(tmp_path: Path) -> None:
    from makegood.adapters.batch.spark import remote_source

    (tmp_path / "subscriptions").mkdir()
    write(tmp_path / "subscriptions", HEADER, GOOD, MORE)
    policies = [shipped_policy("kakao-2022-paid")]
    expected = ReferenceEngine().run(incident=kakao_2022_incident(), policies=policies,
                                     source=resolve(str(tmp_path)), calendars=HolidayCalendars())
    got = engine().run(incident=kakao_2022_incident(), policies=policies,
                       source=remote_source(f"file://{tmp_path}", scenario=True, fmt="csv"),
                       calendars=HolidayCalendars())
    assert got.ledger.num_rows == 2
    assert got.ledger.equals(expected.ledger)


def test_a_csv_ledger_streamed_to_the_file_is_the_reference_ledger_with_its_summary(
        tmp_path: Path) -> None:
    from makegood.adapters.ledger import summarize, write_table

    path = write(tmp_path, HEADER, GOOD, MORE)
    policies = [shipped_policy("kakao-2022-paid")]
    expected = ReferenceEngine().run(incident=kakao_2022_incident(), policies=policies,
                                     source=resolve(str(path)), calendars=HolidayCalendars())
    want, got = tmp_path / "reference.csv", tmp_path / "spark.csv"
    write_table(expected.ledger, want)
    summary = engine().run_to_file(incident=kakao_2022_incident(), policies=policies,
                                   source=resolve(str(path)), calendars=HolidayCalendars(), out=got)
    assert got.read_bytes() == want.read_bytes()
    assert {k: summary[k] for k in summarize(expected.ledger)} == summarize(expected.ledger)
    assert (summary["accounts"], summary["subscriptions"]) == (2, 2)


def test_a_sales_row_that_is_not_a_date_is_refused_as_duckdb_refuses_it(tmp_path: Path) -> None:
    subs = write(tmp_path, HEADER, GOOD, MORE)
    sales = tmp_path / "sales.csv"
    sales.write_text("account_id,week_start,amount\nA1,2022-10-08,500000\nA1,10/15/2022,1000\n",
                     encoding="utf-8")
    errors = []
    for name in ("duckdb", "spark"):
        chosen = engine() if name == "spark" else get_engine(name)
        with pytest.raises(DataError) as caught:
            chosen.run(incident=kakao_2022_incident(), policies=[shipped_policy("kakao-2022-paid")],
                       source=resolve(str(subs), str(sales)), calendars=HolidayCalendars())
        errors.append(str(caught.value))
    assert errors[0] == errors[1]
    assert "10/15/2022" in errors[1]
    assert "week_start" in errors[1]
