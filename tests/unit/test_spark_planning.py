"""The Spark engine's driver-side planning: pure helpers that need no JVM."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

# Imported plainly: a Spark engine that fails to import fails these tests, it does not skip them.
from makegood.adapters.batch import spark_engine


@pytest.mark.parametrize(("value", "expected"), [
    (Decimal("1.5"), (15, 1)), (Decimal("10"), (10, 0)), (Decimal("0.10"), (1, 1)),
    (Decimal("12.5"), (125, 1)), (Decimal("0.000001"), (1, 6)),
])
def test_a_decimal_becomes_an_integer_over_a_power_of_ten(value: Decimal,
                                                          expected: tuple[int, int]) -> None:
    assert spark_engine._ratio(value) == expected


def test_a_london_october_has_an_extra_hour_when_clocks_go_back() -> None:
    london = ZoneInfo("Europe/London")
    months = spark_engine._months(datetime(2022, 10, 15, tzinfo=UTC),
                                  datetime(2022, 11, 2, tzinfo=UTC), london)
    (_oct_start, oct_end, oct_seconds, oct_days), (_s, _e, nov_seconds, nov_days) = months
    assert (oct_days, oct_seconds) == (31, 31 * 86400 + 3600)
    assert (nov_days, nov_seconds) == (30, 30 * 86400)
    assert oct_end == spark_engine._micros(datetime(2022, 11, 1, tzinfo=london))


def test_a_scenario_url_reads_its_subscriptions_and_optional_sales() -> None:
    source = spark_engine.remote_source("s3a://runs/2022/scenario/", scenario=True)
    assert source.subscriptions == ("s3a://runs/2022/scenario/subscriptions",)
    assert source.sales == ("s3a://runs/2022/scenario/sales",)
    assert source.sales_optional
    assert source.format == "parquet"


def test_an_unknown_table_format_is_refused() -> None:
    from makegood.domain.errors import DataError

    with pytest.raises(DataError, match="unknown table format 'orc'"):
        spark_engine.remote_source("s3a://runs/x", fmt="orc")


def test_a_local_master_binds_to_loopback_and_a_cluster_master_does_not() -> None:
    local = spark_engine._conf("local[2]", {})
    cluster = spark_engine._conf("spark://head:7077", {"spark.executor.memory": "8g"})
    assert local["spark.driver.bindAddress"] == "127.0.0.1"
    assert "spark.driver.bindAddress" not in cluster
    assert cluster["spark.executor.memory"] == "8g"
    assert local["spark.sql.session.timeZone"] == cluster["spark.sql.session.timeZone"] == "UTC"
