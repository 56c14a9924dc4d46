"""The Spark engine: the reference compensation semantics as PySpark DataFrame expressions.

For clusters, when one machine is not enough. The input rows are parsed and validated once and
checkpointed on the executors. The incident's windows for each (policy, rule) are planned on the
driver (they are small) and become literal arrays per service; each rule is a branch over the
checkpointed rows in which every subscription clips those windows to its own period and the
rule kind turns them into at most one award, with exact integer arithmetic (money is never a
float: amounts are ratios of decimal(38, 0) integers rounded by the policy's named mode; every
intermediate is a column of its own). Account-scoped rules, the per-account cap and the sales
join are window functions and joins keyed by account; the pro-rata fund cap is computed on the
driver from one sum and applied to the distinct cash amounts, so the arithmetic of the fund
factor is the reference's own. Local calendars (months for SLA tiers and month lengths, working
days for grace periods) are tabulated on the driver from the same zone data and holiday
calendars the reference uses. No Python runs on the executors.

Options (``SparkEngine(master=..., **conf)``; ``--spark-master`` on the CLI):

* ``master``: ``local[2]`` (tests and one machine), ``spark://host:7077`` (standalone),
  ``yarn``, ``k8s://https://host:443``. With a ``local`` master the driver binds to 127.0.0.1,
  the UI is off and shuffles use few partitions; on a cluster those are left to Spark.
* ``**conf``: Spark configuration passed through verbatim, e.g.
  ``SparkEngine("spark://head:7077", **{"spark.executor.memory": "8g",
  "spark.sql.shuffle.partitions": "400"})``. The session time zone is always UTC.

Input: the subscriptions (and sales) tables as CSV or Parquet: a file, a directory of parts, a
glob, or a scenario directory (:func:`makegood.adapters.tables.resolve`), or object-storage
URLs such as ``s3a://bucket/scenario/subscriptions/`` (:func:`remote_source`; the cluster needs
``hadoop-aws`` and credentials, see docs/spark.md). Bad input (a missing column, a value of the
wrong type, a duplicate subscription, a timestamp without a zone) is a :class:`DataError` naming
the file, the column and an example row. Rows are validated as the reference validates them,
with two deliberate differences on data the reference accepts ambiguously: an account whose
rows disagree on ``reported_loss``, and a sales table with two rows for one account and week,
are errors here.
"""

from __future__ import annotations

import csv
import os
import tempfile
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import Window as SparkWindow
from pyspark.sql import functions as F
from pyspark.sql import types as T

from makegood.adapters.ledger import LEDGER_SCHEMA, QUANTUM, SORT_KEYS, Progress, RunResult
from makegood.adapters.tables import (
    SALES_COLUMNS,
    SUBSCRIPTION_COLUMNS,
    AccountsSource,
)
from makegood.domain.accounts import BillingPeriod, Channel, Segment
from makegood.domain.awards import AwardKind
from makegood.domain.compensation import check_policies, policy_zone
from makegood.domain.errors import DataError, IncidentError, InputError
from makegood.domain.incident import Fault, Incident, nfc
from makegood.domain.money import UNIT_SECONDS, Rounding, TimeRounding
from makegood.domain.policy import Policy
from makegood.domain.rules import (
    Calendars,
    Exposure,
    ExtensionMultiple,
    FeeMultiple,
    Fixed,
    Goodwill,
    LossBrackets,
    PerDay,
    Rule,
    SlaTiers,
    Trigger,
)
from makegood.domain.windows import Window

DEC = T.DecimalType(38, 6)
DEC0 = T.DecimalType(38, 0)
MICROS = 1_000_000
DAY_US = 86_400 * MICROS
NO_END = 2**62  # an open-ended subscription, in microseconds since the epoch
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SEP = "\x1f"  # between the field and the problem in an error column
MONEY_KINDS = ("credit", "refund", "cash")
PRICED_KINDS = ("credit", "refund", "cash", "review")
TRUE_WORDS = ("true", "1", "yes", "t")
FALSE_WORDS = ("false", "0", "no", "f")
# ISO 8601 as datetime.fromisoformat reads it: date, time to seconds and fraction, offset.
TIMESTAMP_RE = (r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?"
                r"(?:([Zz])|([+-]\d{2})(?::?(\d{2}))?)?$")
OFFSET_RE = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"
DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
BILLING_RATIO = {  # monthly fee = fee x N / D, kept as a ratio so no division happens early
    BillingPeriod.MONTH.value: (1, 1),
    BillingPeriod.YEAR.value: (1, 12),
    BillingPeriod.WEEK.value: (52, 12),
    BillingPeriod.DAY.value: (365, 12),
}


# ---------------------------------------------------------------------------------------------
# The session


_LOCK = threading.Lock()
_SESSION: dict[str, Any] = {}


LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.native.name = org.apache.hadoop.util.NativeCodeLoader
logger.native.level = error
logger.dag.name = org.apache.spark.scheduler.DAGScheduler
logger.dag.level = error
"""


def _log4j_file() -> str:
    """A log4j2 configuration that keeps the driver at WARN without Spark's start-up banner."""
    path = Path(tempfile.gettempdir()) / f"makegood-spark-log4j2-{os.getuid()}.properties"
    if not path.is_file() or path.read_text(encoding="utf-8") != LOG4J2:
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(LOG4J2, encoding="utf-8")
        os.replace(tmp, path)
    return str(path)


def _conf(master: str, options: Mapping[str, str]) -> dict[str, str]:
    conf = {
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{_log4j_file()}",
        "spark.app.name": "makegood",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.showConsoleProgress": "false",
        "spark.log.level": "WARN",
        "spark.sql.ansi.enabled": "true",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.debug.maxToStringFields": "1000",  # wide plans: no truncation warning
    }
    if master.startswith("local"):
        conf.update({
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
        })
    conf.update({k: str(v) for k, v in options.items()})
    return conf


def spark_session(master: str = "local[2]", options: Mapping[str, str] | None = None) -> SparkSession:
    """The process's one Spark session for this master and configuration (created once)."""
    conf = _conf(master, options or {})
    key = repr((master, sorted(conf.items())))
    with _LOCK:
        current = _SESSION.get("session")
        if current is not None and _SESSION.get("key") == key:
            return cast(SparkSession, current)
        if current is not None:
            current.stop()
        if master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = SparkSession.builder.master(master)
        for name, value in conf.items():
            builder = builder.config(name, value)
        with warnings.catch_warnings():
            # PySpark warns about the pandas version it finds; the engine does not use pandas.
            warnings.filterwarnings("ignore", category=FutureWarning)
            session = builder.getOrCreate()
        session.sparkContext.setLogLevel("WARN")
        _quiet(session)
        _SESSION.update(session=session, key=key)
        return session


def _quiet(session: SparkSession) -> None:
    """Silence the one WARN that every run with many rules prints (a task over 1 MB)."""
    try:
        jvm = cast(Any, session)._jvm
        level = jvm.org.apache.logging.log4j.Level.ERROR
        jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
            "org.apache.spark.scheduler.DAGScheduler", level)
    except Exception:  # a Spark Connect session has no JVM to configure
        return


# ---------------------------------------------------------------------------------------------
# Sources


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
    return RemoteSource(subs, sales_urls, fmt, label=accounts,
                        sales_optional=scenario and not sales)


def _url_exists(spark: SparkSession, url: str) -> bool:
    """Whether a URL (or glob) names anything, asked of Hadoop's file system for its scheme."""
    jvm = cast(Any, spark)._jvm
    path = jvm.org.apache.hadoop.fs.Path(url)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    found = fs.globStatus(path)
    return found is not None and len(found) > 0


def _is_float(dtype: T.DataType) -> bool:
    return isinstance(dtype, (T.FloatType, T.DoubleType))


def _trim(column: Column) -> Column:
    text = F.regexp_replace(column.cast("string"), r"(?U)^\s+|\s+$", "")
    return F.when(text == "", F.lit(None).cast("string")).otherwise(text)


