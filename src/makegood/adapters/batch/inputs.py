"""The subscriptions and sales tables as DuckDB views, checked the way the reference reads them.

DuckDB scans the files where they lie (CSV, Parquet, a directory of parts or a glob), so memory
does not grow with the number of rows. The views normalize what the reference parser
(:mod:`makegood.adapters.tables`) normalizes: trimmed text, NFC service and plan names, ``paid``
as a boolean, ``fee`` kept as its exact decimal text (money is computed from it in Python, see
:mod:`makegood.adapters.batch.sql`), timestamps as UTC epoch microseconds.

Checking is split in two. One scan finds *whether* and *where* a row is bad (a missing value, a
wrong type, a timestamp without a zone, a negative fee, an end before the start ...); only then
is that one row (or, for CSV, that one file) read again by the reference parser, so the user gets
exactly the reference's one-line error: file, line or row, field and the value.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from makegood.adapters.tables import (
    SALES_COLUMNS,
    SUBSCRIPTION_COLUMNS,
    AccountsSource,
    iter_rows,
    load_accounts,
    parse_subscription,
)
from makegood.domain.accounts import Account, BillingPeriod, Channel, Segment
from makegood.domain.errors import DataError, InputError
from makegood.domain.incident import nfc

MAX_US = 9_223_372_036_854_775_807  # "no end": later than any window
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


def _in_list(values: Sequence[str]) -> str:
    return "(" + ", ".join(quote(v) for v in values) + ")"


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def _header(path: Path) -> list[str]:
    if _is_csv(path):
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
        present = _header(path)
        missing = [c for c in required if c not in present]
        if missing:
            raise DataError(
                f"missing column(s) {', '.join(missing)}; expected {', '.join(required)}",
                file=str(path), field=missing[0],
            )


def scan(files: Sequence[Path]) -> str:
    """A table function reading the files (all of one format) with their file name."""
    paths = "[" + ", ".join(quote(str(p)) for p in files) + "]"
    if all(_is_csv(p) for p in files):
        return (f"read_csv({paths}, header = true, all_varchar = true, filename = true, "
                "union_by_name = true, delim = ',', quote = '\"', escape = '\"')")
    if any(_is_csv(p) for p in files):
        raise DataError("mix of CSV and Parquet files; use one format per table",
                        file=str(files[0]))
    return f"read_parquet({paths}, filename = true, file_row_number = true, union_by_name = true)"


# What Python's str.strip() removes (the reference parser strips every text value); DuckDB's
# own trim() keeps tabs and line breaks.
WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


def _plain(x: str) -> str:
    """Whether text ``x`` is taken as it is: non-empty ASCII (as many bytes as characters)
    neither starting nor ending with a space. Cheap tests, no copy; an ASCII control character
    (a tab, a line break) at either end is not looked for (measured: a test per character
    doubles the cost of reading the text columns) and stays, where the reference strips it."""
    return f"({x} NOT LIKE ' %' AND {x} NOT LIKE '% ' AND {x} <> '' AND strlen({x}) = length({x}))"


def _strip(x: str) -> str:
    """Text ``x`` stripped as Python's str.strip() strips it."""
    return f"trim({x}, {quote(WHITESPACE)})"


def _text(col: str) -> str:
    """Stripped text, NULL when empty; the stripping (which copies) only where it can act."""
    x = f"CAST({col} AS VARCHAR)"
    return f"(CASE WHEN {_plain(x)} THEN {x} ELSE nullif({_strip(x)}, '') END)"


def _decimal_text(col: str, ctype: str) -> str:
    if ctype.startswith(("DECIMAL", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT",
                         "UINTEGER", "USMALLINT", "UTINYINT")):
        return f"CAST({col} AS VARCHAR)"
    if ctype in ("DOUBLE", "FLOAT", "REAL"):
        return "CAST(NULL AS VARCHAR)"  # floats are refused, as the reference refuses them
    return f"nullif(replace(replace({_strip(f'CAST({col} AS VARCHAR)')}, ',', ''), '_', ''), '')"


