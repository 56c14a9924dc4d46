"""The Spark engine's driver side without a JVM: its settings, failures and the plan's SQL."""

from __future__ import annotations

import re

import pytest
from tests.parity.parity_data import shipped_policy

from makegood.adapters.batch.plan import SPARK, compile_policy
from makegood.adapters.batch.spark.inputs import remote_source
from makegood.adapters.batch.spark.plan import pairs_sql
from makegood.adapters.batch.spark.session import (
    GIB,
    SparkResourceError,
    failure,
    local_driver_memory,
    settings,
    shuffle_partitions,
)
from makegood.adapters.calendars import HolidayCalendars
from makegood.adapters.scenario import kakao_2022_incident
from makegood.domain.errors import DataError


def test_a_scenario_url_reads_its_subscriptions_and_optional_sales() -> None:
    source = remote_source("s3a://runs/2022/scenario/", scenario=True)
    assert source.subscriptions == ("s3a://runs/2022/scenario/subscriptions",)
    assert source.sales == ("s3a://runs/2022/scenario/sales",)
    assert source.sales_optional
    assert source.format == "parquet"


def test_an_unknown_table_format_is_refused() -> None:
    with pytest.raises(DataError, match="unknown table format 'orc'"):
        remote_source("s3a://runs/x", fmt="orc")


def test_a_local_master_binds_to_loopback_and_a_cluster_master_does_not() -> None:
    local = settings("local[2]", {})
    cluster = settings("spark://head:7077", {"spark.executor.memory": "8g"})
    assert local["spark.driver.bindAddress"] == "127.0.0.1"
    assert "spark.driver.bindAddress" not in cluster
    assert "spark.driver.memory" not in cluster
    assert cluster["spark.executor.memory"] == "8g"
    assert local["spark.sql.session.timeZone"] == cluster["spark.sql.session.timeZone"] == "UTC"


@pytest.mark.parametrize(("available", "expected"), [
    (22 * GIB, "11g"), (5 * GIB, "2g"), (GIB // 2, "1g"), (200 * GIB, "16g")])
def test_local_driver_memory_is_half_the_available_ram_within_bounds(available: int,
                                                                     expected: str) -> None:
    assert local_driver_memory(available) == expected
    assert settings("local[2]", available=available)["spark.driver.memory"] == expected


def test_a_setting_given_by_the_user_wins_over_the_machine_sized_one() -> None:
    conf = settings("local[2]", {"spark.driver.memory": "3g", "spark.sql.shuffle.partitions": "8"},
                    available=20 * GIB)
    assert conf["spark.driver.memory"] == "3g"
    assert conf["spark.sql.shuffle.partitions"] == "8"


def test_spark_log_goes_to_a_file_unless_verbose() -> None:
    quiet, verbose = settings("local[2]"), settings("local[2]", verbose=True)
    assert quiet["spark.ui.showConsoleProgress"] == "false"
    assert verbose["spark.ui.showConsoleProgress"] == "true"
    quiet_log = re.search(r"file:(\S+)", quiet["spark.driver.extraJavaOptions"])
    verbose_log = re.search(r"file:(\S+)", verbose["spark.driver.extraJavaOptions"])
    assert quiet_log
    assert verbose_log
    with open(quiet_log.group(1), encoding="utf-8") as fh:
        assert "type = File" in fh.read()
    with open(verbose_log.group(1), encoding="utf-8") as fh:
        assert "SYSTEM_ERR" in fh.read()


def test_out_of_memory_is_one_line_naming_the_setting_to_raise() -> None:
    trace = ("An error occurred while calling o123.collect.\n: org.apache.spark.SparkException: Job "
             "aborted\nCaused by: org.apache.spark.memory.SparkOutOfMemoryError: "
             "[UNABLE_TO_ACQUIRE_MEMORY] Unable to acquire 65536 bytes of memory, got 0.\n\tat x")
    error = failure(RuntimeError(trace), master="local[2]", conf={"spark.driver.memory": "2g"},
                    label="scenario/")
    assert isinstance(error, SparkResourceError)
    assert "\n" not in str(error)
    assert "spark.driver.memory (now 2g)" in str(error)
    cluster = failure(RuntimeError("java.lang.OutOfMemoryError: Java heap space"),
                      master="spark://head:7077", conf={}, label=None)
    assert "spark.executor.memory" in str(cluster)


def test_another_spark_failure_is_its_first_line() -> None:
    error = failure(RuntimeError("Path does not exist: s3a://x\n\tat org.apache..."),
                    master="local[2]", conf={}, label="s3a://x")
    assert isinstance(error, DataError)
    assert "Path does not exist: s3a://x" in str(error)
    assert "\tat" not in str(error)


@pytest.mark.parametrize("name", ["kr-telecom-10x", "aws-ec2-sla", "ofcom-gb", "kakao-2022-paid"])
def test_the_pairs_query_of_every_shipped_rule_kind_is_spark_sql(name: str) -> None:
    compiled = compile_policy(shipped_policy(name), kakao_2022_incident(), HolidayCalendars(), SPARK)
    sql = pairs_sql([compiled])
    assert "HUGEINT" not in sql
    assert "//" not in sql
    assert "FROM subs sub JOIN rw ON rw.service = sub.service" in sql


def test_spark_conf_options_are_key_value_pairs() -> None:
    from makegood.entrypoints.cli.compensate import spark_settings

    assert spark_settings(["spark.driver.memory=12g", " spark.sql.shuffle.partitions = 64 "]) == {
        "spark.driver.memory": "12g", "spark.sql.shuffle.partitions": "64"}
    with pytest.raises(DataError) as caught:
        spark_settings(["spark.driver.memory"])
    assert caught.value.field == "--spark-conf"


def test_spark_conf_and_verbose_reach_the_spark_engine() -> None:
    from makegood import bootstrap

    engine = bootstrap.engines(spark_master="local[2]", spark_conf={"spark.driver.memory": "3g"},
                               verbose=True).get("spark")
    assert engine.conf == {"spark.driver.memory": "3g"}
    assert engine.verbose
    assert settings(engine.master, engine.conf)["spark.driver.memory"] == "3g"


def test_shuffle_partitions_follow_the_input_size_on_a_local_master() -> None:
    assert shuffle_partitions(40_000, "local[2]") == 2  # a test's few rows: one task per core
    assert shuffle_partitions(96 << 20, "local[2]") == 32  # 10 M rows of generated Parquet
    assert shuffle_partitions(480 << 20, "local[2]") == 128  # 50 M rows: at most 128