class _Reader:
    """Reads table files into canonical string/typed columns plus an error column per row."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark

    def frames(self, files: Sequence[str | Path], fmt: str | None, what: str,
               required: tuple[str, ...]) -> list[DataFrame]:
        """One DataFrame per group of files with the same layout (header or Parquet schema)."""
        groups: dict[tuple[str, str], list[str]] = {}
        for f in files:
            if isinstance(f, Path):
                kind = "csv" if f.suffix.lower() == ".csv" else "parquet"
                layout = self._layout(f, kind, what, required)
                groups.setdefault((kind, layout), []).append(str(f))
            else:
                groups.setdefault((fmt or "parquet", ""), []).append(f)
        frames = []
        for (kind, layout), paths in groups.items():
            if kind == "csv":
                names = layout.split(SEP) if layout else None
                frames.append(self._csv(paths, names, what, required))
            else:
                df = self.spark.read.parquet(*paths)
                self._check(df.columns, required, paths[0])
                frames.append(df.withColumn("_corrupt", F.lit(None).cast("string")))
        return frames

    def _layout(self, path: Path, kind: str, what: str, required: tuple[str, ...]) -> str:
        if not path.is_file():
            raise DataError(f"{what} file does not exist", file=str(path))
        if kind == "csv":
            try:
                with path.open(newline="", encoding="utf-8-sig") as fh:
                    header = next(csv.reader(fh), [])
            except UnicodeDecodeError:
                raise DataError("not UTF-8 text", file=str(path)) from None
            except csv.Error as exc:
                raise DataError(f"malformed CSV: {exc}", file=str(path)) from None
            names = [h.strip() for h in header]
            self._check(names, required, str(path))
            return SEP.join(names)
        try:
            schema = pq.read_schema(path)
        except Exception as exc:  # pyarrow raises many types for a corrupt file
            raise DataError(f"not a readable Parquet file: {exc}", file=str(path)) from None
        self._check(schema.names, required, str(path))
        return str(schema)

    @staticmethod
    def _check(present: Sequence[str], required: tuple[str, ...], file: str) -> None:
        missing = [c for c in required if c not in present]
        if missing:
            raise DataError(f"missing column(s) {', '.join(missing)}; expected {', '.join(required)}",
                            file=file, field=missing[0])

    def _csv(self, paths: list[str], names: list[str] | None, what: str,
             required: tuple[str, ...]) -> DataFrame:
        reader = self.spark.read.option("header", True).option("encoding", "UTF-8")
        if names is None:  # remote CSV: take the header Spark sees
            df = reader.csv(paths)
            self._check(df.columns, required, paths[0])
            return df.withColumn("_corrupt", F.lit(None).cast("string"))
        schema = T.StructType([T.StructField(n, T.StringType()) for n in names]
                              + [T.StructField("_corrupt", T.StringType())])
        return (reader.option("mode", "PERMISSIVE").option("columnNameOfCorruptRecord", "_corrupt")
                .schema(schema).csv(paths))


def _timestamp(df: DataFrame, name: str, prefix: str) -> dict[str, Column]:
    """Stage-1 columns of a timestamp: microseconds if typed, else its text; or a type error."""
    out = {f"_s_{prefix}": F.lit(None).cast("string"), f"_us_{prefix}": F.lit(None).cast("long"),
           f"_te_{prefix}": F.lit(None).cast("string")}
    if name not in df.columns:
        return out
    dtype = df.schema[name].dataType
    col = F.col(f"`{name}`")
    if isinstance(dtype, T.TimestampType):
        out[f"_us_{prefix}"] = F.unix_micros(col)
        out[f"_s_{prefix}"] = col.cast("string")
    elif isinstance(dtype, (T.TimestampNTZType, T.DateType)):
        out[f"_s_{prefix}"] = col.cast("string")
        out[f"_te_{prefix}"] = F.when(col.isNotNull(), F.concat(
            F.lit("timestamp "), col.cast("string"),
            F.lit(" has no time zone (the column holds naive timestamps); write it with an "
                  "offset such as +09:00 or Z")))
    else:
        out[f"_s_{prefix}"] = _trim(col)
    return out


def _number(df: DataFrame, name: str, prefix: str) -> dict[str, Column]:
    out = {f"_s_{prefix}": F.lit(None).cast("string"), f"_te_{prefix}": F.lit(None).cast("string")}
    if name not in df.columns:
        return out
    dtype = df.schema[name].dataType
    col = F.col(f"`{name}`")
    out[f"_s_{prefix}"] = F.regexp_replace(_trim(col), "[,_]", "")
    if _is_float(dtype):
        out[f"_te_{prefix}"] = F.when(col.isNotNull(), F.concat(
            col.cast("string"),
            F.lit(" must be written as a string or integer (e.g. \"0.10\"), not a float")))
    return out


def _stage1_subscriptions(df: DataFrame) -> DataFrame:
    cols: dict[str, Column] = {"_file": F.col("_metadata.file_path"), "_corrupt": F.col("_corrupt")}
    for name in ("subscription_id", "account_id", "segment", "service", "plan", "currency",
                 "billing_period", "channel"):
        cols[name] = _trim(F.col(f"`{name}`"))
    paid = df.schema["paid"].dataType
    cols["_s_paid"] = _trim(F.col("paid"))
    cols["_paid"] = (F.col("paid") if isinstance(paid, T.BooleanType) else
                     F.when(F.lower(_trim(F.col("paid"))).isin(*TRUE_WORDS), True)
                     .when(F.lower(_trim(F.col("paid"))).isin(*FALSE_WORDS), False))
    cols.update(_number(df, "fee", "fee"))
    cols.update(_number(df, "reported_loss", "loss"))
    cols.update(_timestamp(df, "start", "start"))
    cols.update(_timestamp(df, "end", "end"))
    return df.select(*[c.alias(n) for n, c in cols.items()])


def _parse_timestamp(text: Column) -> tuple[Column, Column]:
    """(microseconds, problem) for ISO 8601 text; a text without an offset is a problem."""
    canonical = F.regexp_replace(text, r"^(\d{4}-\d{2}-\d{2})[Tt ]", "$1 ")
    canonical = F.regexp_replace(canonical, r",(\d)", ".$1")
    canonical = F.regexp_replace(canonical, r"[Zz]$", "+00:00")
    canonical = F.regexp_replace(canonical, r"([+-]\d{2})(\d{2})$", "$1:$2")
    canonical = F.regexp_replace(canonical, r"([+-]\d{2})$", "$1:00")
    parsed = F.unix_micros(F.try_to_timestamp(canonical))
    matched = text.rlike(TIMESTAMP_RE)
    naive = (matched & ~text.rlike(OFFSET_RE)) | text.rlike(DATE_RE)
    problem = (F.when(naive, F.concat(F.lit("timestamp "), text, F.lit(
        " has no time zone; write it with an offset such as +09:00 or Z")))
        .when(~matched | parsed.isNull(),
              F.concat(F.lit("'"), text, F.lit("' is not an ISO 8601 timestamp"))))
    return F.when(matched & ~naive, parsed), problem


def _problem(field: str, condition: Column, message: Column | str) -> Column:
    text = F.lit(message) if isinstance(message, str) else message
    return F.when(condition, F.concat(F.lit(field + SEP), text))


def _stage2_subscriptions(df: DataFrame) -> DataFrame:
    start_parsed, start_problem = _parse_timestamp(F.col("_s_start"))
    end_parsed, end_problem = _parse_timestamp(F.col("_s_end"))
    df = df.select(
        "*",
        F.coalesce(F.col("_us_start"), start_parsed).alias("start_us"),
        F.when(F.col("_us_start").isNull(), start_problem).alias("_pe_start"),
        F.coalesce(F.col("_us_end"), end_parsed).alias("end_us"),
        F.when(F.col("_us_end").isNull() & F.col("_s_end").isNotNull(), end_problem).alias("_pe_end"),
        F.expr("try_cast(_s_fee as decimal(38,6))").alias("fee"),
        F.expr("try_cast(_s_fee as decimal(38,12))").alias("_fee12"),
        F.expr("try_cast(_s_loss as decimal(38,6))").alias("reported_loss"),
    )

    def empty(name: str) -> Column:
        return _problem(name, F.col(name).isNull(), "is empty")

    def one_of(name: str, allowed: Sequence[str]) -> Column:
        return _problem(name, ~F.col(name).isin(*allowed), F.concat(
            F.lit("'"), F.col(name), F.lit(f"' is not one of: {', '.join(allowed)}")))

    def quoted(name: str) -> Column:
        return F.concat(F.lit("'"), F.col(name), F.lit("'"))

    checks = [
        _problem("line", F.col("_corrupt").isNotNull(),
                 "the row has a different number of values than the header has columns"),
        *[empty(n) for n in ("subscription_id", "account_id", "service", "plan")],
        _problem("paid", F.col("_paid").isNull(),
                 F.concat(quoted("_s_paid"), F.lit(" is not true or false"))),
        _problem("fee", F.col("_te_fee").isNotNull(), F.col("_te_fee")),
        _problem("fee", F.col("_s_fee").isNull(), "is empty"),
        _problem("fee", F.col("fee").isNull(), F.concat(quoted("_s_fee"), F.lit(" is not a number"))),
        _problem("fee", F.col("fee") != F.col("_fee12"),
                 F.concat(quoted("_s_fee"), F.lit(" has more than 6 decimal places"))),
        _problem("fee", F.col("fee") < 0,
                 F.concat(F.lit("fee "), F.col("_s_fee"), F.lit(" is negative"))),
        _problem("fee", ~F.col("_paid") & (F.col("fee") != 0),
                 F.concat(F.lit("a free subscription has fee "), F.col("_s_fee"),
                          F.lit("; free means fee 0"))),
        empty("currency"), empty("billing_period"),
        one_of("billing_period", [b.value for b in BillingPeriod]),
        empty("channel"), one_of("channel", [c.value for c in Channel]),
        _problem("start", F.col("_te_start").isNotNull(), F.col("_te_start")),
        _problem("start", F.col("_s_start").isNull(), "is empty"),
        _problem("start", F.col("_pe_start").isNotNull(), F.col("_pe_start")),
        _problem("end", F.col("_te_end").isNotNull(), F.col("_te_end")),
        _problem("end", F.col("_pe_end").isNotNull(), F.col("_pe_end")),
        _problem("end", F.col("end_us") <= F.col("start_us"), F.concat(
            F.lit("subscription ends ("), F.col("_s_end"), F.lit(") at or before it starts ("),
            F.col("_s_start"), F.lit(")"))),
        empty("segment"), one_of("segment", [s.value for s in Segment]),
        _problem("reported_loss", F.col("_te_loss").isNotNull(), F.col("_te_loss")),
        _problem("reported_loss", F.col("_s_loss").isNotNull() & F.col("reported_loss").isNull(),
                 F.concat(quoted("_s_loss"), F.lit(" is not a number"))),
    ]
    return df.select(
        "_file", "subscription_id", "account_id", "segment", F.col("service").alias("_service_raw"),
        F.col("plan").alias("_plan_raw"), F.col("_paid").alias("paid"), "fee", "currency",
        "billing_period", "channel", "start_us", "end_us", "reported_loss",
        F.coalesce(*checks).alias("_err"),
    )


def _stage_sales(df: DataFrame) -> DataFrame:
    dtype = df.schema["week_start"].dataType
    week = F.col("week_start")
    if isinstance(dtype, T.DateType):
        week_text, week_date, week_type = week.cast("string"), week, F.lit(None).cast("string")
    elif isinstance(dtype, T.StringType):
        week_text = _trim(week)
        week_date = F.when(week_text.rlike(DATE_RE), F.try_to_timestamp(week_text, F.lit("yyyy-MM-dd"))
                           ).cast("date")
        week_type = F.lit(None).cast("string")
    else:
        week_text, week_date = week.cast("string"), F.lit(None).cast("date")
        week_type = F.when(week.isNotNull(), F.concat(F.lit("'"), week.cast("string"), F.lit(
            "' is not a date (YYYY-MM-DD); the column must hold dates")))
    amount = _number(df, "amount", "amount")
    staged = df.select(
        F.col("_metadata.file_path").alias("_file"), "_corrupt",
        _trim(F.col("account_id")).alias("account_id"),
        week_text.alias("_s_week"), week_date.alias("week_start"), week_type.alias("_te_week"),
        amount["_s_amount"].alias("_s_amount"), amount["_te_amount"].alias("_te_amount"),
    ).withColumn("amount", F.expr("try_cast(_s_amount as decimal(38,6))"))
    checks = [
        _problem("line", F.col("_corrupt").isNotNull(),
                 "the row has a different number of values than the header has columns"),
        _problem("account_id", F.col("account_id").isNull(), "is empty"),
        _problem("week_start", F.col("_te_week").isNotNull(), F.col("_te_week")),
        _problem("week_start", F.col("week_start").isNull(), F.concat(
            F.lit("'"), F.coalesce(F.col("_s_week"), F.lit("")),
            F.lit("' is not a date (YYYY-MM-DD)"))),
        _problem("amount", F.col("_te_amount").isNotNull(), F.col("_te_amount")),
        _problem("amount", F.col("amount").isNull(), F.concat(
            F.lit("'"), F.coalesce(F.col("_s_amount"), F.lit("")), F.lit("' is not a number"))),
    ]
    return staged.select("_file", "account_id", "week_start", "amount",
                         F.coalesce(*checks).alias("_err"))


def _union(frames: list[DataFrame]) -> DataFrame:
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out


# ---------------------------------------------------------------------------------------------
# Exact arithmetic on columns


def _d0(value: int | Decimal) -> Column:
    return F.lit(Decimal(value)).cast(DEC0)


def _ratio(value: Decimal) -> tuple[int, int]:
    """``value`` as (integer, power of ten): 1.5 -> (15, 1); 10 -> (10, 0)."""
    sign, digits, exponent = value.normalize().as_tuple()
    assert isinstance(exponent, int)
    number = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    if exponent >= 0:
        return number * 10**exponent, 0
    return number, -exponent


def _div(num: Column, den: Column) -> Column:
    """Integer quotient of two non-negative integers (as decimal(38, 0))."""
    return F.call_function("div", num.cast(DEC0), den.cast(DEC0)).cast(DEC0)


def _rounded(df: DataFrame, name: str, num: Column, den: Column, mode: str) -> DataFrame:
    """Add column ``name``: ``num / den`` rounded to an integer by a named mode.

    Both are non-negative integers (decimal(38, 0)), made columns of their own first so that
    neither operand expression is repeated in the quotient and the remainder.
    """
    n, d = f"{name}_n", f"{name}_d"
    df = df.withColumns({n: num.cast(DEC0), d: den.cast(DEC0)})
    q = _div(F.col(n), F.col(d))
    r2 = ((F.col(n) - (q * F.col(d)).cast(DEC0)) * 2).cast(DEC0)
    if mode == "down":
        bump = F.lit(False)
    elif mode == "up":
        bump = r2 > 0
    elif mode == "half_up":
        bump = r2 >= F.col(d)
    else:  # half_even
        bump = (r2 > F.col(d)) | ((r2 == F.col(d)) & (F.pmod(q, F.lit(2).cast(DEC0)) == 1))
    return df.withColumn(name, (q + F.when(bump, 1).otherwise(0)).cast(DEC0))


def _step_days(first: int, last: int | None) -> Callable[[Column, Column], Column]:
    """Fold step: add a window's days that fall in the step ``first..last`` (1-based)."""
    def fold(acc: Column, days: Column) -> Column:
        upto = days if last is None else F.least(days, _d0(last))
        return (acc + F.greatest((upto - first + 1).cast(DEC0), _d0(0))).cast(DEC0)
    return fold


