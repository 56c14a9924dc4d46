"""The Spark engine on bad input and on object-storage style sources.

Bad input must be a :class:`DataError` naming the file, the column and an example row, before
any ledger exists. The parity of good input is in ``test_parity.py``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.parity.parity_data import shipped_policy

from makegood.adapters.calendars import HolidayCalendars
from makegood.adapters.scenario import kakao_2022_incident
from makegood.adapters.tables import resolve
from makegood.domain.errors import DataError
from makegood.services.compensation import ReferenceEngine

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

HEADER = ("subscription_id,account_id,segment,service,plan,paid,fee,currency,billing_period,"
          "channel,start,end")
GOOD = "S1,A1,individual,music,unlimited,true,10900,KRW,month,web,2022-09-01T00:00:00+09:00,"
MORE = "S2,A2,individual,taxi_pro,pro,true,39000,KRW,month,app_store,2022-10-01T00:00:00Z,"


def engine() -> Any:
    from makegood.adapters.batch.spark_engine import SparkEngine

    return SparkEngine("local[2]")


def run(path: Path) -> Any:
    return engine().run(incident=kakao_2022_incident(), policies=[shipped_policy("kakao-2022-paid")],
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


def test_a_fee_that_is_not_a_number_names_the_column_and_an_example_row(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, GOOD, MORE.replace("39000", "3만9천"))
    with pytest.raises(DataError) as caught:
        run(path)
    assert caught.value.file == str(path)
    assert caught.value.field == "fee"
    assert "'3만9천' is not a number" in caught.value.problem
    assert "subscription_id='S2'" in caught.value.problem


def test_duplicate_subscription_rows_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, GOOD, MORE, GOOD.replace("A1", "A9"))
    with pytest.raises(DataError) as caught:
        run(path)
    assert caught.value.field == "subscription_id"
    assert "duplicate subscription_id 'S1'" in caught.value.problem


def test_a_timestamp_without_a_zone_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, GOOD, MORE.replace("2022-10-01T00:00:00Z", "2022-10-01T00:00:00"))
    with pytest.raises(DataError) as caught:
        run(path)
    assert caught.value.field == "start"
    assert "has no time zone" in caught.value.problem
    assert "subscription_id='S2'" in caught.value.problem


def test_a_parquet_column_of_naive_timestamps_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "subs.parquet"
    pq.write_table(pa.table({
        "subscription_id": ["S1"], "account_id": ["A1"], "segment": ["individual"],
        "service": ["music"], "plan": ["unlimited"], "paid": [True], "fee": ["10900"],
        "currency": ["KRW"], "billing_period": ["month"], "channel": ["web"],
        "start": pa.array([datetime(2022, 9, 1)], pa.timestamp("us")),
        "end": pa.array([None], pa.timestamp("us")),
    }), path)
    with pytest.raises(DataError) as caught:
        run(path)
    assert caught.value.file == str(path)
    assert caught.value.field == "start"
    assert "no time zone" in caught.value.problem


def test_a_file_url_source_gives_the_ledger_of_the_local_path(tmp_path: Path) -> None:
    from makegood.adapters.batch.spark_engine import remote_source

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
