"""The batch plan's SQL means the same in DuckDB and in Spark SQL.

The plan is written once (:mod:`makegood.adapters.batch.plan`) in a dialect per engine. Here
the pairs of the parity data (each subscription with its rule's windows) go through the plan's
match, counted and slot expressions in DuckDB and in Spark SQL, for policies of every rule kind;
the integers must be the same.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
import pytest
from tests.parity.parity_data import (
    CAPS_POLICY,
    KR_WORKING_POLICY,
    edge_incident,
    edge_rows,
    shipped_policy,
)

from makegood.adapters.batch.plan import DUCKDB, SPARK, CompiledPolicy, Dialect, compile_policy, us
from makegood.adapters.calendars import HolidayCalendars
from makegood.domain.incident import nfc
from makegood.domain.policy import Policy, load_policy

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]
TEXT = ("sid", "service", "plan", "channel", "segment", "rservice")


def policies() -> list[Policy]:
    return [load_policy(CAPS_POLICY), load_policy(KR_WORKING_POLICY),
            *(shipped_policy(n) for n in ("kr-telecom-10x", "aws-ec2-sla", "google-cloud-sla",
                                          "de-tkg-58", "ofcom-gb", "content-3x", "kakao-2022-paid"))]


def pairs(cp: CompiledPolicy) -> tuple[list[str], list[tuple[Any, ...]]]:
    rows, _ = edge_rows(5, 80, edge_incident())
    subs = [(r.subscription_id, nfc(r.service), r.plan, r.paid, r.channel, r.segment, us(r.start),
             us(r.end) if r.end else None) for r in rows]
    columns = ["sid", "service", "plan", "paid", "channel", "segment", "s", "e", "ri", "rservice",
               *(f"{x}{j}" for j in range(cp.k) for x in ("ws", "we"))]
    return columns, [(*s, *w) for w in cp.rule_windows_rows() for s in subs if s[1] == w[1]]


def query(cp: CompiledPolicy) -> str:
    durations = [d for _, _, d in cp.pieces()]
    longest = f"greatest({', '.join(durations)})" if len(durations) > 1 else durations[0]
    slots = "".join(f", {cp.slot_sql(i)} AS x{i}" for i in range(cp.nslots))
    return (f"SELECT sid, ri, counted_us{slots} FROM (SELECT *, {' + '.join(durations)} AS counted_us, "
            f"{longest} AS longest_us FROM t WHERE {cp.match_sql()}) q WHERE counted_us > 0 "
            "ORDER BY sid, ri")


@pytest.fixture(scope="module")
def spark() -> Any:
    """The engine's own session (the process's one JVM, started with the engine's settings: a
    JVM started here with other settings would be the one later engine tests get)."""
    from makegood.adapters.batch.spark.session import spark_session

    return spark_session("local[2]")


def run(dialect: Dialect, policy: Policy, spark: Any) -> list[tuple[int | str, ...]]:
    cp = compile_policy(policy, edge_incident(), HolidayCalendars(), dialect)
    columns, data = pairs(cp)
    if dialect is DUCKDB:
        con = duckdb.connect()
        con.register("t", pa.table({c: [r[i] for r in data] for i, c in enumerate(columns)}))
        return [tuple(r) for r in con.execute(query(cp)).fetchall()]
    from pyspark.sql import types as T

    schema = T.StructType([T.StructField(c, T.StringType() if c in TEXT else
                                         T.BooleanType() if c == "paid" else T.LongType())
                           for c in columns])
    spark.createDataFrame(data, schema).createOrReplaceTempView("t")
    return [tuple(v if isinstance(v, str) else int(v) for v in r) for r in spark.sql(query(cp)).collect()]


@pytest.mark.parametrize("policy", policies(), ids=lambda p: p.id)
def test_the_plan_gives_the_same_integers_in_duckdb_and_spark_sql(policy: Policy, spark: Any) -> None:
    expected = run(DUCKDB, policy, spark)
    assert expected, "the parity data must reach the policy's rules"
    assert run(SPARK, policy, spark) == expected