def _money(units: Column, step: Decimal) -> Column:
    return (units.cast(DEC0) * F.lit(step)).cast(DEC)


def _micros(instant: datetime) -> int:
    return (instant - EPOCH) // timedelta(microseconds=1)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=tz).astimezone(UTC)


def _months(first: datetime, last: datetime, tz: ZoneInfo) -> list[tuple[int, int, int, int]]:
    """(start µs, end µs, month seconds, days) of each local month from ``first`` to ``last``."""
    local = first.astimezone(tz)
    year, month = local.year, local.month
    out = []
    while True:
        start = _local_midnight(date(year, month, 1), tz)
        ny, nm = year + (month == 12), month % 12 + 1
        end = _local_midnight(date(ny, nm, 1), tz)
        days = (date(ny, nm, 1) - date(year, month, 1)).days
        out.append((_micros(start), _micros(end), int((end - start).total_seconds()), days))
        if end >= last:
            return out
        year, month = ny, nm


# ---------------------------------------------------------------------------------------------
# The plan: what the driver works out once from the incident and the policies


@dataclass
class _WindowSet:
    """The merged windows per service that count under one policy for one feature filter."""

    index: int
    by_service: dict[str, tuple[Window, ...]]

    @property
    def span(self) -> tuple[datetime, datetime] | None:
        windows = [w for ws in self.by_service.values() for w in ws]
        if not windows:
            return None
        return min(w.start for w in windows), max(w.end for w in windows)


