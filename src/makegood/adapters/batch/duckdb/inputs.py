"""The subscriptions and sales tables as DuckDB views, checked the way the reference reads them.

DuckDB scans the files where they lie (CSV, Parquet, a directory of parts or a glob), so memory
does not grow with the number of rows. The views normalize what the reference parser
(:mod:`makegood.adapters.tables`) normalizes: trimmed text, NFC service and plan names, ``paid``
as a boolean, ``fee`` kept as its exact decimal text (money is computed from it in Python, see
:mod:`makegood.adapters.batch.plan`), timestamps as UTC epoch microseconds.

The columns and their checks are those of :mod:`makegood.adapters.schema`; :mod:`.checks`
runs them. Checking is split in two. One scan finds *whether* and *where* a row is bad (a
missing value, a wrong type, a timestamp without a zone, a negative fee, an end before the
start ...); only then is that one row (or, for CSV, that one file) read again by the reference
parser, so the user gets exactly the reference's one-line error: file, line or row, field and
the value.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from makegood.adapters.batch.plan import MAX_US
from makegood.adapters.schema import (
    FALSE_WORDS,
    SALES_COLUMNS,
    SUBSCRIPTION_COLUMNS,
    TRUE_WORDS,
)
from makegood.adapters.schema import check_columns as columns_present
from makegood.adapters.tables import AccountsSource, load_accounts
from makegood.domain.accounts import Account
from makegood.domain.errors import DataError
from makegood.domain.incident import nfc

__all__ = ["MAX_US", "Declared", "Tables", "check_columns", "declare", "first", "load_account",
           "quote", "scan", "subs_of"]
POS_BITS = 40  # a row's position: file index above, row number in the file below
SUBS_COLUMNS = "pos, sid, aid, segment, service, plan, paid, fee_text, bp, channel, s, e"


def first(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None
          ) -> tuple[Any, ...] | None:
    """The first row of a query (the result is read to its end, as DuckDB wants)."""
    rows = con.execute(sql, params).fetchall()
    return rows[0] if rows else None


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def in_list(values: Sequence[str]) -> str:
    return "(" + ", ".join(quote(v) for v in values) + ")"


def is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def _header(path: Path) -> list[str]:
    if is_csv(path):
        try:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                return next(csv.reader(fh), [])
        except UnicodeDecodeError:
            raise DataError("not UTF-8 text", file=str(path)) from None
    try:
        return list(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow raises many types for a corrupt file
        raise DataError(f"not a readable Parquet file: {exc}", file=str(path)) from None


def check_columns(files: Sequence[Path], required: Sequence[str]) -> None:
    """Every file has every required column (checked per file, from its header or schema)."""
    for path in files:
        columns_present(_header(path), required, file=str(path))


def scan(files: Sequence[Path]) -> str:
    """A table function reading the files (all of one format) with their file name."""
    paths = "[" + ", ".join(quote(str(p)) for p in files) + "]"
    if all(is_csv(p) for p in files):
        return (f"read_csv({paths}, header = true, all_varchar = true, filename = true, "
                "union_by_name = true, delim = ',', quote = '\"', escape = '\"')")
    if any(is_csv(p) for p in files):
        raise DataError("mix of CSV and Parquet files; use one format per table",
                        file=str(files[0]))
    return f"read_parquet({paths}, filename = true, file_row_number = true, union_by_name = true)"


# What Python's str.strip() removes (the reference parser strips every text value); DuckDB's
# own trim() keeps tabs and line breaks.
WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


def plain_sql(x: str) -> str:
    """Whether text ``x`` is taken as it is: non-empty ASCII (as many bytes as characters)
    neither starting nor ending with a space. Cheap tests, no copy; an ASCII control character
    (a tab, a line break) at either end is not looked for (measured: a test per character
    doubles the cost of reading the text columns) and stays, where the reference strips it."""
    return f"({x} NOT LIKE ' %' AND {x} NOT LIKE '% ' AND {x} <> '' AND strlen({x}) = length({x}))"


def strip_sql(x: str) -> str:
    """Text ``x`` stripped as Python's str.strip() strips it."""
    return f"trim({x}, {quote(WHITESPACE)})"


def text_sql(col: str) -> str:
    """Stripped text, NULL when empty; the stripping (which copies) only where it can act."""
    x = f"CAST({col} AS VARCHAR)"
    return f"(CASE WHEN {plain_sql(x)} THEN {x} ELSE nullif({strip_sql(x)}, '') END)"


