"""The Spark engine's ledger: the same rows, order and bytes as every other engine's.

The awards become ledger rows by joining the small table of rule templates (the columns fixed
by a rule: policy, rule, kind, unit, currency, code) and the cap flags. To a file, Spark sorts
the rows by (account, subscription, policy, rule) and writes the sorted parts to a scratch
directory; the driver then streams those parts, in order, into the ledger in row groups of
:data:`makegood.adapters.ledger.ROW_GROUP` rows with :data:`~makegood.adapters.ledger.PARQUET_OPTIONS`
(or as CSV), so the bytes are those of :func:`makegood.adapters.ledger.write_table`, without the
ledger ever being held in memory. The summary is read off the finished file.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from makegood.adapters.batch.plan import Template
from makegood.adapters.ledger import (
    LEDGER_COLUMNS,
    LEDGER_SCHEMA,
    PARQUET_OPTIONS,
    ROW_GROUP,
    SORT_KEYS,
    atomic_path,
    format_decimal,
    ledger_format,
)

FLAGS = ((1, "CAP_RULE"), (2, "CAP_ACCOUNT"), (4, "FUND_SCALED"))


def ledger_frame(spark: SparkSession, awards: DataFrame, templates: Sequence[Template]) -> DataFrame:
    """The awards as ledger columns (unsorted)."""
    schema = T.StructType([T.StructField(n, t) for n, t in (
        ("tk", T.IntegerType()), ("policy_id", T.StringType()), ("rule_id", T.StringType()),
        ("kind", T.StringType()), ("unit", T.StringType()), ("currency", T.StringType()),
        ("code", T.StringType()))])
    rows = [(tk, t.policy_id, t.rule_id, t.kind, t.unit, t.currency, t.code)
            for tk, t in enumerate(templates)]
    spark.createDataFrame(rows, schema).createOrReplaceTempView("templates")
    awards.createOrReplaceTempView("awards")
    suffix = " || ".join(f"(CASE WHEN (a.flags & {bit}) <> 0 THEN '+{name}' ELSE '' END)"
                         for bit, name in FLAGS)
    return spark.sql(f"""
        SELECT a.aid AS account_id, a.sid AS subscription_id, a.segment, a.service, t.policy_id,
            t.rule_id, CAST(a.counted_s AS BIGINT) AS counted_seconds, t.kind,
            CAST(a.amount AS DECIMAL(24, 6)) AS amount, t.unit, t.currency,
            t.code || {suffix} AS code
        FROM awards a JOIN templates t ON t.tk = a.tk""")


def _ordered(table: pa.Table) -> pa.Table:
    arrays = [table.column(name).combine_chunks().cast(LEDGER_SCHEMA.field(name).type)
              for name in LEDGER_SCHEMA.names]
    return pa.Table.from_arrays(arrays, schema=LEDGER_SCHEMA)


def to_arrow(ledger: DataFrame) -> pa.Table:
    """The whole ledger on the driver, in ledger order (for small runs and tests)."""
    table = ledger.toArrow()
    if table.num_rows == 0:
        return LEDGER_SCHEMA.empty_table()
    return _ordered(table).sort_by(SORT_KEYS)


def _sorted_batches(ledger: DataFrame, scratch: Path, local: bool) -> Iterator[pa.RecordBatch]:
    """The ledger sorted by Spark, in order, in Arrow batches.

    With a local master Spark writes the sorted parts to ``scratch`` and they are read back in
    order by name; a cluster's executors may not share the driver's disk, so there the sorted
    rows come to the driver partition by partition.
    """
    sorted_ledger = ledger.orderBy(*[name for name, _ in SORT_KEYS])
    if local:
        sorted_ledger.write.mode("overwrite").parquet(str(scratch))
        for part in sorted(scratch.glob("part-*.parquet")):
            for batch in pq.ParquetFile(part).iter_batches(batch_size=1 << 16):
                yield pa.RecordBatch.from_arrays(
                    [batch.column(name).cast(LEDGER_SCHEMA.field(name).type) for name in LEDGER_COLUMNS],
                    schema=LEDGER_SCHEMA)
        return
    rows: list[tuple[Any, ...]] = []
    for row in sorted_ledger.toLocalIterator(prefetchPartitions=True):
        rows.append(tuple(row))
        if len(rows) == 1 << 16:
            yield pa.RecordBatch.from_pylist([dict(zip(LEDGER_COLUMNS, r, strict=True)) for r in rows],
                                             schema=LEDGER_SCHEMA)
            rows = []
    if rows:
        yield pa.RecordBatch.from_pylist([dict(zip(LEDGER_COLUMNS, r, strict=True)) for r in rows],
                                         schema=LEDGER_SCHEMA)


def row_groups(batches: Iterator[pa.RecordBatch], size: int = ROW_GROUP) -> Iterator[pa.Table]:
    """The rows of ``batches``, in order, as contiguous tables of ``size`` rows (the last shorter)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        while count >= size:
            table = pa.Table.from_batches(pending)
            yield _ordered(table.slice(0, size))
            rest = table.slice(size)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield _ordered(pa.Table.from_batches(pending))