@dataclass
class _RulePlan:
    pi: int
    policy: Policy
    rule: Rule
    tz: ZoneInfo
    windows: _WindowSet
    loss_index: int = -1


class _Run:
    def __init__(self, spark: SparkSession, incident: Incident, policies: Sequence[Policy],
                 calendars: Calendars, progress: Progress | None) -> None:
        self.spark = spark
        self.incident = incident
        self.policies = policies
        self.calendars = calendars
        self.progress = progress
        self.steps = 0
        self.cached: list[DataFrame] = []

    def cache(self, df: DataFrame) -> DataFrame:
        """Materialize ``df`` once and cut its lineage (the long parsing plan) until the run ends.

        Every later query is then planned over a short leaf instead of re-analysing the parsing
        expressions, which matters because each rule adds a branch to the plan.
        """
        checkpoint = df.localCheckpoint(eager=True)
        self.cached.append(checkpoint)
        return checkpoint

    def release(self) -> None:
        for df in self.cached:
            df.unpersist()
        self.cached.clear()

    def tick(self) -> None:
        self.steps += 1
        if self.progress:
            self.progress(self.steps, 8)

    # -- reading and validation ---------------------------------------------------------------

    def _first_error(self, df: DataFrame, key_columns: Sequence[str]) -> None:
        bad = (df.filter(F.col("_err").isNotNull())
               .select("_file", "_err", *key_columns).limit(1).collect())
        if bad:
            row = bad[0]
            field, problem = str(row["_err"]).split(SEP, 1)
            example = ", ".join(f"{k}={row[k]!r}" for k in key_columns)
            raise DataError(f"{problem} (example row: {example})", file=self._file(row["_file"]),
                            field=None if field == "line" else field)

    def _file(self, url: str | None) -> str | None:
        if not url:
            return None
        for prefix in ("file://", "file:"):
            if url.startswith(prefix):
                return url[len(prefix):]
        return url

    def read(self, source: AccountsSource | RemoteSource) -> tuple[DataFrame, DataFrame | None, int,
                                                                  int]:
        reader = _Reader(self.spark)
        fmt = source.format if isinstance(source, RemoteSource) else None
        frames = reader.frames(list(source.subscriptions), fmt, "subscriptions", SUBSCRIPTION_COLUMNS)
        subs = self.cache(_stage2_subscriptions(_union([_stage1_subscriptions(f) for f in frames])))

        # One pass: any row error, and the distinct services and plans to normalize (NFC).
        combos = (subs.groupBy("_service_raw", "_plan_raw")
                  .agg(F.first(F.when(F.col("_err").isNotNull(), F.struct(
                      "_file", "_err", "subscription_id", "account_id")), ignorenulls=True).alias("bad"))
                  .collect())
        for combo in combos:
            if combo["bad"] is not None:
                bad = combo["bad"]
                field, problem = str(bad["_err"]).split(SEP, 1)
                raise DataError(
                    f"{problem} (example row: subscription_id={bad['subscription_id']!r}, "
                    f"account_id={bad['account_id']!r})",
                    file=self._file(bad["_file"]), field=None if field == "line" else field)
        services = {c["_service_raw"]: nfc(c["_service_raw"]) for c in combos}
        plans = {c["_plan_raw"]: nfc(c["_plan_raw"]) for c in combos}
        subs = (subs.filter(F.col("_err").isNull()).drop("_err")
                .withColumn("service", _mapped("_service_raw", services))
                .withColumn("plan", _mapped("_plan_raw", plans)))
        subs = self.cache(subs)
        self.data_services = set(services.values())
        self.tick()

        dup = (subs.groupBy("subscription_id")
               .agg(F.count(F.lit(1)).alias("n"), F.min("_file").alias("_file"),
                    F.min("account_id").alias("account_id"))
               .agg(F.sum("n").alias("rows"),
                    F.min_by(F.struct("subscription_id", "account_id", "_file"),
                             F.when(F.col("n") > 1, F.col("subscription_id"))).alias("dup"),
                    F.max("n").alias("most"))
               .collect()[0])
        if dup["most"] and dup["most"] > 1:
            d = dup["dup"]
            raise DataError(f"duplicate subscription_id {d['subscription_id']!r} (example row: "
                            f"subscription_id={d['subscription_id']!r}, account_id={d['account_id']!r})",
                            file=self._file(d["_file"]), field="subscription_id")
        rows = int(dup["rows"] or 0)

        per_account = subs.groupBy("account_id").agg(
            F.countDistinct("segment").alias("segments"),
            F.countDistinct("reported_loss").alias("losses"),
            F.max("reported_loss").alias("reported_loss"),
            F.min("_file").alias("_file"),
            F.min("subscription_id").alias("subscription_id"),
        )
        check = per_account.agg(
            F.count(F.lit(1)).alias("accounts"),
            F.min_by(F.struct("account_id", "subscription_id", "_file"),
                     F.when(F.col("segments") > 1, F.col("account_id"))).alias("two_segments"),
            F.max("segments").alias("max_segments"),
            F.min_by(F.struct("account_id", "subscription_id", "_file"),
                     F.when(F.col("losses") > 1, F.col("account_id"))).alias("two_losses"),
            F.max("losses").alias("max_losses"),
        ).collect()[0]
        for name, most, field, what in (("two_segments", "max_segments", "segment", "two segments"),
                                        ("two_losses", "max_losses", "reported_loss",
                                         "two different reported losses")):
            if check[most] and check[most] > 1:
                bad = check[name]
                raise DataError(f"account {bad['account_id']!r} has {what} (example row: "
                                f"subscription_id={bad['subscription_id']!r}, "
                                f"account_id={bad['account_id']!r})",
                                file=self._file(bad["_file"]), field=field)
        accounts = int(check["accounts"] or 0)
        self.accounts_reported = per_account.select("account_id", "reported_loss")
        self.tick()

        sales: DataFrame | None = None
        sales_files: list[str | Path] = list(source.sales)
        if isinstance(source, RemoteSource) and source.sales_optional:
            sales_files = [u for u in sales_files if _url_exists(self.spark, str(u))]
        if sales_files:
            sales_frames = reader.frames(sales_files, fmt, "sales", SALES_COLUMNS)
            sales = self.cache(_union([_stage_sales(f) for f in sales_frames]))
            self._first_error(sales, ("account_id",))
            dup_week = (sales.groupBy("account_id", "week_start").agg(
                F.count(F.lit(1)).alias("n"), F.min("_file").alias("_file"))
                .filter(F.col("n") > 1).limit(1).collect())
            if dup_week:
                d = dup_week[0]
                raise DataError(f"two rows for account {d['account_id']!r} and week "
                                f"{d['week_start']} (example row: account_id={d['account_id']!r}, "
                                f"week_start={d['week_start']})",
                                file=self._file(d["_file"]), field="week_start")
        self.tick()
        return subs, sales, rows, accounts

    # -- planning ---------------------------------------------------------------------------

    def plan(self) -> list[_RulePlan]:
        sets: dict[tuple[int, tuple[str, ...] | None], _WindowSet] = {}
        plans: list[_RulePlan] = []
        loss_count = 0
        for pi, policy in enumerate(self.policies):
            if policy.official and self.incident.official_window is None:
                raise IncidentError(f"the policy counts the official window but incident "
                                    f"{self.incident.id!r} has none", field="official_window")
            tz = policy_zone(policy, self.incident)
            for rule in policy.rules:
                features = rule.when.features or None
                key = (pi, features)
                if key not in sets:
                    sets[key] = _WindowSet(len(sets), {
                        service: self.incident.windows(service, severities=policy.severities,
                                                       features=features, official=policy.official)
                        for service in self.incident.services})
                plan = _RulePlan(pi, policy, rule, tz, sets[key])
                if isinstance(rule, LossBrackets):
                    plan.loss_index = loss_count
                    loss_count += 1
                plans.append(plan)
        self.window_sets = list(sets.values())
        return plans

    # -- per-row expressions ----------------------------------------------------------------

    def with_windows(self, subs: DataFrame) -> DataFrame:
        """Add the fee as an integer of millionths, the billing period's monthly ratio N / D, and
        per window set k the clipped windows ``_wk``, counted ``_ck`` and longest ``_lk`` (µs)."""
        fn = F.lit(1)
        fd = F.lit(1)
        for period, (n, d) in BILLING_RATIO.items():
            fn = F.when(F.col("billing_period") == period, F.lit(n)).otherwise(fn)
            fd = F.when(F.col("billing_period") == period, F.lit(d)).otherwise(fd)
        df = subs.select("*", (F.col("fee") * MICROS).cast(DEC0).alias("_fee_u"),
                         fn.alias("_fn"), fd.alias("_fd"),
                         *[self.clipped(ws).alias(f"_w{ws.index}") for ws in self.window_sets])
        extra: dict[str, Column] = {}
        for ws in self.window_sets:
            w = F.col(f"_w{ws.index}")
            extra[f"_c{ws.index}"] = F.aggregate(w, F.lit(0).cast("long"),
                                                 lambda acc, x: acc + x["e"] - x["s"])
            extra[f"_l{ws.index}"] = F.coalesce(F.array_max(F.transform(w, lambda x: x["e"] - x["s"])),
                                                F.lit(0).cast("long"))
        return df.withColumns(extra)

    @staticmethod
    def clipped(ws: _WindowSet) -> Column:
        """The window set's windows for the row's service, clipped to the subscription (µs)."""
        window_type = T.ArrayType(T.StructType([T.StructField("s", T.LongType()),
                                                T.StructField("e", T.LongType())]))
        start = F.col("start_us")
        end = F.coalesce(F.col("end_us"), F.lit(NO_END))
        case: Column | None = None
        for service, windows in sorted(ws.by_service.items()):
            if not windows:
                continue
            literal = F.array(*[F.struct(F.lit(_micros(w.start)).cast("long").alias("s"),
                                         F.lit(_micros(w.end)).cast("long").alias("e"))
                                for w in windows])
            cond = F.col("service") == service
            case = F.when(cond, literal) if case is None else case.when(cond, literal)
        empty = F.expr("array()").cast(window_type)
        arr = empty if case is None else case.otherwise(empty).cast(window_type)
        return F.filter(
            F.transform(arr, lambda w: F.struct(F.greatest(w["s"], start).alias("s"),
                                                F.least(w["e"], end).alias("e"))),
            lambda w: w["s"] < w["e"])

    def branch(self, plan: _RulePlan, base: DataFrame, keys: list[str]) -> DataFrame:
        """One row per subscription the rule matches: its exposure and its award, if any.

        Intermediate values are columns of their own (not repeated sub-expressions), which
        keeps Spark's analyzer and code generator fast on rules with many steps.
        """
        rule, policy = plan.rule, plan.policy
        k = plan.windows.index
        df = base.filter(self._matches(rule)).select(
            *keys, "_fee_u", "_fn", "_fd", F.col(f"_w{k}").alias("_w"),
            F.col(f"_c{k}").alias("_c"), F.col(f"_l{k}").alias("_l"),
            (F.size(f"_w{k}") > 0).alias("_ne"))
        counted, longest, nonempty = F.col("_c"), F.col("_l"), F.col("_ne")
        currency = policy.currency
        award: tuple[Column, str, Column, str, str] | None = None  # condition, kind, amount, unit, code
        if isinstance(rule, ExtensionMultiple):
            factor = (rule.force_majeure_multiplier if self.incident.fault is Fault.FORCE_MAJEURE
                      else rule.multiplier)
            df = df.withColumn("_x", self._extended(
                counted if rule.measure == "cumulative" else longest, factor))
            df = _rounded(df, "_u", F.col("_x"), _d0(UNIT_SECONDS[rule.rounding.unit]),
                          rule.rounding.mode)
            award = (self._fires(rule.trigger, counted, longest) & (F.col("_u") > 0),
                     AwardKind.EXTENSION.value, F.col("_u").cast(DEC), rule.rounding.unit,
                     "EXT_MULTIPLE")
        elif isinstance(rule, FeeMultiple):
            tr: TimeRounding = rule.time_rounding
            unit_s = UNIT_SECONDS[tr.unit]
            df = df.withColumn("_x", self._extended(
                counted if rule.measure == "cumulative" else longest, rule.multiplier))
            df = _rounded(df, "_t", F.col("_x"), _d0(unit_s), tr.mode)
            df = df.withColumn("_md", self._month_days(plan, rule.fee_days))
            df = self._fee_units(df, "_u", (F.col("_t") * unit_s).cast(DEC0), F.col("_md"),
                                 rule.rounding)
            award = (self._fires(rule.trigger, counted, longest) & (F.col("_u") > 0),
                     rule.award_kind.value, _money(F.col("_u"), rule.rounding.step), currency,
                     "FEE_MULTIPLE")
        elif isinstance(rule, Fixed):
            if rule.extension is not None:
                value, unit = rule.extension
                award = (nonempty, AwardKind.EXTENSION.value,
                         F.lit(value.quantize(QUANTUM)).cast(DEC), unit, "FIXED_EXTENSION")
            elif rule.fee_time is not None:
                seconds = int(rule.fee_time.total_seconds())
                df = df.withColumn("_md", self._month_days(plan, rule.fee_days))
                df = self._fee_units(df, "_u", _d0(seconds), F.col("_md"), rule.rounding)
                award = (nonempty & (F.col("_u") > 0), rule.award_kind.value,
                         _money(F.col("_u"), rule.rounding.step), currency, "FIXED_FEE_TIME")
            else:
                assert rule.amount is not None
                award = (nonempty, rule.award_kind.value,
                         F.lit(rule.amount.quantize(QUANTUM)).cast(DEC), rule.unit or currency,
                         "FIXED_AMOUNT")
        elif isinstance(rule, SlaTiers):
            df = self._sla_units(df, plan, rule)
            amount = _money(F.col("_u"), rule.rounding.step)
            award = (nonempty & (F.col("_u") > 0) & (amount >= F.lit(rule.min_credit)),
                     AwardKind.CREDIT.value, amount, currency, "SLA_TIER")
        elif isinstance(rule, PerDay):
            df = self._per_day(df, plan, rule)
            award = (nonempty & (F.col("_amt") > 0), rule.award_kind.value, F.col("_amt"),
                     currency, "PER_DAY")
        elif isinstance(rule, Goodwill):
            award = (nonempty, AwardKind.ITEM.value, F.lit(rule.quantity.quantize(QUANTUM)).cast(DEC),
                     rule.item, "GOODWILL")
        elif not isinstance(rule, LossBrackets):  # loss brackets wait for the sales join
            raise InputError(f"the Spark engine does not know rule kind {rule.kind!r}",
                             rule=rule.id, field="kind")
        if award is not None:
            cond, kind, amount, unit, code = award
            priced = kind in PRICED_KINDS and unit == currency
            fields = [F.when(cond, F.lit(kind)).alias("kind"),
                      F.when(cond, amount).cast(DEC).alias("amount"),
                      F.when(cond, F.lit(unit)).alias("unit"),
                      F.when(cond & F.lit(priced), F.lit(currency)).alias("currency"),
                      F.when(cond, F.lit(code)).alias("code")]
        else:
            fields = [F.lit(None).cast("string").alias("kind"), F.lit(None).cast(DEC).alias("amount"),
                      F.lit(None).cast("string").alias("unit"),
                      F.lit(None).cast("string").alias("currency"),
                      F.lit(None).cast("string").alias("code")]
        return df.select(
            *keys, F.lit(plan.pi).alias("pi"), F.lit(rule.index).alias("ri"),
            F.lit(rule.scope == "account").alias("acct"), nonempty.alias("nonempty"),
            _div(counted, _d0(MICROS)).cast("long").alias("counted_seconds"),
            *fields, F.lit(plan.loss_index).alias("loss_index"),
        )

    def _matches(self, rule: Rule) -> Column:
        when = rule.when
        cond = F.lit(True)
        if when.services:
            cond = cond & F.col("service").isin(*when.services)
        if when.plans:
            cond = cond & F.col("plan").isin(*when.plans)
        if when.paid is not None:
            cond = cond & (F.col("paid") == F.lit(when.paid))
        if when.channels:
            cond = cond & F.col("channel").isin(*[c.value for c in when.channels])
        if when.segments:
            cond = cond & F.col("segment").isin(*[s.value for s in when.segments])
        return cond

    @staticmethod
    def _fires(trigger: Trigger, counted: Column, longest: Column) -> Column:
        fires = counted > 0
        if trigger.is_any_outage:
            return fires

        def us(value: timedelta) -> Column:
            return F.lit(value // timedelta(microseconds=1)).cast("long")

        any_of = F.lit(False)
        if trigger.continuous_at_least is not None:
            any_of = any_of | (longest >= us(trigger.continuous_at_least))
        if trigger.continuous_more_than is not None:
            any_of = any_of | (longest > us(trigger.continuous_more_than))
        if trigger.cumulative_at_least is not None:
            any_of = any_of | (counted >= us(trigger.cumulative_at_least))
        if trigger.cumulative_more_than is not None:
            any_of = any_of | (counted > us(trigger.cumulative_more_than))
        return fires & any_of

    @staticmethod
    def _extended(base_us: Column, factor: Decimal) -> Column:
        """Whole seconds of ``base`` times ``factor``, truncated (as the reference's ``int()``)."""
        number, scale = _ratio(factor)
        seconds = _div(base_us, _d0(MICROS))
        return _div((seconds * _d0(number)).cast(DEC0), _d0(10**scale))

    @staticmethod
    def _fee_units(df: DataFrame, name: str, seconds: Column, days: Column,
                   rounding: Rounding) -> DataFrame:
        """Steps of money worth ``seconds`` of the monthly fee in a ``days``-day month."""
        step, scale = _ratio(rounding.step)
        num = (F.col("_fee_u") * F.col("_fn").cast(DEC0)).cast(DEC0)
        num = (num * seconds.cast(DEC0)).cast(DEC0)
        num = (num * _d0(10**scale)).cast(DEC0)
        den = (_d0(MICROS * 86_400 * step) * F.col("_fd").cast(DEC0)).cast(DEC0)
        den = (den * days.cast(DEC0)).cast(DEC0)
        return _rounded(df, name, num, den, rounding.mode)

    def _month_days(self, plan: _RulePlan, fee_days: int | None) -> Column:
        """``fee_days``, or the length of the local month in which the first window starts."""
        if fee_days is not None:
            return F.lit(fee_days)
        span = plan.windows.span
        if span is None:
            return F.lit(30)  # no windows: no award either
        first = F.try_element_at(F.col("_w"), F.lit(1))["s"]
        case: Column | None = None
        for _start, end, _seconds, days in _months(span[0], span[1], plan.tz):
            cond = first < F.lit(end).cast("long")
            case = F.when(cond, F.lit(days)) if case is None else case.when(cond, F.lit(days))
        assert case is not None
        return case.otherwise(F.lit(30))

    def _sla_units(self, df: DataFrame, plan: _RulePlan, rule: SlaTiers) -> DataFrame:
        """Adds ``_u``: credit steps summed over the local months the windows touch."""
        span = plan.windows.span
        if span is None:
            return df.withColumn("_u", _d0(0))
        step, scale = _ratio(rule.rounding.step)
        percents = [t.percent for t in rule.tiers]
        if rule.max_percent is not None:
            percents.append(rule.max_percent)
        pscale = max(_ratio(p)[1] for p in percents)
        parts = []
        for j, (m_start, m_end, m_seconds, _days) in enumerate(_months(span[0], span[1], plan.tz)):
            down = F.aggregate(F.col("_w"), F.lit(0).cast("long"), _overlap(m_start, m_end))
            df = df.withColumn(f"_up{j}", ((_d0(m_seconds) - _div(down, _d0(MICROS))) * 100)
                               .cast(DEC0))
            df = df.withColumn(f"_p{j}", self._tier_percent(rule, F.col(f"_up{j}"), m_seconds, pscale))
            num = (F.col("_fee_u") * F.col("_fn").cast(DEC0)).cast(DEC0)
            num = (num * F.col(f"_p{j}")).cast(DEC0)
            num = (num * _d0(10**scale)).cast(DEC0)
            den = (_d0(MICROS * 100 * 10**pscale * step) * F.col("_fd").cast(DEC0)).cast(DEC0)
            df = _rounded(df, f"_cr{j}", num, den, rule.rounding.mode)
            parts.append(F.col(f"_cr{j}"))
        total = parts[0]
        for part in parts[1:]:
            total = (total + part).cast(DEC0)
        return df.withColumn("_u", total.cast(DEC0))

    @staticmethod
    def _tier_percent(rule: SlaTiers, up100: Column, m_seconds: int, pscale: int) -> Column:
        """The tier percentage (times 10^pscale): the last tier in order whose test holds."""
        case: Column | None = None
        for tier in reversed(rule.tiers):
            p = tier.percent
            if rule.max_percent is not None:
                p = min(p, rule.max_percent)
            cond = up100 < F.lit(tier.below * m_seconds)
            value = _d0(int(p * 10**pscale))
            case = F.when(cond, value) if case is None else case.when(cond, value)
        assert case is not None
        return case.otherwise(_d0(0))

    def _grace_end(self, plan: _RulePlan, rule: PerDay, start: Column) -> Column:
        """When the grace period of a window starting at ``start`` (µs) ends, in µs."""
        if rule.grace == "elapsed" or rule.grace_days == 0:
            return start + F.lit(rule.grace_days * DAY_US).cast("long")
        span = plan.windows.span
        assert span is not None
        tz = plan.tz
        probe = cast(Exposure, SimpleNamespace(tz=tz, calendars=self.calendars))
        day = span[0].astimezone(tz).date() - timedelta(days=1)
        case: Column | None = None
        while True:
            # A window starting after the previous midnight and by this one first counts this day.
            midnight = _local_midnight(day, tz)
            grace_end = rule.grace_end(midnight, probe)
            cond = start <= F.lit(_micros(midnight)).cast("long")
            value = F.lit(_micros(grace_end)).cast("long")
            case = F.when(cond, value) if case is None else case.when(cond, value)
            if midnight >= span[1]:
                break
            day += timedelta(days=1)
        assert case is not None
        return case

    def _per_day(self, df: DataFrame, plan: _RulePlan, rule: PerDay) -> DataFrame:
        """Adds ``_amt``: per started day after the grace period, each window on its own."""
        if plan.windows.span is None:
            return df.withColumn("_amt", F.lit(0).cast(DEC))

        def days_after_grace(w: Column) -> Column:
            over = w["e"] - self._grace_end(plan, rule, w["s"])
            seconds = _div(F.greatest(over, F.lit(0).cast("long")), _d0(MICROS))
            return F.when(over > 0, _div((seconds + 86_399).cast(DEC0), _d0(86_400))).otherwise(_d0(0))

        df = df.withColumn("_days", F.transform(F.col("_w"), days_after_grace))
        step, scale = _ratio(rule.rounding.step)
        total: Column = F.lit(0).cast(DEC)
        for i, day_step in enumerate(rule.steps):
            last = rule.steps[i + 1].from_day - 1 if i + 1 < len(rule.steps) else None
            df = df.withColumn(f"_n{i}", F.aggregate(F.col("_days"), _d0(0),
                                                     _step_days(day_step.from_day, last)))
            # each day's amount: the higher of a fixed amount and a share of the monthly fee
            a_num, a_scale = _ratio(day_step.amount)
            s_num, s_scale = _ratio(day_step.fee_share)
            k = max(a_scale, s_scale + 6)
            fixed = (_d0(a_num * 10 ** (k - a_scale)) * F.col("_fd").cast(DEC0)).cast(DEC0)
            share = (F.col("_fee_u") * F.col("_fn").cast(DEC0)).cast(DEC0)
            share = (share * _d0(s_num * 10 ** (k - s_scale - 6))).cast(DEC0)
            num = (F.greatest(fixed, share) * _d0(10**scale)).cast(DEC0)
            den = (_d0(10**k * step) * F.col("_fd").cast(DEC0)).cast(DEC0)
            df = _rounded(df, f"_each{i}", num, den, rule.rounding.mode)
            total = (total + _money(F.col(f"_each{i}"), rule.rounding.step) * F.col(f"_n{i}")).cast(DEC)
        return df.withColumn("_amt", total)

    # -- the run --------------------------------------------------------------------------------

    def execute(self, source: AccountsSource | RemoteSource) -> RunResult:
        try:
            subs, sales, rows, accounts = self.read(source)
            check_policies(self.policies, self.incident, self.data_services)
            plans = self.plan()
            # Checkpointed: every rule's branch is then planned over a short leaf.
            base = self.cache(self.with_windows(subs))
            keys = ["account_id", "subscription_id", "segment", "service"]
            # One small projection per rule (rather than one huge one) keeps code generation
            # within the JVM's method size limits; the parsed rows are cached, so this is cheap.
            parts = [self.branch(p, base, keys) for p in plans]
            exp = _union(parts)
            if any(p.rule.scope == "account" for p in plans):
                first = SparkWindow.partitionBy("account_id", "pi", "ri")
                exp = exp.withColumn("first_affected", F.when(F.col("acct"), F.min(
                    F.when(F.col("nonempty"), F.col("subscription_id"))).over(first)))
            else:
                exp = exp.withColumn("first_affected", F.lit(None).cast("string"))
            return self._finish(self.cache(exp), sales, plans, rows, accounts)
        finally:
            self.release()

    def _finish(self, exp: DataFrame, sales: DataFrame | None, plans: list[_RulePlan], rows: int,
                accounts: int) -> RunResult:
        # Affected accounts, as the reference counts them: each subscription's exposure is the one
        # of the first rule that visits it (account-scoped rules stop at the first affected one).
        visited = (~F.col("acct") | F.col("first_affected").isNull()
                   | (F.col("subscription_id") <= F.col("first_affected")))
        affected = (exp.filter(visited)
                    .groupBy("account_id", "subscription_id", "pi")
                    .agg(F.min_by("nonempty", "ri").alias("affected"))
                    .filter(F.col("affected")).select("account_id").distinct().count())
        self.tick()

        chosen = ~F.col("acct") | (F.col("subscription_id") == F.col("first_affected"))
        awards = exp.filter(chosen & (F.col("kind").isNotNull() | (F.col("loss_index") >= 0)))
        loss_plans = [p for p in plans if p.loss_index >= 0]
        if loss_plans:
            awards = self._losses(awards, sales, loss_plans)
        awards = awards.filter(F.col("kind").isNotNull())
        awards = self._caps(awards, plans)
        self.tick()
        awards, factors = self._fund(awards)
        self.tick()

        policy_id = F.lit(None).cast("string")
        for pi, policy in enumerate(self.policies):
            policy_id = F.when(F.col("pi") == pi, F.lit(policy.id)).otherwise(policy_id)
        rule_id = F.lit(None).cast("string")
        for p in plans:
            rule_id = F.when((F.col("pi") == p.pi) & (F.col("ri") == p.rule.index),
                             F.lit(p.rule.id)).otherwise(rule_id)
        ledger = awards.select(
            "account_id", "subscription_id", "segment", "service", policy_id.alias("policy_id"),
            rule_id.alias("rule_id"), F.col("counted_seconds").cast("long"), "kind",
            F.col("amount").cast(T.DecimalType(24, 6)).alias("amount"), "unit", "currency", "code")
        table = _to_arrow(ledger)
        self.tick()
        return RunResult(ledger=table, accounts=accounts, subscriptions=rows,
                         accounts_affected=affected, fund_factors=factors)

    def _losses(self, awards: DataFrame, sales: DataFrame | None,
                loss_plans: list[_RulePlan]) -> DataFrame:
        others = awards.filter(F.col("loss_index") < 0)
        pending = awards.filter(F.col("loss_index") >= 0)
        losses = self.accounts_reported
        if sales is not None:
            aggs = []
            for p in loss_plans:
                rule = cast(LossBrackets, p.rule)
                if rule.source != "computed":
                    continue
                assert rule.baseline_from is not None
                assert rule.baseline_to is not None
                assert rule.outage_week is not None
                week = F.col("week_start")
                aggs.append(F.max(F.when((week >= F.lit(rule.baseline_from))
                                         & (week <= F.lit(rule.baseline_to)), F.col("amount")))
                            .alias(f"_best{p.loss_index}"))
                aggs.append(F.max(F.when(week == F.lit(rule.outage_week), F.col("amount")))
                            .alias(f"_outage{p.loss_index}"))
            if aggs:
                losses = losses.join(sales.groupBy("account_id").agg(*aggs), "account_id", "left")
        joined = pending.join(losses, "account_id", "left")
        kind: Column = F.lit(None).cast("string")
        amount: Column = F.lit(None).cast(DEC)
        code: Column = F.lit(None).cast("string")
        for p in loss_plans:
            rule = cast(LossBrackets, p.rule)
            if rule.source == "reported":
                loss = F.col("reported_loss")
            elif f"_best{p.loss_index}" in joined.columns:
                loss = F.col(f"_best{p.loss_index}") - F.col(f"_outage{p.loss_index}")
            else:
                loss = F.lit(None).cast(DEC)
            this = F.col("loss_index") == p.loss_index
            valid = this & F.col("nonempty") & loss.isNotNull() & (loss > 0)
            b_kind: Column = F.lit(AwardKind.REVIEW.value)
            b_amount: Column = loss.cast(DEC)
            b_code: Column = F.lit("LOSS_REVIEW")
            for bracket in reversed(rule.brackets):
                fits = loss <= F.lit(bracket.up_to)
                b_kind = F.when(fits, F.lit(AwardKind.CASH.value)).otherwise(b_kind)
                b_amount = F.when(fits, F.lit(bracket.amount).cast(DEC)).otherwise(b_amount)
                b_code = F.when(fits, F.lit("LOSS_BRACKET")).otherwise(b_code)
            kind = F.when(valid, b_kind).otherwise(kind)
            amount = F.when(valid, b_amount).otherwise(amount)
            code = F.when(valid, b_code).otherwise(code)
        cols = list(others.columns)
        resolved = joined.select(*[
            kind.alias("kind") if c == "kind" else
            amount.cast(DEC).alias("amount") if c == "amount" else
            code.alias("code") if c == "code" else
            F.when(kind.isNotNull(), self._policy_currency()).alias(c) if c in ("unit", "currency")
            else F.col(c)
            for c in cols])
        return others.unionByName(resolved)

    def _policy_currency(self) -> Column:
        currency = F.lit(None).cast("string")
        for pi, policy in enumerate(self.policies):
            currency = F.when(F.col("pi") == pi, F.lit(policy.currency)).otherwise(currency)
        return currency

    def _caps(self, awards: DataFrame, plans: list[_RulePlan]) -> DataFrame:
        is_money = (F.col("kind").isin(*MONEY_KINDS) & F.col("currency").isNotNull()
                    & (F.col("unit") == F.col("currency")))
        rule_cap: Column = F.lit(None).cast(DEC)
        for p in plans:
            if p.rule.cap is not None:
                rule_cap = F.when((F.col("pi") == p.pi) & (F.col("ri") == p.rule.index),
                                  F.lit(p.rule.cap).cast(DEC)).otherwise(rule_cap)
        over = is_money & rule_cap.isNotNull() & (F.col("amount") > rule_cap)
        awards = awards.select(
            *[c for c in awards.columns if c not in ("amount", "code")],
            F.when(over, rule_cap).otherwise(F.col("amount")).alias("amount"),
            F.when(over, F.concat(F.col("code"), F.lit("+CAP_RULE"))).otherwise(F.col("code"))
            .alias("code"),
        )
        account_cap: Column = F.lit(None).cast(DEC)
        for pi, policy in enumerate(self.policies):
            if policy.caps.per_account is not None:
                account_cap = F.when(F.col("pi") == pi, F.lit(policy.caps.per_account).cast(DEC)
                                     ).otherwise(account_cap)
        if not any(p.caps.per_account is not None for p in self.policies):
            return awards
        order = (SparkWindow.partitionBy("account_id", "pi")
                 .orderBy("ri", "service", "subscription_id")
                 .rowsBetween(SparkWindow.unboundedPreceding, -1))
        capped = is_money & account_cap.isNotNull()
        before = F.coalesce(F.sum(F.when(is_money, F.col("amount")).otherwise(F.lit(0).cast(DEC)))
                            .over(order), F.lit(0).cast(DEC))
        room = F.greatest(F.lit(0).cast(DEC), (account_cap - before).cast(DEC))
        cut = capped & (F.col("amount") > room)
        awards = awards.select(
            *[c for c in awards.columns if c not in ("amount", "code")],
            F.when(cut, room).otherwise(F.col("amount")).cast(DEC).alias("amount"),
            F.when(cut, F.concat(F.col("code"), F.lit("+CAP_ACCOUNT"))).otherwise(F.col("code"))
            .alias("code"),
            capped.alias("_capped"),
        )
        return awards.filter(~F.col("_capped") | (F.col("amount") > 0)).drop("_capped")

    def _fund(self, awards: DataFrame) -> tuple[DataFrame, dict[str, str]]:
        funded = {pi: p for pi, p in enumerate(self.policies) if p.caps.fund is not None}
        if not funded:
            return awards, {}
        cash = F.col("kind") == AwardKind.CASH.value
        owed_rows = (awards.filter(cash & F.col("pi").isin(*funded))
                     .groupBy("pi").agg(F.sum("amount").alias("owed")).collect())
        owed = {int(r["pi"]): Decimal(r["owed"]) for r in owed_rows}
        factors: dict[str, str] = {}
        scaled: dict[int, Decimal] = {}
        for pi, policy in funded.items():
            available = policy.caps.fund_available
            assert available is not None
            total = owed.get(pi, Decimal(0))
            factor = Decimal(1) if total <= available else available / total
            factors[policy.id] = str(factor)
            if factor != 1:
                scaled[pi] = factor
        if not scaled:
            return awards, factors
        amounts = (awards.filter(cash & F.col("pi").isin(*scaled)).select("pi", "amount")
                   .distinct().collect())
        mapping = [(int(r["pi"]), Decimal(r["amount"]),
                    self.policies[int(r["pi"])].caps.fund_rounding.apply(
                        Decimal(r["amount"]) * scaled[int(r["pi"])]).quantize(QUANTUM))
                   for r in amounts]
        schema = T.StructType([T.StructField("pi", T.IntegerType()), T.StructField("_amount", DEC),
                               T.StructField("_scaled", DEC)])
        table = F.broadcast(self.spark.createDataFrame(mapping, schema))
        joined = awards.join(table, (awards["pi"] == table["pi"]) & (awards["amount"] == table["_amount"])
                             & cash, "left").drop(table["pi"])
        hit = F.col("_scaled").isNotNull()
        return joined.select(
            *[c for c in awards.columns if c not in ("amount", "code")],
            F.when(hit, F.col("_scaled")).otherwise(F.col("amount")).alias("amount"),
            F.when(hit, F.concat(F.col("code"), F.lit("+FUND_SCALED"))).otherwise(F.col("code"))
            .alias("code"),
        ), factors


def _overlap(start: int, end: int) -> Callable[[Column, Column], Column]:
    """Fold step: add the part of a window inside ``[start, end)`` (µs) to the accumulator."""
    def step(acc: Column, w: Column) -> Column:
        piece = (F.least(w["e"], F.lit(end).cast("long"))
                 - F.greatest(w["s"], F.lit(start).cast("long")))
        return acc + F.greatest(F.lit(0).cast("long"), piece)
    return step


def _mapped(column: str, mapping: dict[Any, str]) -> Column:
    out: Column = F.col(column)
    changed = {k: v for k, v in mapping.items() if k is not None and k != v}
    for raw, value in changed.items():
        out = F.when(F.col(column) == raw, F.lit(value)).otherwise(out)
    return out


def _to_arrow(ledger: DataFrame) -> pa.Table:
    """The ledger as Arrow, in the ledger's schema and sort order (as ``rows_to_table`` writes)."""
    collect: Callable[[], pa.Table]
    if hasattr(ledger, "toArrow"):
        collect = ledger.toArrow
    else:  # PySpark 3.5
        def collect() -> pa.Table:
            return pa.Table.from_batches(cast(Any, ledger)._collect_as_arrow())
    table = collect()
    if table.num_rows == 0:
        table = LEDGER_SCHEMA.empty_table()
    arrays = [table.column(name).combine_chunks().cast(LEDGER_SCHEMA.field(name).type)
              for name in LEDGER_SCHEMA.names]
    return pa.Table.from_arrays(arrays, schema=LEDGER_SCHEMA).sort_by(SORT_KEYS)


class SparkEngine:
    """The reference semantics on Apache Spark: ``local[2]`` in tests, a cluster URL in production."""

    name = "spark"

    def __init__(self, master: str = "local[2]", **options: str) -> None:
        self.master = master
        self.options = dict(options)

    def session(self) -> SparkSession:
        return spark_session(self.master, self.options)

    def run(
        self,
        *,
        incident: Incident,
        policies: Sequence[Policy],
        source: AccountsSource | RemoteSource,
        calendars: Calendars,
        progress: Progress | None = None,
    ) -> RunResult:
        from py4j.protocol import Py4JJavaError  # type: ignore[import-untyped]
        from pyspark.errors import PySparkException

        spark = self.session()
        try:
            return _Run(spark, incident, policies, calendars, progress).execute(source)
        except InputError:
            raise
        except (PySparkException, Py4JJavaError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(f"Spark could not read the data: {first}",
                            file=source.label or None) from None
