"""Bad input for the DuckDB engine: one line naming the file, the row or line, the column and the
value; no ledger written."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.integration.test_duckdb_engine import ALL_KINDS, incident

from makegood.adapters.batch.duckdb_engine import DuckDBEngine
from makegood.adapters.calendars import HolidayCalendars
from makegood.adapters.tables import AccountsSource
from makegood.domain.errors import DataError, PolicyError
from makegood.domain.policy import load_policy

HEADER = "subscription_id,account_id,segment,service,plan,paid,fee,currency,billing_period,channel,start,end"
GOOD = "S1,A1,individual,music,p,true,3900,KRW,month,web,2022-01-01T00:00:00+09:00,"


def run(tmp_path: Path, source: AccountsSource, policy: str = ALL_KINDS) -> Path:
    out = tmp_path / "ledger.parquet"
    DuckDBEngine().run_to_file(incident=incident(), policies=[load_policy(policy)], source=source,
                               calendars=HolidayCalendars(), out=out)
    return out


def csv_source(tmp_path: Path, *lines: str, header: str = HEADER) -> AccountsSource:
    path = tmp_path / "subs.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return AccountsSource((path,))


def failing(tmp_path: Path, source: AccountsSource, policy: str = ALL_KINDS) -> DataError | PolicyError:
    with pytest.raises((DataError, PolicyError)) as info:
        run(tmp_path, source, policy)
    assert not (tmp_path / "ledger.parquet").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".ledger")]
    return info.value  # type: ignore[return-value]


def test_a_missing_column_names_the_file_and_the_column(tmp_path: Path) -> None:
    error = failing(tmp_path, csv_source(tmp_path, GOOD.rsplit(",", 1)[0],
                                         header=HEADER.replace(",end", "")))
    assert error.field == "end"
    assert error.file is not None
    assert error.file.endswith("subs.csv")
    assert "missing column(s) end" in str(error)


def test_a_timestamp_without_a_zone_names_the_line_and_the_value(tmp_path: Path) -> None:
    bad = GOOD.replace("S1", "S2").replace("+09:00", "")
    error = failing(tmp_path, csv_source(tmp_path, GOOD, bad))
    assert (error.line, error.field) == (3, "start")
    assert "has no time zone" in str(error)
    assert "S2" in str(error)


def test_a_wrong_type_names_the_line_the_column_and_the_value(tmp_path: Path) -> None:
    error = failing(tmp_path, csv_source(tmp_path, GOOD, GOOD.replace("S1", "S2").replace("3900", "lots")))
    assert (error.line, error.field) == (3, "fee")
    assert "'lots' is not a number" in str(error)


def test_duplicate_subscription_rows_are_refused(tmp_path: Path) -> None:
    error = failing(tmp_path, csv_source(tmp_path, GOOD, GOOD))
    assert error.field == "subscription_id"
    assert "duplicate subscription_id 'S1'" in str(error)


def test_a_naive_parquet_timestamp_column_names_the_row(tmp_path: Path) -> None:
    from datetime import datetime

    table = pa.table({
        "subscription_id": ["S1"], "account_id": ["A1"], "segment": ["individual"],
        "service": ["music"], "plan": ["p"], "paid": [True], "fee": ["3900"], "currency": ["KRW"],
        "billing_period": ["month"], "channel": ["web"],
        "start": pa.array([datetime(2022, 1, 1)], pa.timestamp("us")),
        "end": pa.array([None], pa.timestamp("us")),
    })
    path = tmp_path / "subs.parquet"
    pq.write_table(table, path)
    error = failing(tmp_path, AccountsSource((path,)))
    assert (error.row, error.field) == (1, "start")
    assert "has no time zone" in str(error)


def test_a_policy_naming_a_service_nobody_knows_is_refused(tmp_path: Path) -> None:
    policy = ALL_KINDS.replace('services = ["pay"]', 'services = ["payy"]')
    error = failing(tmp_path, csv_source(tmp_path, GOOD), policy)
    assert isinstance(error, PolicyError)
    assert "unknown service 'payy'" in str(error)


def test_an_account_with_two_segments_is_refused(tmp_path: Path) -> None:
    other = GOOD.replace("S1", "S2").replace("individual", "enterprise")
    error = failing(tmp_path, csv_source(tmp_path, GOOD, other))
    assert error.field == "segment"
    assert "two segments" in str(error)