def write(ledger: DataFrame, out: Path, fmt: str | None, *, local: bool,
          before_rename: Callable[[Path], object] | None = None) -> None:
    """Write the sorted ledger to ``out`` (Parquet or CSV) atomically."""
    scratch = Path(tempfile.mkdtemp(prefix="makegood-spark-ledger-"))
    try:
        parts = _sorted_batches(ledger, scratch / "sorted", local)
        with atomic_path(out) as tmp:
            if ledger_format(out, fmt) == "csv":
                with tmp.open("w", newline="", encoding="utf-8") as fh:
                    writer = csv.writer(fh)
                    writer.writerow(LEDGER_COLUMNS)
                    for table in row_groups(parts):
                        cols = [c.to_pylist() for c in table.columns]
                        for values in zip(*cols, strict=True):
                            writer.writerow(_csv_value(v) for v in values)
            else:
                with pq.ParquetWriter(tmp, LEDGER_SCHEMA, **PARQUET_OPTIONS) as writer_pq:
                    wrote = False
                    for table in row_groups(parts):
                        writer_pq.write_table(table, row_group_size=ROW_GROUP)
                        wrote = True
                    if not wrote:
                        writer_pq.write_table(LEDGER_SCHEMA.empty_table(), row_group_size=ROW_GROUP)
            if before_rename is not None:
                before_rename(tmp)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_decimal(value)
    return str(value)


def summary_of_file(path: Path, fmt: str | None = None) -> dict[str, Any]:
    """As :func:`makegood.adapters.ledger.summarize`, read off the written ledger file.

    DuckDB (embedded, one of makegood's own dependencies) scans the file: the ledger is
    complete on the driver's disk by then, and one scan there costs seconds where the same
    distinct counts in Spark would shuffle every award again.
    """
    import duckdb

    if ledger_format(path, fmt) == "csv":
        columns = ", ".join(f"'{name}': '{_duckdb_type(name)}'" for name in LEDGER_COLUMNS)
        scan = f"read_csv('{path}', header = true, columns = {{{columns}}})"
    else:
        scan = f"read_parquet('{path}')"
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"CREATE VIEW ledger AS SELECT * FROM {scan}")

        def group(keys: list[str]) -> list[dict[str, Any]]:
            cols = ", ".join([*keys, "kind", "unit"])
            rows = con.execute(f"""SELECT {cols}, count(*), count(DISTINCT account_id), sum(amount)
                FROM ledger GROUP BY {cols} ORDER BY {cols}""").fetchall()
            names = [*keys, "kind", "unit"]
            return [{**dict(zip(names, r[:len(names)], strict=True)), "awards": int(r[-3]),
                     "accounts": int(r[-2]), "total": format_decimal(Decimal(r[-1]))} for r in rows]

        accounts, awards = con.execute(
            "SELECT count(DISTINCT account_id), count(*) FROM ledger").fetchall()[0]
        money: dict[str, Decimal] = {}
        review: dict[str, Decimal] = {}
        for currency, kind, total in con.execute("""SELECT currency, kind, sum(amount) FROM ledger
                WHERE currency IS NOT NULL GROUP BY currency, kind""").fetchall():
            target = review if kind == "review" else money
            target[currency] = target.get(currency, Decimal(0)) + Decimal(total)
        return {
            "accounts_awarded": int(accounts),
            "awards": int(awards),
            "liability": {c: format_decimal(v) for c, v in sorted(money.items())},
            "under_review": {c: format_decimal(v) for c, v in sorted(review.items())},
            "by_service": group(["service"]),
            "by_rule": group(["policy_id", "rule_id"]),
            "by_kind": group([]),
            "by_segment": group(["segment"]),
        }
    finally:
        con.close()


def _duckdb_type(name: str) -> str:
    return {"counted_seconds": "BIGINT", "amount": "DECIMAL(24, 6)"}.get(name, "VARCHAR")
