"""Bad input for the DuckDB engine: one line naming the file, the row or line, the column and the
value; no ledger written."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.integration.test_duckdb_engine import ALL_KINDS, incident

from makegood.adapters.batch.duckdb import DuckDBEngine
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


def ordered_rows(n: int) -> dict[str, list[object]]:
    """``n`` good subscription rows in (account, subscription) order, two per account."""
    from datetime import UTC, datetime

    return {
        "subscription_id": [f"S{i:07d}" for i in range(n)],
        "account_id": [f"A{i // 2:07d}" for i in range(n)],
        "segment": ["individual"] * n, "service": ["music"] * n, "plan": ["p"] * n,
        "paid": [True] * n, "fee": ["3900"] * n, "currency": ["KRW"] * n,
        "billing_period": ["month"] * n, "channel": ["web"] * n,
        "start": [datetime(2022, 1, 1, tzinfo=UTC)] * n, "end": [None] * n,
    }


def parquet_source(tmp_path: Path, rows: dict[str, list[object]]) -> AccountsSource:
    path = tmp_path / "subs.parquet"
    pq.write_table(pa.table(rows, schema=pa.schema([
        *[(name, pa.string()) for name in ("subscription_id", "account_id", "segment", "service",
                                           "plan")],
        ("paid", pa.bool_()), *[(name, pa.string()) for name in ("fee", "currency",
                                                                 "billing_period", "channel")],
        ("start", pa.timestamp("us", tz="UTC")), ("end", pa.timestamp("us", tz="UTC"))])), path)
    return AccountsSource((path,))


def test_a_bad_row_deep_in_ordered_input_is_found(tmp_path: Path) -> None:
    # Ordered input is checked in one streamed pass, batch after batch: the row is past the first.
    rows = ordered_rows(300_000)
    rows["channel"][250_000] = "carrier pigeon"
    error = failing(tmp_path, parquet_source(tmp_path, rows))
    assert (error.row, error.field) == (250_001, "channel")


def test_a_repeated_subscription_deep_in_ordered_input_is_refused(tmp_path: Path) -> None:
    rows = ordered_rows(300_000)
    rows["subscription_id"][250_001] = rows["subscription_id"][250_000]
    error = failing(tmp_path, parquet_source(tmp_path, rows))
    assert error.field == "subscription_id"
    assert "duplicate subscription_id 'S0250000'" in str(error)


def test_a_repeated_subscription_under_another_account_is_refused(tmp_path: Path) -> None:
    rows = ordered_rows(10)
    rows["subscription_id"][7] = rows["subscription_id"][2]  # A0000001 and A0000003, out of order
    error = failing(tmp_path, parquet_source(tmp_path, rows))
    assert "duplicate subscription_id 'S0000002': 2 rows" in str(error)
    assert (error.row, error.field) == (8, "subscription_id")


def test_two_segments_deep_in_ordered_input_are_refused(tmp_path: Path) -> None:
    rows = ordered_rows(300_000)
    rows["segment"][250_001] = "enterprise"
    error = failing(tmp_path, parquet_source(tmp_path, rows))
    assert (error.row, error.field) == (250_002, "segment")
    assert "account 'A0125000' has two segments" in str(error)


def test_two_reported_losses_for_one_account_are_refused_as_the_reference_refuses(
        tmp_path: Path) -> None:
    from makegood.adapters.tables import load_accounts

    header = HEADER + ",reported_loss"
    lines = [GOOD + ",100", GOOD.replace("S1", "S2") + ",", GOOD.replace("S1", "S3") + ",200.00"]
    source = csv_source(tmp_path, *lines, header=header)
    with pytest.raises(DataError) as reference:
        load_accounts(source)
    error = failing(tmp_path, source)
    assert str(error) == str(reference.value)
    assert "account 'A1' has two reported losses (100 and 200.00)" in str(error)


def test_two_reported_losses_in_parquet_name_the_row_of_the_second(tmp_path: Path) -> None:
    from decimal import Decimal

    rows = ordered_rows(6)
    path = parquet_source(tmp_path, rows).subscriptions[0]
    table = pq.read_table(path).append_column(
        "reported_loss", pa.array([None, Decimal(5), None, None, Decimal(7), Decimal(8)],
                                  pa.decimal128(18, 2)))
    pq.write_table(table, path)
    error = failing(tmp_path, AccountsSource((path,)))
    assert (error.row, error.field) == (6, "reported_loss")
    assert "account 'A0000002' has two reported losses (7.00 and 8.00)" in str(error)


def test_one_reported_loss_repeated_on_an_accounts_rows_is_accepted(tmp_path: Path) -> None:
    header = HEADER + ",reported_loss"
    source = csv_source(tmp_path, GOOD + ",100", GOOD.replace("S1", "S2") + ",100.0", header=header)
    assert run(tmp_path, source).exists()


def sales_source(tmp_path: Path, *lines: str) -> AccountsSource:
    subs = csv_source(tmp_path, GOOD.replace("individual", "small_business"))
    path = tmp_path / "sales.csv"
    path.write_text("\n".join(["account_id,week_start,amount", *lines]) + "\n", encoding="utf-8")
    return AccountsSource(subs.subscriptions, (path,))


def test_two_sales_rows_for_one_week_are_refused_in_any_order(tmp_path: Path) -> None:
    weeks = [f"A1,2022-09-{d:02d},1000" for d in (3, 10, 17)]
    for n, lines in enumerate(([*weeks, weeks[1]], [weeks[1], weeks[0], weeks[1]])):
        root = tmp_path / str(n)
        root.mkdir()
        error = failing(root, sales_source(root, *lines))
        assert error.field == "week_start"
        assert "duplicate sales row for account 'A1', week 2022-09-10" in str(error)


def test_a_sales_row_without_a_date_is_refused(tmp_path: Path) -> None:
    error = failing(tmp_path, sales_source(tmp_path, "A1,2022-09-03,1000", "A1,soon,1000"))
    assert (error.line, error.field) == (3, "week_start")
    assert "'soon' is not a date" in str(error)