def _present(col: str, ctype: str) -> str:
    """Whether a value is given (a typed value needs no text conversion to say so)."""
    return f"{_text(col)} IS NOT NULL" if ctype == "VARCHAR" else f"{col} IS NOT NULL"


def _decimal_number(col: str, ctype: str) -> str:
    """The value as an exact decimal, NULL when it is not one (floats are refused)."""
    if ctype in ("DOUBLE", "FLOAT", "REAL"):
        return "CAST(NULL AS DECIMAL(38, 10))"
    if ctype.startswith("DECIMAL") or ctype in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT",
                                                 "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT"):
        return f"TRY_CAST({col} AS DECIMAL(38, 10))"
    return f"TRY_CAST({_decimal_text(col, ctype)} AS DECIMAL(38, 10))"


def _timestamp_us(col: str, ctype: str) -> str:
    if ctype.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"epoch_us({col})"
    if ctype.startswith(("TIMESTAMP", "DATE")):
        return "CAST(NULL AS BIGINT)"  # a naive timestamp: an input error
    text = _text(col)
    zoned = f"regexp_matches({text}, '(Z|z|[+-]\\d\\d(:?\\d\\d(:?\\d\\d(\\.\\d+)?)?)?)$')"
    return f"CASE WHEN {zoned} THEN epoch_us(TRY_CAST({text} AS TIMESTAMPTZ)) END"


def _bool(col: str, ctype: str) -> str:
    if ctype == "BOOLEAN":
        return col
    text = f"lower({_strip(f'CAST({col} AS VARCHAR)')})"
    return (f"CASE WHEN {text} IN ('true', '1', 'yes', 't') THEN true "
            f"WHEN {text} IN ('false', '0', 'no', 'f') THEN false END")


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


