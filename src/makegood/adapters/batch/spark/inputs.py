"""The subscriptions and sales tables as Spark views, checked the way the reference reads them.

The views carry the columns of the DuckDB engine's ``norm_subs`` (see
:mod:`makegood.adapters.batch.inputs`): trimmed text as Python's ``str.strip()`` trims it, NFC
service and plan names, ``paid`` as a boolean, ``fee`` as its exact decimal text, timestamps as
UTC epoch microseconds. Which row is bad is decided by the checks of the one schema
(:data:`makegood.adapters.schema.SUBSCRIPTION_CHECKS`, in their order, written here in Spark
SQL); the first bad row is then read again by the reference parser
(:func:`makegood.adapters.schema.parse_subscription`), so the message is the reference's, as the
DuckDB engine's is: file, line or row, field and value. Errors across rows (a duplicate
subscription, two segments, two losses, two sales rows for a week) use the schema's words.

Sources are local files (:class:`makegood.adapters.tables.AccountsSource`) or URLs that Spark
reads itself (:class:`RemoteSource`: ``s3a://``, ``gs://``, ``hdfs://``, ``file://``).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from makegood.adapters.batch.plan import SPARK
from makegood.adapters.schema import (
    ALLOWED,
    SUBSCRIPTION_CHECKS,
    SUBSCRIPTION_COLUMNS,
    Check,
    check_columns,
    parse_subscription,
    two_losses,
    two_segments,
)
from makegood.adapters.tables import AccountsSource, iter_rows, load_accounts
from makegood.domain.accounts import Segment
from makegood.domain.errors import DataError, InputError
from makegood.domain.incident import nfc

WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())  # what str.strip() strips
quote = SPARK.text

STRIP = "'^[{0}]+|[{0}]+$'".format("".join(f"\\\\x{{{ord(c):x}}}" for c in WHITESPACE))
ZONED = r"'(Z|z|[+-]\\d\\d(:?\\d\\d(:?\\d\\d(\\.\\d+)?)?)?)$'"
INTEGRAL = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.DecimalType)


@dataclass(frozen=True, slots=True)
class RemoteSource:
    """Accounts data at URLs that Spark reads itself (``s3a://``, ``gs://``, ``hdfs://`` ...).

    Each entry is a file, a directory of parts or a glob, all in ``format``.
    """

    subscriptions: tuple[str, ...]
    sales: tuple[str, ...] = ()
    format: str = "parquet"
    label: str = ""
    sales_optional: bool = False  # a scenario's sales/ may be absent


def remote_source(accounts: str, sales: str | None = None, *, scenario: bool = False,
                  fmt: str = "parquet") -> RemoteSource:
    """A source at object-storage URLs; ``scenario`` reads ``accounts/subscriptions`` and ``/sales``."""
    if fmt not in ("parquet", "csv"):
        raise DataError(f"unknown table format {fmt!r}; use parquet or csv", field="format")
    root = accounts.rstrip("/")
    subs = (f"{root}/subscriptions",) if scenario else (accounts,)
    sales_urls = (sales,) if sales else ((f"{root}/sales",) if scenario else ())
    return RemoteSource(subs, sales_urls, fmt, label=accounts, sales_optional=scenario and not sales)


Source = AccountsSource | RemoteSource


@dataclass(frozen=True, slots=True)
class Checked:
    """What reading and checking the subscriptions found (the view ``subs`` is ready)."""

    subscriptions: int
    accounts: int
    services: frozenset[str]


# -- reading ---------------------------------------------------------------------------------


def _is_csv(name: str) -> bool:
    return name.lower().endswith(".csv")


def _url_exists(spark: SparkSession, url: str) -> bool:
    jvm: Any = spark._jvm
    path = jvm.org.apache.hadoop.fs.Path(url)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    found = fs.globStatus(path)
    return found is not None and len(found) > 0


def _frames(spark: SparkSession, files: Sequence[str | Path], fmt: str, required: Sequence[str]
            ) -> list[DataFrame]:
    """One DataFrame per group of files of one layout, with ``_file`` and ``_row`` (or NULL)."""
    groups: dict[tuple[bool, str], list[str]] = {}
    for f in files:
        if isinstance(f, Path):
            csv_file = _is_csv(f.name)
            names = _csv_header(f) if csv_file else _parquet_names(f)
            check_columns(names, required, file=str(f))
            layout = ",".join(names) if csv_file else str(pq.read_schema(f))
            groups.setdefault((csv_file, layout), []).append(str(f))
        else:
            groups.setdefault((fmt == "csv", ""), []).append(f)
    frames = []
    for (csv_file, layout), paths in groups.items():
        if csv_file:
            reader = (spark.read.option("header", True).option("encoding", "UTF-8")
                      .option("quote", '"').option("escape", '"').option("mode", "PERMISSIVE"))
            if layout:
                names = layout.split(",")
                schema = T.StructType([T.StructField(n, T.StringType()) for n in names]
                                      + [T.StructField("_corrupt", T.StringType())])
                df = reader.option("columnNameOfCorruptRecord", "_corrupt").schema(schema).csv(paths)
            else:
                df = reader.csv(paths)
                df = df.selectExpr("*", "CAST(NULL AS STRING) AS _corrupt")
            row = "CAST(NULL AS BIGINT)"
        else:
            df = spark.read.parquet(*paths).selectExpr("*", "CAST(NULL AS STRING) AS _corrupt")
            row = "_metadata.row_index + 1"
        check_columns(df.columns, required, file=paths[0])
        frames.append(df.selectExpr("*", "_metadata.file_path AS _file", f"{row} AS _row"))
    return frames


def _csv_header(path: Path) -> list[str]:
    import csv

    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return next(csv.reader(fh), [])
    except UnicodeDecodeError:
        raise DataError("not UTF-8 text", file=str(path)) from None


def _parquet_names(path: Path) -> list[str]:
    try:
        return list(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow raises many types for a corrupt file
        raise DataError(f"not a readable Parquet file: {exc}", file=str(path)) from None


def _text(col: str) -> str:
    """Stripped text, NULL when empty; the regular expression only where it can act."""
    x = f"CAST({col} AS STRING)"
    plain = f"(ascii({x}) BETWEEN 33 AND 126 AND ascii(right({x}, 1)) BETWEEN 33 AND 126)"
    return f"(CASE WHEN {plain} THEN {x} ELSE nullif(regexp_replace({x}, {STRIP}, ''), '') END)"


def _decimal_text(col: str, dtype: T.DataType) -> str:
    if isinstance(dtype, INTEGRAL):
        return f"CAST({col} AS STRING)"
    if isinstance(dtype, (T.FloatType, T.DoubleType)):
        return "CAST(NULL AS STRING)"  # floats are refused, as the reference refuses them
    return f"nullif(replace(replace({_text(col)}, ',', ''), '_', ''), '')"


def _timestamp_us(col: str, dtype: T.DataType) -> str:
    if isinstance(dtype, T.TimestampType):
        return f"unix_micros({col})"
    if isinstance(dtype, (T.TimestampNTZType, T.DateType)):
        return "CAST(NULL AS BIGINT)"  # a naive timestamp: an input error
    text = _text(col)
    canonical = (f"regexp_replace(regexp_replace(regexp_replace(regexp_replace({text}, "
                 r"'^(\\d{4}-\\d{2}-\\d{2})[Tt ]', '$1 '), ',(\\d)', '.$1'), '[Zz]$', '+00:00'), "
                 r"'([+-]\\d{2})(\\d{2})$', '$1:$2')")
    return (f"CASE WHEN regexp({text}, {ZONED}) THEN "
            f"unix_micros(try_cast({canonical} AS TIMESTAMP)) END")


def _bool(col: str, dtype: T.DataType) -> str:
    if isinstance(dtype, T.BooleanType):
        return col
    text = f"lower({_text(col)})"
    return (f"CASE WHEN {text} IN ('true', '1', 'yes', 't') THEN true "
            f"WHEN {text} IN ('false', '0', 'no', 'f') THEN false END")


def _normalized(df: DataFrame) -> DataFrame:
    types = {f.name: f.dataType for f in df.schema.fields}
    loss = "reported_loss" in types
    return df.selectExpr(
        "_file", "_row", "_corrupt",
        f"{_text('subscription_id')} AS sid", f"{_text('account_id')} AS aid",
        f"{_text('segment')} AS segment", f"{_text('service')} AS service",
        f"{_text('plan')} AS plan", f"{_bool('paid', types['paid'])} AS paid",
        f"{_decimal_text('fee', types['fee'])} AS fee_text",
        f"try_cast({_decimal_text('fee', types['fee'])} AS DECIMAL(38, 10)) AS fee_num",
        f"{_text('currency')} AS currency", f"{_text('billing_period')} AS bp",
        f"{_text('channel')} AS channel", f"{_timestamp_us('start', types['start'])} AS s",
        f"`end` IS NOT NULL AND {_text('`end`')} IS NOT NULL AS has_end",
        f"{_timestamp_us('`end`', types['end'])} AS e",
        f"{_decimal_text('reported_loss', types['reported_loss']) if loss else 'CAST(NULL AS STRING)'}"
        " AS loss_text")


def _union(frames: Sequence[DataFrame]) -> DataFrame:
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame, allowMissingColumns=True)
    return out


# -- checking ----------------------------------------------------------------------------------

COLUMN = {"subscription_id": "sid", "account_id": "aid", "billing_period": "bp", "fee": "fee_num",
          "start": "s", "end": "e", "reported_loss": "loss_text"}


def failing_sql(check: Check) -> str:
    """Where a normalized row fails ``check`` (:class:`makegood.adapters.schema.Check`)."""
    col = COLUMN.get(check.column, check.column)
    allowed = "(" + ", ".join(quote(v) for v in ALLOWED.get(check.column, ("",))) + ")"
    return {
        "present": f"{col} IS NULL",
        "bool": f"{col} IS NULL",
        "number": f"{col} IS NULL",
        "one_of": f"{col} IS NULL OR {col} NOT IN {allowed}",
        "timestamp": f"{col} IS NULL",
        "optional_timestamp": f"has_end AND {col} IS NULL",
        "not_negative": f"{col} < 0",
        "free_is_zero": f"NOT paid AND {col} <> 0",
        "after_start": f"{col} IS NOT NULL AND {col} <= s",
        "optional_number": f"{col} IS NOT NULL AND try_cast({col} AS DECIMAL(38, 10)) IS NULL",
    }[check.test]


def bad_sql() -> str:
    """The column of the first check a row fails, as the reference meets them (NULL if none); a
    CSV line with too many or too few values is bad as a whole (``line``)."""
    whens = " ".join(f"WHEN {failing_sql(c)} THEN '{c.column}'" for c in SUBSCRIPTION_CHECKS)
    return f"CASE WHEN _corrupt IS NOT NULL THEN 'line' {whens} END"


def reparse(values: dict[str, Any], path: Path, *, line: int | None = None,
            row: int | None = None) -> None:
    """Raise the reference parser's error for one row, located in its file."""
    try:
        parse_subscription(values)
    except InputError as exc:
        raise DataError(exc.problem + (f" (subscription_id {values.get('subscription_id')!r})"
                                       if exc.field != "subscription_id" else ""),
                        file=str(path), line=line, row=row, field=exc.field) from None


def _local(url: str | None) -> str | None:
    """A ``file:`` URL as the path it names (other URLs as they are)."""
    if url and url.startswith("file:"):
        return urllib.parse.unquote(urllib.parse.urlparse(url).path)
    return url


class Inputs:
    """Reads a source into the views ``norm_subs``, ``subs`` and ``losses`` (the sales:
    :func:`makegood.adapters.batch.spark.sales.register_sales`)."""

    def __init__(self, spark: SparkSession, source: Source) -> None:
        self.spark = spark
        self.source = source
        self.remote = isinstance(source, RemoteSource)
        self.fmt = source.format if isinstance(source, RemoteSource) else "parquet"
        self.cached: list[DataFrame] = []
        order = [str(p) for p in source.subscriptions]
        self.order = {p: i for i, p in enumerate(order)}

    def release(self) -> None:
        for df in self.cached:
            df.unpersist()
        self.cached.clear()

    def _file_rank(self, file: str | None) -> tuple[int, str]:
        path = _local(file) or ""
        return self.order.get(path, len(self.order)), path

    def read(self) -> Checked:
        frames = _frames(self.spark, list(self.source.subscriptions), self.fmt, SUBSCRIPTION_COLUMNS)
        norm = _union([_normalized(f) for f in frames])
        checked = norm.selectExpr("*", f"{bad_sql()} AS bad").localCheckpoint(eager=True)
        self.cached.append(checked)
        checked.createOrReplaceTempView("norm_subs")
        combos = self.spark.sql("""SELECT service, plan, count(*) AS n, max(bad IS NOT NULL) AS bad
            FROM norm_subs GROUP BY service, plan""").collect()
        if any(r["bad"] for r in combos):
            self._bad_row()
        rows = sum(int(r["n"]) for r in combos)
        self._nfc({r["service"] for r in combos}, {r["plan"] for r in combos})
        services = frozenset(nfc(r["service"]) for r in combos)
        self._unique()
        accounts = self._segments()
        self._losses()
        return Checked(rows, accounts, services)

    def _nfc(self, services: set[str], plans: set[str]) -> None:
        def mapped(column: str, values: set[str]) -> str:
            changed = [(v, nfc(v)) for v in sorted(values) if v is not None and nfc(v) != v]
            if not changed:
                return column
            whens = " ".join(f"WHEN {quote(a)} THEN {quote(b)}" for a, b in changed)
            return f"CASE {column} {whens} ELSE {column} END"

        self.spark.sql(f"""SELECT sid, aid, segment, {mapped('service', services)} AS service,
            {mapped('plan', plans)} AS plan, paid, fee_text, bp, channel, s, e
            FROM norm_subs""").createOrReplaceTempView("subs")

    def _bad_row(self) -> None:
        """Raise the reference's error for the first bad row (in file order)."""
        found = self.spark.sql("""SELECT _file, min(_row) AS _row, min_by(sid, _row) AS sid,
            min_by(bad, _row) AS bad FROM norm_subs WHERE bad IS NOT NULL GROUP BY _file""").collect()
        file, row, sid, field = min(((r["_file"], r["_row"], r["sid"], r["bad"]) for r in found),
                                    key=lambda r: self._file_rank(r[0]))
        path = _local(file) or ""
        if not self.remote and Path(path).is_file():
            if _is_csv(path):
                for number, values in iter_rows(Path(path), SUBSCRIPTION_COLUMNS):
                    reparse(values, Path(path), line=number)
            else:
                values = pq.ParquetFile(path).read().slice(row - 1, 1).to_pylist()[0]
                reparse(values, Path(path), row=row)
        if field == "line":
            raise DataError("the row has a different number of values than the header has columns",
                            file=path, row=row)
        raise DataError(f"bad value (subscription_id {sid!r})", file=path, row=row, field=field)

    def _where(self, condition: str, params: dict[str, Any]) -> list[tuple[str, int | None]]:
        rows = self.spark.sql(f"SELECT _file, _row FROM norm_subs WHERE {condition}", params).collect()
        return sorted(((_local(r["_file"]) or "", r["_row"]) for r in rows),
                      key=lambda fr: (self._file_rank(fr[0]), fr[1] or 0))

    def _unique(self) -> None:
        dup = self.spark.sql("""SELECT sid, count(*) AS n FROM norm_subs GROUP BY sid
            HAVING count(*) > 1 ORDER BY sid LIMIT 1""").collect()
        if not dup:
            return
        sid, n = dup[0]["sid"], dup[0]["n"]
        where = self._where("sid = :sid", {"sid": sid})
        origin = f"first in {where[0][0]}" + ("" if where[0][1] is None else f", row {where[0][1]}")
        raise DataError(f"duplicate subscription_id {sid!r}: {n} rows ({origin})",
                        file=where[-1][0], row=where[-1][1], field="subscription_id")

    def _segments(self) -> int:
        # Segments as small integers: a hash aggregation (string buffers would make Spark sort).
        code = "CASE segment " + " ".join(f"WHEN {quote(s.value)} THEN {i}"
                                          for i, s in enumerate(Segment)) + " END"
        found = self.spark.sql(f"""SELECT count(*) AS accounts, min(aid) FILTER (WHERE lo <> hi)
            AS conflict FROM (SELECT aid, min({code}) AS lo, max({code}) AS hi FROM norm_subs
            GROUP BY aid)""").collect()[0]
        if found["conflict"] is not None:
            where = self._where("aid = :aid", {"aid": found["conflict"]})
            raise DataError(two_segments(found["conflict"]), file=where[-1][0],
                            row=where[-1][1], field="segment")
        return int(found["accounts"])

    def _losses(self) -> None:
        losses = self.spark.sql("""SELECT aid, min(v) AS loss, min(v) <> max(v) AS disputed FROM (
            SELECT aid, CAST(loss_text AS DECIMAL(38, 10)) AS v FROM norm_subs
            WHERE loss_text IS NOT NULL) GROUP BY aid""").localCheckpoint(eager=True)
        self.cached.append(losses)
        losses.createOrReplaceTempView("losses")
        disputed = self.spark.sql("SELECT aid FROM losses WHERE disputed LIMIT 1").collect()
        if not disputed:
            return
        aid = disputed[0]["aid"]
        if not self.remote and all(_is_csv(str(p)) for p in self.source.subscriptions):
            load_accounts(self.source)  # type: ignore[arg-type]  # the reference's error, with the line
        rows = self.spark.sql("SELECT _file, _row, loss_text FROM norm_subs WHERE aid = :aid AND "
                              "loss_text IS NOT NULL", {"aid": aid}).collect()
        seen: Decimal | None = None
        for r in sorted(rows, key=lambda r: (self._file_rank(r["_file"]), r["_row"] or 0)):
            value = Decimal(r["loss_text"])
            if seen is None:
                seen = value
            elif value != seen:
                raise DataError(two_losses(aid, seen, value), file=_local(r["_file"]), row=r["_row"],
                                field="reported_loss")