def decimal_text(col: str, ctype: str) -> str:
    if ctype.startswith(("DECIMAL", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT",
                         "UINTEGER", "USMALLINT", "UTINYINT")):
        return f"CAST({col} AS VARCHAR)"
    if ctype in ("DOUBLE", "FLOAT", "REAL"):
        return "CAST(NULL AS VARCHAR)"  # floats are refused, as the reference refuses them
    return f"nullif(replace(replace({strip_sql(f'CAST({col} AS VARCHAR)')}, ',', ''), '_', ''), '')"


def _present(col: str, ctype: str) -> str:
    """Whether a value is given (a typed value needs no text conversion to say so)."""
    return f"{text_sql(col)} IS NOT NULL" if ctype == "VARCHAR" else f"{col} IS NOT NULL"


def _decimal_number(col: str, ctype: str) -> str:
    """The value as an exact decimal, NULL when it is not one (floats are refused)."""
    if ctype in ("DOUBLE", "FLOAT", "REAL"):
        return "CAST(NULL AS DECIMAL(38, 10))"
    if ctype.startswith("DECIMAL") or ctype in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT",
                                                 "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT"):
        return f"TRY_CAST({col} AS DECIMAL(38, 10))"
    return f"TRY_CAST({decimal_text(col, ctype)} AS DECIMAL(38, 10))"


def _timestamp_us(col: str, ctype: str) -> str:
    if ctype.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"epoch_us({col})"
    if ctype.startswith(("TIMESTAMP", "DATE")):
        return "CAST(NULL AS BIGINT)"  # a naive timestamp: an input error
    text = text_sql(col)
    zoned = f"regexp_matches({text}, '(Z|z|[+-]\\d\\d(:?\\d\\d(:?\\d\\d(\\.\\d+)?)?)?)$')"
    return f"CASE WHEN {zoned} THEN epoch_us(TRY_CAST({text} AS TIMESTAMPTZ)) END"


def _bool(col: str, ctype: str) -> str:
    if ctype == "BOOLEAN":
        return col
    text = f"lower({strip_sql(f'CAST({col} AS VARCHAR)')})"
    return (f"CASE WHEN {text} IN {in_list(TRUE_WORDS)} THEN true "
            f"WHEN {text} IN {in_list(FALSE_WORDS)} THEN false END")


@dataclass(frozen=True, slots=True)
class Tables:
    """The names of the normalized views and what was found while building them."""

    subscriptions: int
    accounts: int
    services: frozenset[str]
    has_sales: bool
    has_reported_loss: bool
    ordered: bool = False
    """Whether the rows came in ledger order with positions (``pos``), which then sort as
    (account, subscription) do; Parquet input checked in one pass."""
    streamed: bool = False
    """Whether the check's ``observe`` saw every row, in ledger order."""