def _types(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
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
    index = "" if all(_is_csv(p) for p in source.subscriptions) else ", file_index AS _mg_file_index"
    con.execute(f"CREATE OR REPLACE VIEW raw_subs AS SELECT *{index} FROM {scan(source.subscriptions)}")
    types = _types(con, "raw_subs")
    csv_input = "file_row_number" not in types
    rownum = "NULL" if csv_input else "file_row_number + 1"
    # A row's position across the files in the order given (Parquet only: DuckDB does not
    # number CSV lines): in ledger-ordered input it sorts exactly as (account, subscription).
    position = ("CAST(NULL AS BIGINT)" if csv_input
                else f"(CAST(_mg_file_index AS BIGINT) << {POS_BITS}) + file_row_number")
    loss = "reported_loss" in types
    loss_text = _decimal_text("reported_loss", types["reported_loss"]) if loss else "NULL"
    normalized = f"""
            filename AS _file, {rownum} AS _row, {position} AS pos,
            {_text('subscription_id')} AS sid,
            {_text('account_id')} AS aid,
            {_text('segment')} AS segment,
            nfc_normalize({_text('service')}) AS service,
            nfc_normalize({_text('plan')}) AS plan,
            {_bool('paid', types['paid'])} AS paid,
            {_decimal_text('fee', types['fee'])} AS fee_text,
            {_decimal_number('fee', types['fee'])} AS fee_num,
            {_text('currency')} AS currency,
            {_text('billing_period')} AS bp,
            {_text('channel')} AS channel,
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
    plain = _plain("service")
    con.execute(f"""
        CREATE OR REPLACE VIEW subs_of AS SELECT {SUBS_COLUMNS} FROM (
            SELECT {declared.normalized} FROM raw_subs
            WHERE service IN {_in_list(sorted(services))} OR NOT {plain})""")
    return "subs_of"


def check(con: duckdb.DuckDBPyConnection, declared: Declared, columns: Mapping[str, str] | None = None,
          observer: Callable[[], Callable[[pa.RecordBatch], None]] | None = None) -> Tables:
    """Check every subscription and sales row, count, and create ``losses`` and ``sales``.

    When the rows come in ledger order, they are all seen, in that order, in batches holding
    ``pos``, ``sid``, ``aid``, ``segment``, ``service`` and the given ``columns`` (SQL over
    ``norm_subs``), by consumers from ``observer()``: one for each consecutive run of rows
    scanned, in order. ``Tables.streamed`` then says so (otherwise what they saw is partial).
    Raises :class:`DataError` naming the file, the row or line, the column and the value.
    """
    source, csv_input, loss = declared.source, declared.csv_input, declared.has_reported_loss
    checked = _check_in_one_pass(con, declared, columns or {}, observer)
    ordered = checked is not None and not csv_input
    if checked is None:
        # Rows not in (account, subscription) order: the general checks, one query each.
        _check_rows(con, source, csv_input)
        _check_unique(con, csv_input)
        accounts, conflict = first(con, """
            SELECT count(*), arg_min(aid, aid) FILTER (WHERE lo <> hi)
            FROM (SELECT aid, min(segment) AS lo, max(segment) AS hi FROM subs GROUP BY aid)""") \
            or (0, None)
        count, = first(con, "SELECT count(*) FROM subs") or (0,)
        services = frozenset(r[0] for r in con.execute("SELECT DISTINCT service FROM subs").fetchall())
    else:
        count, accounts, services, conflict, bad = checked
        if bad:
            _check_rows(con, source, csv_input)
    if conflict is not None:
        where = con.execute("SELECT _file, _row FROM norm_subs WHERE aid = ? ORDER BY _file, _row",
                            [conflict]).fetchall()
        raise DataError(f"account {conflict!r} has two segments", file=where[-1][0],
                        row=where[-1][1], field="segment")
    if loss:
        _register_losses(con, source, csv_input)
    else:
        con.execute("CREATE OR REPLACE VIEW losses AS SELECT CAST(NULL AS VARCHAR) AS aid, "
                    "CAST(NULL AS DECIMAL(38, 10)) AS loss WHERE false")
    _register_sales(con, source)
    return Tables(subscriptions=int(count), accounts=int(accounts), services=services,
                  has_sales=bool(source.sales), has_reported_loss=loss, ordered=ordered,
                  streamed=checked is not None)


def _register_losses(con: duckdb.DuckDBPyConnection, source: AccountsSource, csv_input: bool) -> None:
    """``losses(aid, loss)``: an account's reported loss, given on any of its rows.

    As in the reference reader, two different losses for one account are refused, naming the
    row (in file order: the files in the order given, then the row) where the second appears.
    DuckDB numbers Parquet rows but not CSV lines, so for CSV the reference reader itself reads
    the files and words the error (only on that error path).
    """
    con.execute("""
        CREATE OR REPLACE TABLE losses AS
        SELECT aid, min(v) AS loss, min(v) <> max(v) AS disputed FROM (
            SELECT aid, CAST(loss_text AS DECIMAL(38, 10)) AS v FROM norm_subs
            WHERE loss_text IS NOT NULL)
        GROUP BY aid""")
    if first(con, "SELECT aid FROM losses WHERE disputed LIMIT 1") is None:
        return
    if csv_input:
        load_accounts(source)  # raises the reference's error, naming the line
        raise DataError("an account has two reported losses; give one per account",
                        file=str(source.subscriptions[0]), field="reported_loss")
    order = {str(p): i for i, p in enumerate(source.subscriptions)}
    rows = con.execute("""
        SELECT _file, _row, aid, loss_text FROM norm_subs
        WHERE loss_text IS NOT NULL AND aid IN (SELECT aid FROM losses WHERE disputed)""").fetchall()
    seen: dict[str, Decimal] = {}
    for file, row, aid, text in sorted(rows, key=lambda r: (order.get(r[0], 0), r[1])):
        value = Decimal(text)
        if seen.setdefault(aid, value) != value:
            raise DataError(f"account {aid!r} has two reported losses ({seen[aid]} and {value}); "
                            "give one per account", file=file, row=row, field="reported_loss")


def _bad_row_sql(relation: str = "norm_subs") -> str:
    bps = _in_list([b.value for b in BillingPeriod])
    channels = _in_list([c.value for c in Channel])
    segments = _in_list([s.value for s in Segment])
    # The order of the checks is the order in which the reference parser meets the fields.
    return f"""
        SELECT *, CASE
            WHEN sid IS NULL THEN 'subscription_id'
            WHEN aid IS NULL THEN 'account_id'
            WHEN service IS NULL THEN 'service'
            WHEN plan IS NULL THEN 'plan'
            WHEN paid IS NULL THEN 'paid'
            WHEN fee_num IS NULL THEN 'fee'
            WHEN currency IS NULL THEN 'currency'
            WHEN bp IS NULL OR bp NOT IN {bps} THEN 'billing_period'
            WHEN channel IS NULL OR channel NOT IN {channels} THEN 'channel'
            WHEN s IS NULL THEN 'start'
            WHEN has_end AND e IS NULL THEN 'end'
            WHEN fee_num < 0 THEN 'fee'
            WHEN NOT paid AND fee_num <> 0 THEN 'fee'
            WHEN e IS NOT NULL AND e <= s THEN 'end'
            WHEN segment IS NULL OR segment NOT IN {segments} THEN 'segment'
            WHEN loss_text IS NOT NULL AND TRY_CAST(loss_text AS DECIMAL(38, 10)) IS NULL
                THEN 'reported_loss'
        END AS bad
        FROM {relation}"""


@dataclass(slots=True)
class _Pass:
    """What one ordered scan of consecutive rows found."""

    rows: int = 0
    accounts: int = 0
    services: set[str] = field(default_factory=set)
    conflict: str | None = None
    bad: bool = False
    first: tuple[Any, Any, Any] | None = None  # (sid, aid, segment) of the first row
    last: tuple[Any, Any, Any] | None = None  # ... and of the last


def _check_in_one_pass(con: duckdb.DuckDBPyConnection, declared: Declared, columns: Mapping[str, str],
                       observer: Callable[[], Callable[[pa.RecordBatch], None]] | None,
                       ) -> tuple[int, int, frozenset[str], str | None, bool] | None:
    """Every row checked in one streamed scan, when the rows come in ledger order.

    The scan flags bad rows (:func:`_bad_row_sql`) and streams the subscription and account
    ids, segment and service in file order. If every subscription id is greater than the one
    before and no account id is smaller, the ids are unique (no grouping by subscription id is
    needed), each account's rows are adjacent (its segment is checked against the row before)
    and accounts are counted where the id changes. This is how generated and exported data
    arrive; otherwise (None) the general checks run. Returns (rows, accounts, services, the
    first account with two segments, whether any row is bad).

    Parquet parts of one schema are read as two halves at once, on two connections (DuckDB
    hands over an ordered stream on about one core); the halves are joined where they meet.
    ``observer()`` gives the batch consumer of each half, in order.
    """
    halves = _halves(con, declared)
    con.execute("SET preserve_insertion_order = true")
    try:
        if len(halves) == 1:
            passes = [_scan_in_order(con, halves[0], columns, observer() if observer else None)]
        else:
            other = con.cursor()
            try:
                with ThreadPoolExecutor(max_workers=1, thread_name_prefix="check-half") as pool:
                    head_consumer = observer() if observer else None
                    tail_consumer = observer() if observer else None
                    tail = pool.submit(_scan_in_order, other, halves[1], columns, tail_consumer)
                    try:
                        head = _scan_in_order(con, halves[0], columns, head_consumer)
                    finally:
                        rest = tail.result()
                passes = [head, rest]
            finally:
                other.close()
    finally:
        con.execute("SET preserve_insertion_order = false")
    joined: _Pass | None = None
    for part in passes:
        if part is None:
            return None
        joined = part if joined is None else _join(joined, part)
        if joined is None:
            return None
    assert joined is not None
    return joined.rows, joined.accounts, frozenset(joined.services), joined.conflict, joined.bad


def _halves(con: duckdb.DuckDBPyConnection, declared: Declared) -> list[str]:
    """The relations to scan in order: ``norm_subs``, or two views over its halves."""
    files = list(declared.source.subscriptions)
    if declared.csv_input or len(files) < 2:
        return ["norm_subs"]
    footers = [pq.read_metadata(f) for f in files]
    if len({str(m.schema.to_arrow_schema()) for m in footers}) != 1:
        return ["norm_subs"]
    sizes = [m.num_rows for m in footers]
    total, running, cut = sum(sizes), 0, 1
    for i, size in enumerate(sizes[:-1]):
        running += size
        if running * 2 >= total:
            cut = i + 1
            break
    else:
        cut = len(files) - 1
    names = []
    for j, (offset, part) in enumerate(((0, files[:cut]), (cut, files[cut:]))):
        con.execute(f"CREATE OR REPLACE VIEW raw_subs_{j} AS SELECT *, file_index + {offset} "
                    f"AS _mg_file_index FROM {scan(part)}")
        con.execute(f"CREATE OR REPLACE VIEW norm_subs_{j} AS SELECT {declared.normalized} "
                    f"FROM raw_subs_{j}")
        names.append(f"norm_subs_{j}")
    return names


def _join(head: _Pass, tail: _Pass) -> _Pass | None:
    """The findings over two consecutive runs of rows (None: not in ledger order)."""
    if head.bad or tail.bad:
        return _Pass(head.rows + tail.rows, bad=True)
    if head.last is None:
        return tail
    if tail.first is None:
        return head
    (sid0, aid0, seg0), (sid1, aid1, seg1) = head.last, tail.first
    if not (sid1 > sid0 and aid1 >= aid0):
        return None
    goes_on = aid1 == aid0
    conflict = head.conflict or (aid0 if goes_on and seg0 != seg1 else None) or tail.conflict
    return _Pass(head.rows + tail.rows, head.accounts + tail.accounts - goes_on,
                 head.services | tail.services, conflict, False, head.first, tail.last)


def _scan_in_order(con: duckdb.DuckDBPyConnection, relation: str, columns: Mapping[str, str],
                   observe: Callable[[pa.RecordBatch], None] | None) -> _Pass | None:
    """One ordered scan of ``relation`` (see :func:`_check_in_one_pass`)."""
    extra = "".join(f", {sql} AS {name}" for name, sql in columns.items())
    reader = con.sql(f"""
        SELECT pos, sid, aid, segment, service, bad IS NOT NULL AS bad{extra}
        FROM ({_bad_row_sql(relation)})""").to_arrow_reader(1 << 17)
    found = _Pass()
    try:
        for batch in reader:
            n = batch.num_rows
            if n == 0:
                continue
            if pc.any(batch.column("bad")).as_py():
                found.bad = True
            if found.bad:
                continue  # every row is still read: the error names the first bad row
            sid, aid, seg = batch.column("sid"), batch.column("aid"), batch.column("segment")
            first_row = (sid[0].as_py(), aid[0].as_py(), seg[0].as_py())
            last = found.last
            if last is None:
                found.first = first_row
                found.accounts += 1
            else:  # the batch's first row against the row before it
                if not (first_row[0] > last[0] and first_row[1] >= last[1]):
                    return None
                if first_row[1] != last[1]:
                    found.accounts += 1
                elif first_row[2] != last[2] and found.conflict is None:
                    found.conflict = last[1]
            head, tail = slice(0, n - 1), slice(1, n)
            if not (pc.all(pc.greater(sid[tail], sid[head])).as_py() is not False
                    and pc.all(pc.greater_equal(aid[tail], aid[head])).as_py() is not False):
                return None
            changed = pc.not_equal(aid[tail], aid[head])
            found.accounts += pc.sum(changed).as_py() or 0
            if found.conflict is None:
                two = pc.and_(pc.invert(changed), pc.not_equal(seg[tail], seg[head]))
                if pc.any(two).as_py():
                    found.conflict = aid[tail].filter(two)[0].as_py()
            found.services.update(pc.unique(batch.column("service")).to_pylist())
            if observe is not None:
                observe(batch)
            found.rows += n
            found.last = (sid[n - 1].as_py(), aid[n - 1].as_py(), seg[n - 1].as_py())
    finally:
        reader.close()  # an unread rest is dropped (DuckDB refuses a query while it is open)
        del reader
    return found


def _check_rows(con: duckdb.DuckDBPyConnection, source: AccountsSource, csv_input: bool) -> None:
    found = first(con, f"SELECT _file, _row, sid, bad FROM ({_bad_row_sql()}) "
                       "WHERE bad IS NOT NULL LIMIT 1")
    if found is None:
        return
    file, row, sid, field = found
    path = Path(file)
    if csv_input:
        # CSV has no row numbers in DuckDB: let the reference parser find and word the error.
        for number, row_values in iter_rows(path, SUBSCRIPTION_COLUMNS):
            _reparse(row_values, path, line=number)
        raise DataError(f"bad value (subscription_id {sid!r})", file=file, field=field)
    result = con.execute("SELECT * EXCLUDE (filename, file_row_number, _mg_file_index) FROM raw_subs "
                         "WHERE filename = ? AND file_row_number = ?", [file, row - 1])
    names = [d[0] for d in result.description or []]
    for values in result.fetchall():
        _reparse(dict(zip(names, values, strict=True)), path, row=row)
    raise DataError(f"bad value (subscription_id {sid!r})", file=file, row=row, field=field)


def _reparse(values: dict[str, Any], path: Path, *, line: int | None = None,
             row: int | None = None) -> None:
    if isinstance(values.get("fee"), float):
        raise DataError(f"{values['fee']!r} must be written as a string or integer (e.g. \"0.10\"), "
                        "not a float", file=str(path), line=line, row=row, field="fee")
    try:
        parse_subscription(values)
    except InputError as exc:
        raise DataError(exc.problem + (f" (subscription_id {values.get('subscription_id')!r})"
                                       if exc.field != "subscription_id" else ""),
                        file=str(path), line=line, row=row, field=exc.field) from None


def _check_unique(con: duckdb.DuckDBPyConnection, csv_input: bool) -> None:
    dup = first(con, "SELECT sid, count(*) FROM subs GROUP BY sid HAVING count(*) > 1 "
                      "ORDER BY sid LIMIT 1")
    if dup is None:
        return
    where = con.execute("SELECT _file, _row FROM norm_subs WHERE sid = ? ORDER BY _file, _row",
                        [dup[0]]).fetchall()
    origin = f"first in {where[0][0]}" + ("" if csv_input else f", row {where[0][1]}")
    raise DataError(f"duplicate subscription_id {dup[0]!r}: {dup[1]} rows ({origin})",
                    file=where[-1][0], row=None if csv_input else where[-1][1],
                    field="subscription_id")


def _register_sales(con: duckdb.DuckDBPyConnection, source: AccountsSource) -> None:
    if not source.sales:
        con.execute("CREATE OR REPLACE VIEW sales AS SELECT CAST(NULL AS VARCHAR) AS aid, "
                    "CAST(NULL AS DATE) AS week, CAST(NULL AS DECIMAL(38, 10)) AS amount WHERE false")
        return
    check_columns(source.sales, SALES_COLUMNS)
    con.execute(f"CREATE OR REPLACE VIEW raw_sales AS SELECT * FROM {scan(source.sales)}")
    types = _types(con, "raw_sales")
    week = ("week_start" if types["week_start"] == "DATE"
            else f"TRY_CAST({_text('week_start')} AS DATE)")
    rownum = "NULL" if "file_row_number" not in types else "file_row_number + 1"
    con.execute(f"""
        CREATE OR REPLACE VIEW norm_sales AS SELECT filename AS _file, {rownum} AS _row,
            {_text('account_id')} AS aid, {week} AS week,
            TRY_CAST({_decimal_text('amount', types['amount'])} AS DECIMAL(38, 10)) AS amount,
            CAST(week_start AS VARCHAR) AS week_raw, CAST(amount AS VARCHAR) AS amount_raw
        FROM raw_sales""")
    ordered, any_bad = _sales_in_one_pass(con)
    bad = None if not any_bad else first(con, """
        SELECT _file, _row, CASE WHEN week IS NULL THEN 'week_start' WHEN aid IS NULL THEN
            'account_id' WHEN amount IS NULL THEN 'amount' END AS field, week_raw, amount_raw
        FROM norm_sales WHERE week IS NULL OR aid IS NULL OR amount IS NULL LIMIT 1""")
    if bad is not None:
        file, row, field, week_raw, amount_raw = bad
        value = {"week_start": week_raw, "amount": amount_raw}.get(field)
        problem = {"week_start": f"{week_raw!r} is not a date (YYYY-MM-DD)",
                   "account_id": "is empty",
                   "amount": f"{amount_raw!r} is not a number"}[field]
        line = _csv_line(Path(file), field, value) if row is None else None
        raise DataError(problem, file=file, row=row, line=line, field=field)
    dup = None if ordered else first(
        con, "SELECT aid, week FROM norm_sales GROUP BY aid, week HAVING count(*) > 1 "
             "ORDER BY aid, week LIMIT 1")
    if dup is not None:
        file, row = first(con, "SELECT _file, max(_row) FROM norm_sales WHERE aid = ? AND week = ? "
                                "GROUP BY _file ORDER BY _file DESC LIMIT 1", list(dup)) \
            or (None, None)
        raise DataError(f"duplicate sales row for account {dup[0]!r}, week {dup[1]}",
                        file=file, row=row, field="week_start")
    con.execute("CREATE OR REPLACE VIEW sales AS SELECT aid, week, amount FROM norm_sales")


def _sales_in_one_pass(con: duckdb.DuckDBPyConnection) -> tuple[bool, bool]:
    """(whether the rows come in (account, week) order, whether any row is bad), in one scan.

    Rows in that order, each after the one before, cannot repeat an (account, week): the
    grouping that looks for repeats is then not needed.
    """
    con.execute("SET preserve_insertion_order = true")
    reader = con.sql("""
        SELECT aid, week, week IS NULL OR aid IS NULL OR amount IS NULL AS bad
        FROM norm_sales""").to_arrow_reader(1 << 17)
    ordered, bad = True, False
    last: tuple[Any, Any] | None = None
    try:
        for batch in reader:
            if batch.num_rows == 0:
                continue
            if pc.any(batch.column("bad")).as_py():
                return False, True
            if not ordered:
                continue
            aid, week = batch.column("aid"), batch.column("week")
            if last is not None:
                aid = pa.concat_arrays([pa.array([last[0]], aid.type), aid])
                week = pa.concat_arrays([pa.array([last[1]], week.type), week])
            head, tail = slice(0, len(aid) - 1), slice(1, len(aid))
            later = pc.or_(pc.greater(aid[tail], aid[head]),
                           pc.and_(pc.equal(aid[tail], aid[head]), pc.greater(week[tail], week[head])))
            ordered = pc.all(later).as_py() is not False
            last = (aid[-1].as_py(), week[-1].as_py())
    finally:
        reader.close()
        del reader
        con.execute("SET preserve_insertion_order = false")
    return ordered, bad


def _csv_line(path: Path, field: str, value: str | None) -> int | None:
    """The line of the first CSV row whose ``field`` holds ``value`` (only on the error path)."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            cell = row.get(field)
            if (cell or "").strip() == (value or "").strip():
                return reader.line_num
    return None


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
            account = _strip("CAST(account_id AS VARCHAR)")
            con.execute(f"COPY (SELECT * EXCLUDE (filename{_rownum_column(source.subscriptions)}) "
                        f"FROM {scan(source.subscriptions)} WHERE {account} = ?) "
                        f"TO '{subs}' (FORMAT parquet)", [account_id])
            sales: tuple[Path, ...] = ()
            if source.sales:
                check_columns(source.sales, SALES_COLUMNS)
                sales = (Path(tmp) / "sales.parquet",)
                con.execute(f"COPY (SELECT * EXCLUDE (filename{_rownum_column(source.sales)}) "
                            f"FROM {scan(source.sales)} WHERE {account} = ?) "
                            f"TO '{sales[0]}' (FORMAT parquet)", [account_id])
        finally:
            con.close()
        found = load_accounts(AccountsSource((subs,), sales))
    return (found[0] if found else None), services


def _rownum_column(files: Sequence[Path]) -> str:
    return "" if all(_is_csv(p) for p in files) else ", file_row_number"