def column_types(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    return {name: ctype for name, ctype, *_ in con.execute(f"DESCRIBE SELECT * FROM {relation}")
            .fetchall()}


@dataclass(frozen=True, slots=True)
class Declared:
    """The views over a source, not yet checked (:func:`declare`, then :func:`check`)."""

    source: AccountsSource
    csv_input: bool
    has_reported_loss: bool
    normalized: str  # the SELECT list of norm_subs over raw_subs
    service_type: str  # the input's type of the service column


def declare(con: duckdb.DuckDBPyConnection, source: AccountsSource) -> Declared:
    """The views ``raw_subs``, ``norm_subs`` and ``subs`` over the subscription files.

    Only the headers are read (a missing column is refused here). Until :func:`check` has
    passed, a query over ``subs`` may meet bad values; it must not write anything.
    """
    check_columns(source.subscriptions, SUBSCRIPTION_COLUMNS)
    index = "" if all(is_csv(p) for p in source.subscriptions) else ", file_index AS _mg_file_index"
    con.execute(f"CREATE OR REPLACE VIEW raw_subs AS SELECT *{index} FROM {scan(source.subscriptions)}")
    types = column_types(con, "raw_subs")
    csv_input = "file_row_number" not in types
    rownum = "NULL" if csv_input else "file_row_number + 1"
    # A row's position across the files in the order given (Parquet only: DuckDB does not
    # number CSV lines): in ledger-ordered input it sorts exactly as (account, subscription).
    position = ("CAST(NULL AS BIGINT)" if csv_input
                else f"(CAST(_mg_file_index AS BIGINT) << {POS_BITS}) + file_row_number")
    loss = "reported_loss" in types
    loss_text = decimal_text("reported_loss", types["reported_loss"]) if loss else "NULL"
    normalized = f"""
            filename AS _file, {rownum} AS _row, {position} AS pos,
            {text_sql('subscription_id')} AS sid,
            {text_sql('account_id')} AS aid,
            {text_sql('segment')} AS segment,
            nfc_normalize({text_sql('service')}) AS service,
            nfc_normalize({text_sql('plan')}) AS plan,
            {_bool('paid', types['paid'])} AS paid,
            {decimal_text('fee', types['fee'])} AS fee_text,
            {_decimal_number('fee', types['fee'])} AS fee_num,
            {text_sql('currency')} AS currency,
            {text_sql('billing_period')} AS bp,
            {text_sql('channel')} AS channel,
            {_timestamp_us('start', types['start'])} AS s,
            {_present('"end"', types['end'])} AS has_end,
            {_timestamp_us('"end"', types['end'])} AS e,
            {loss_text} AS loss_text"""
    con.execute(f"CREATE OR REPLACE VIEW norm_subs AS SELECT {normalized} FROM raw_subs")
    con.execute(f"CREATE OR REPLACE VIEW subs AS SELECT {SUBS_COLUMNS} FROM norm_subs")
    return Declared(source=source, csv_input=csv_input, has_reported_loss=loss, normalized=normalized,
                    service_type=types["service"])


def subs_of(con: duckdb.DuckDBPyConnection, declared: Declared, services: Sequence[str]) -> str:
    """A view like ``subs`` that may leave out rows of other services than ``services``.

    A row whose service is plain text (ASCII, no surrounding whitespace: what normalization keeps
    as it is) and none of them is dropped before its other columns are read and normalized;
    any other row is kept, so the rows of those services are all there.
    """
    if declared.service_type != "VARCHAR" or not services:
        return "subs"
    plain = plain_sql("service")
    con.execute(f"""
        CREATE OR REPLACE VIEW subs_of AS SELECT {SUBS_COLUMNS} FROM (
            SELECT {declared.normalized} FROM raw_subs
            WHERE service IN {in_list(sorted(services))} OR NOT {plain})""")
    return "subs_of"


def load_account(source: AccountsSource, account_id: str) -> tuple[Account | None, set[str]]:
    """One account, read by the reference parser from only its own rows; and the data's services.

    DuckDB filters the files (any size) down to the account's rows, in file order; those few rows
    go through :func:`makegood.adapters.tables.load_accounts`, so the account is exactly the one
    the reference engine would build.
    """
    check_columns(source.subscriptions, SUBSCRIPTION_COLUMNS)
    with tempfile.TemporaryDirectory(prefix="makegood-account-") as tmp:
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            services = {nfc(str(s)) for s, in con.execute(
                f"SELECT DISTINCT CAST(service AS VARCHAR) FROM {scan(source.subscriptions)} "
                "WHERE service IS NOT NULL").fetchall()}
            subs = Path(tmp) / "subscriptions.parquet"
            account = strip_sql("CAST(account_id AS VARCHAR)")
            con.execute(f"COPY (SELECT * EXCLUDE (filename{rownum_column(source.subscriptions)}) "
                        f"FROM {scan(source.subscriptions)} WHERE {account} = ?) "
                        f"TO '{subs}' (FORMAT parquet)", [account_id])
            sales: tuple[Path, ...] = ()
            if source.sales:
                check_columns(source.sales, SALES_COLUMNS)
                sales = (Path(tmp) / "sales.parquet",)
                con.execute(f"COPY (SELECT * EXCLUDE (filename{rownum_column(source.sales)}) "
                            f"FROM {scan(source.sales)} WHERE {account} = ?) "
                            f"TO '{sales[0]}' (FORMAT parquet)", [account_id])
        finally:
            con.close()
        found = load_accounts(AccountsSource((subs,), sales))
    return (found[0] if found else None), services


def rownum_column(files: Sequence[Path]) -> str:
    return "" if all(is_csv(p) for p in files) else ", file_row_number"
